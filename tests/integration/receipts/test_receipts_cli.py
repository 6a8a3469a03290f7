"""The operator's commands: ``greenbank pki init`` (never overwrites) and the offline
``greenbank receipts verify FILE`` with its exit codes (0 valid, 1 not valid, 2 unusable)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.integration.receipts.conftest import BANK, WHEN, IssueFn

from greenbank.receipts.pki import load_seal_identity
from greenbank.receipts.render import Party, ReceiptData, ReceiptType, render_receipt
from greenbank.receipts.signing import seal_pdf
from greenbank.receipts.sm2_pki import load_sm2_seal_identity
from greenbank.receipts.tsa import LocalTimestampAuthority

TOP_UP = ReceiptData(
    receipt_no="RT20260302000001",
    type=ReceiptType.TOP_UP,
    time=WHEN,
    serial_no="TX-1",
    payer=Party("张三丰", "6217271234561234", "他行"),
    payee=Party("张三丰", "6236680012345678901", BANK),
    amount_fen=50_000,
    verification_code="7KQ2MXH9PA",
)


def run(
    *args: str, var: Path, database_url: str | None = None, **settings: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREENBANK_")}
    env |= {"GREENBANK_VAR_DIR": str(var), "GREENBANK_BANK_NAME": BANK, "COLUMNS": "200"}
    env |= {f"GREENBANK_{name.upper()}": value for name, value in settings.items()}
    if database_url:
        env["GREENBANK_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "greenbank", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=var.parent,
        timeout=120,
        check=False,
    )


def test_pki_init_then_verify_receipts_offline(tmp_path: Path) -> None:
    var = tmp_path / "var"
    created = run("pki", "init", var=var)
    assert created.returncode == 0, created.stderr
    assert "root SHA-256 fingerprint" in created.stdout
    assert oct((var / "pki" / "seal.key.pem").stat().st_mode & 0o777) == "0o600"
    again = run("pki", "init", var=var)
    assert again.returncode == 2 and "pki_exists" in again.stderr

    sealed = seal_pdf(
        render_receipt(TOP_UP, bank_name=BANK, verify_url="https://bank.example/verify"),
        load_seal_identity(var / "pki"),
    )
    good, bad = tmp_path / "good.pdf", tmp_path / "bad.pdf"
    good.write_bytes(sealed)
    bad.write_bytes(sealed.replace(b"greenbank receipts", b"greenbank receiptz", 1))
    ok = run("receipts", "verify", str(good), var=var)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "VALID" in ok.stdout and "RT20260302000001" in ok.stdout
    tampered = run("receipts", "verify", str(bad), var=var)
    assert tampered.returncode == 1 and "bytes_changed" in tampered.stdout
    no_root = run("receipts", "verify", str(good), var=tmp_path / "elsewhere")
    assert no_root.returncode == 2 and "no root certificate" in no_root.stderr
    other_root = run(
        "receipts", "verify", str(good), "--root", str(var / "pki" / "tsa.pem"), var=var
    )
    assert other_root.returncode == 1 and "unknown_signer" in other_root.stdout


def test_pki_init_sm2_then_verify_sm2_receipts_offline(tmp_path: Path) -> None:
    var = tmp_path / "var"
    created = run("pki", "init", var=var, receipt_seal_algorithm="sm2-sm3")  # the setting
    assert created.returncode == 0, created.stderr
    assert "sm2-sm3" in created.stdout and "root SHA-256 fingerprint" in created.stdout
    pki = var / "pki"
    assert oct((pki / "sm2" / "seal.key.pem").stat().st_mode & 0o777) == "0o600"
    assert (pki / "tsa.pem").exists()  # the ECDSA hierarchy with the TSA came along
    again = run("pki", "init", "--algorithm", "sm2-sm3", var=var)
    assert again.returncode == 2 and "pki_exists" in again.stderr

    rendered = render_receipt(TOP_UP, bank_name=BANK, verify_url="https://bank.example/verify")
    tsa = LocalTimestampAuthority.from_directory(pki)
    sealed = seal_pdf(rendered, load_sm2_seal_identity(pki), tsa=tsa)
    good, bad = tmp_path / "good.pdf", tmp_path / "bad.pdf"
    good.write_bytes(sealed)
    bad.write_bytes(sealed.replace(b"greenbank receipts", b"greenbank receiptz", 1))
    ok = run("receipts", "verify", str(good), var=var)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "VALID" in ok.stdout and "(timestamped)" in ok.stdout
    tampered = run("receipts", "verify", str(bad), var=var)
    assert tampered.returncode == 1 and "bytes_changed" in tampered.stdout
    ecdsa_root_only = run(
        "receipts", "verify", str(good), "--root", str(pki / "root-ca.pem"), var=var
    )
    assert ecdsa_root_only.returncode == 1 and "unknown_signer" in ecdsa_root_only.stdout


def test_receipts_stats(issue: IssueFn, db_url: str, tmp_path: Path) -> None:
    issue()
    issue(source_id="holding-2")
    shown = run("receipts", "stats", "--days", "366", var=tmp_path / "var", database_url=db_url)
    assert shown.returncode == 0, shown.stderr
    [line] = [row for row in shown.stdout.splitlines() if "2026-03-02" in row]
    cells = [cell.strip() for cell in line.split("│") if cell.strip()]
    assert cells == ["2026-03-02", "2", "0", "0", "0", "0"]  # issued 2, none sealed yet
