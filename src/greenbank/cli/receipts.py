"""``greenbank pki init`` and ``greenbank receipts verify FILE`` / ``receipts stats``.

``verify`` works offline: it needs only the file and the bank's root certificates (by default
``var/pki/root-ca.pem`` and, when there is an SM2 hierarchy, ``var/pki/sm2/root-ca.pem``), no
database. It exits 0 for a valid receipt and 1 otherwise.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import typer
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from rich.console import Console
from rich.table import Table

from greenbank.cli.context import load_settings, open_container
from greenbank.clock import business_date
from greenbank.errors import ConfigurationError, Conflict
from greenbank.receipts.pki import PkiPaths, init_pki, read_cert
from greenbank.receipts.queries import daily_figures
from greenbank.receipts.sm2_pki import (
    SealAlgorithm,
    Sm2PkiPaths,
    init_sm2_pki,
    installed_trust_roots,
)
from greenbank.receipts.verify import verify_receipt_pdf

pki_app = typer.Typer(help="The receipt seal's certificate hierarchy (development).")
app = typer.Typer(help="Electronic receipts: verify a PDF offline, daily figures.")
console = Console()


class PkiExists(Conflict):
    code = "pki_exists"
    title = "A receipt PKI already exists there"


@pki_app.command("init")
def pki_init(
    directory: Path | None = typer.Option(None, "--dir", help="Default: GREENBANK_VAR_DIR/pki"),
    bank: str | None = typer.Option(None, "--bank", help="Default: GREENBANK_BANK_NAME"),
    algorithm: SealAlgorithm | None = typer.Option(
        None,
        "--algorithm",
        help="ecdsa-p256: root, seal and TSA in DIR. sm2-sm3: an SM2 root and seal in DIR/sm2 "
        "(the ECDSA hierarchy is created too when missing: its TSA serves both). "
        "Default: GREENBANK_RECEIPT_SEAL_ALGORITHM",
    ),
) -> None:
    """Create a dev root CA and the receipt seal (plus a TSA certificate); never overwrites."""
    settings = load_settings()
    target = directory or settings.var_dir / "pki"
    chosen = algorithm or SealAlgorithm(settings.receipt_seal_algorithm)
    sm2 = chosen is SealAlgorithm.SM2_SM3
    paths = Sm2PkiPaths.under(target) if sm2 else PkiPaths.under(target)
    present = [p.relative_to(target) for p in paths.files() if p.exists()]
    if present:
        raise PkiExists(f"{target} already holds {present[0]}; remove it to start over")
    init_pki(target, bank or settings.bank_name)
    if sm2:
        init_sm2_pki(target, bank or settings.bank_name)
    root = read_cert(paths.root_cert)
    fingerprint = hashlib.sha256(root.public_bytes(Encoding.DER)).hexdigest().upper()
    console.print(f"created the {chosen} receipt seal PKI in {target}")
    console.print(f"root: {root.subject.rfc4514_string()}")
    console.print(f"root SHA-256 fingerprint: {fingerprint}")


@app.command("verify")
def verify(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The receipt PDF"),
    roots: Path | None = typer.Option(
        None, "--root", help="Root certificate(s), PEM; default: the ones under var/pki"
    ),
) -> None:
    """Check a receipt PDF (ECDSA or SM2 seal) offline against the bank's roots; exit 1 unless
    it is valid."""
    pki_dir = load_settings().var_dir / "pki"
    root_file = roots or PkiPaths.under(pki_dir).root_cert
    if not root_file.exists():
        raise ConfigurationError(f"no root certificate at {root_file}: pass --root")
    anchors = _read_roots(root_file) if roots else installed_trust_roots(pki_dir)
    result = verify_receipt_pdf(file.read_bytes(), anchors)
    status = "[green]VALID[/green]" if result.valid else "[red]NOT VALID[/red]"
    detail = f" ({result.detail})" if result.detail else ""
    console.print(f"{status}  reason: {result.reason.value}{detail}")
    console.print(f"receipt: {result.receipt_no or '-'}")
    console.print(f"signer: {result.signer_subject or '-'}")
    when = result.signing_time.isoformat() if result.signing_time else "-"
    console.print(f"signed: {when}" + (" (timestamped)" if result.timestamped else ""))
    if not result.valid:
        raise typer.Exit(1)


def _read_roots(path: Path) -> list[x509.Certificate]:
    try:
        return list(x509.load_pem_x509_certificates(path.read_bytes()))
    except ValueError as err:
        raise ConfigurationError(f"{path} holds no PEM certificate: {err}") from err


@app.command("stats")
def stats(
    days: int = typer.Option(7, min=1, max=366, help="How many days back from today"),
) -> None:
    """Receipts issued and verified per business day."""
    container = open_container()
    try:
        last = business_date(container.clock.now())
        with container.uow() as uow:
            figures = daily_figures(uow.session, last - timedelta(days=days - 1), last)
    finally:
        container.close()
    table = Table(title="Receipts per day")
    for column in ("day", "issued", "sealed", "verified", "failed checks", "downloads"):
        table.add_column(column, justify="right")
    for d in figures:
        row = (d.issued, d.sealed, d.verified, d.verification_failed, d.downloads)
        table.add_row(date.isoformat(d.day), *map(str, row))
    console.print(table)
