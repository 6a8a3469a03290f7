"""``greenbank pki init`` and ``greenbank receipts verify FILE`` / ``receipts stats``.

``verify`` works offline: it needs only the file and the bank's root certificate (by default
``var/pki/root-ca.pem``), no database. It exits 0 for a valid receipt and 1 otherwise.
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
from greenbank.receipts.pki import PkiPaths, init_pki, load_trust_roots
from greenbank.receipts.queries import daily_figures
from greenbank.receipts.verify import verify_receipt_pdf

pki_app = typer.Typer(help="The receipt seal's certificate hierarchy (development).")
app = typer.Typer(help="Electronic receipts: verify a PDF offline, daily figures.")
console = Console()


class PkiExists(Conflict):
    code = "pki_exists"
    title = "A receipt PKI already exists there"


def _pki_dir(directory: Path | None) -> Path:
    return directory or load_settings().var_dir / "pki"


@pki_app.command("init")
def pki_init(
    directory: Path | None = typer.Option(None, "--dir", help="Default: GREENBANK_VAR_DIR/pki"),
    bank: str | None = typer.Option(None, "--bank", help="Default: GREENBANK_BANK_NAME"),
) -> None:
    """Create a dev root CA, the receipt seal and a TSA certificate; never overwrites."""
    target = _pki_dir(directory)
    present = [p for p in PkiPaths.under(target).files() if p.exists()]
    if present:
        raise PkiExists(f"{target} already holds {present[0].name}; remove it to start over")
    paths = init_pki(target, bank or load_settings().bank_name)
    [root] = load_trust_roots(paths.directory)
    fingerprint = hashlib.sha256(root.public_bytes(Encoding.DER)).hexdigest().upper()
    console.print(f"created the receipt PKI in {paths.directory}")
    console.print(f"root: {root.subject.rfc4514_string()}")
    console.print(f"root SHA-256 fingerprint: {fingerprint}")


@app.command("verify")
def verify(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The receipt PDF"),
    roots: Path | None = typer.Option(None, "--root", help="Root certificate (PEM)"),
) -> None:
    """Check a receipt PDF offline against the bank's root; exit 1 unless it is valid."""
    root_file = roots or PkiPaths.under(_pki_dir(None)).root_cert
    if not root_file.exists():
        raise ConfigurationError(f"no root certificate at {root_file}: pass --root")
    result = verify_receipt_pdf(file.read_bytes(), _read_roots(root_file))
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
