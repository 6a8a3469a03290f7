"""One dev PKI (and one with the SM2 hierarchy beside it), one receipt and one sealed copy per
seal per test session: key generation and sealing are the slow parts, and every tamper test
starts from the same sealed bytes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography import x509

from greenbank.receipts.pki import SealIdentity, init_pki, load_seal_identity, load_trust_roots
from greenbank.receipts.render import Party, ReceiptData, ReceiptType, render_receipt
from greenbank.receipts.signing import seal_pdf
from greenbank.receipts.sm2_pki import init_sm2_pki, installed_trust_roots, load_sm2_seal_identity
from greenbank.receipts.tsa import LocalTimestampAuthority

BANK = "广东南粤银行"
VERIFY_URL = "https://bank.example/receipts/verify"


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    init_pki(directory, BANK)
    return directory


@pytest.fixture(scope="session")
def identity(pki_dir: Path) -> SealIdentity:
    return load_seal_identity(pki_dir)


@pytest.fixture(scope="session")
def tsa(pki_dir: Path) -> LocalTimestampAuthority:
    return LocalTimestampAuthority.from_directory(pki_dir)


@pytest.fixture(scope="session")
def trust_roots(pki_dir: Path) -> list[x509.Certificate]:
    return load_trust_roots(pki_dir)


@pytest.fixture(scope="session")
def receipt() -> ReceiptData:
    return ReceiptData(
        receipt_no="RC202405010000123",
        type=ReceiptType.DEPOSIT_PURCHASE,
        time=datetime(2024, 5, 1, 2, 23, 45, tzinfo=UTC),
        serial_no="TX20240501102345000981",
        payer=Party("张三丰", "6217271234561234", "广东南粤银行广州天河支行"),
        payee=Party("张三丰", "6236680012345678901", "广东南粤银行广州天河支行"),
        amount_fen=1_017_500,
        verification_code="7KQ2MXH9PA",
        product="南粤绿色定期存款",
        term="1年",
        rate=Decimal("0.0215"),
        value_date=date(2024, 5, 1),
        maturity_date=date(2025, 5, 1),
        rate_bonus=Decimal("0.001"),
    )


@pytest.fixture(scope="session")
def receipt_pdf(receipt: ReceiptData) -> bytes:
    return render_receipt(receipt, bank_name=BANK, verify_url=VERIFY_URL)


@pytest.fixture(scope="session")
def sealed_pdf(receipt_pdf: bytes, identity: SealIdentity, tsa: LocalTimestampAuthority) -> bytes:
    return seal_pdf(receipt_pdf, identity, tsa=tsa)


@pytest.fixture(scope="session")
def sm2_pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PKI directory laid out as with ``receipt_seal_algorithm=sm2-sm3``: both hierarchies."""
    directory = tmp_path_factory.mktemp("pki-sm2")
    init_pki(directory, BANK)
    init_sm2_pki(directory, BANK)
    return directory


@pytest.fixture(scope="session")
def sm2_identity(sm2_pki_dir: Path) -> SealIdentity:
    return load_sm2_seal_identity(sm2_pki_dir)


@pytest.fixture(scope="session")
def sm2_trust_roots(sm2_pki_dir: Path) -> list[x509.Certificate]:
    return installed_trust_roots(sm2_pki_dir)


@pytest.fixture(scope="session")
def sm2_sealed_pdf(receipt_pdf: bytes, sm2_identity: SealIdentity, sm2_pki_dir: Path) -> bytes:
    return seal_pdf(
        receipt_pdf, sm2_identity, tsa=LocalTimestampAuthority.from_directory(sm2_pki_dir)
    )
