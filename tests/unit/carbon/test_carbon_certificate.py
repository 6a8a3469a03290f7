"""The carbon reduction certificate: render, seal with the receipt seal, verify offline; tamper;
and the document kinds keeping certificates and receipts apart."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from tests.unit.receipts.test_receipt_seal_verify import _paint_new_amount

from greenbank.carbon.certificate import (
    CERTIFICATE,
    CertificateData,
    Figures,
    render_certificate,
    seal_certificate,
    verification_link,
    verify_certificate_pdf,
)
from greenbank.carbon.certificates import certificate_code, new_certificate_no
from greenbank.receipts.pki import (
    SealIdentity,
    init_pki,
    load_seal_identity,
    load_trust_roots,
    to_asn1,
)
from greenbank.receipts.render import Party, ReceiptData, ReceiptType, render_receipt
from greenbank.receipts.signing import NotAReceiptDocument, document_number, seal_pdf
from greenbank.receipts.tsa import LocalTimestampAuthority
from greenbank.receipts.verify import Reason, verify_receipt_pdf

BANK = "绿色示范银行"
BASE = "https://bank.example"
NO = "CR20260302K7M2QX9PZA"
FIGURES = Figures(
    masked_name="张*",
    since=date(2026, 1, 5),
    lifetime_mg=12_345_678,
    provisional_mg=89_000,
    level="绿叶",
    trees="0.20",
    tree_source="US EPA Greenhouse Gas Equivalencies Calculator (secondary citation)",
    tree_provisional=True,
    top_scenarios=("线上存款（替代柜台办理）", "地铁出行"),
)
DATA = CertificateData(NO, datetime(2026, 3, 2, 1, 30, tzinfo=UTC), "ABCDE23456", FIGURES)


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    init_pki(directory, BANK)
    return directory


@pytest.fixture(scope="module")
def identity(pki_dir: Path) -> SealIdentity:
    return load_seal_identity(pki_dir)


@pytest.fixture(scope="module")
def trust_roots(pki_dir: Path) -> list[x509.Certificate]:
    return load_trust_roots(pki_dir)


@pytest.fixture(scope="module")
def rendered() -> bytes:
    return render_certificate(DATA, bank_name=BANK, base_url=BASE)


@pytest.fixture(scope="module")
def sealed(rendered: bytes, identity: SealIdentity, pki_dir: Path) -> bytes:
    return seal_certificate(rendered, identity, tsa=LocalTimestampAuthority.from_directory(pki_dir))


def test_the_page_carries_its_number_and_the_verification_link(rendered: bytes) -> None:
    reader = PdfFileReader(io.BytesIO(rendered))
    assert document_number(reader, CERTIFICATE) == NO
    assert len(reader.root["/Pages"]["/Kids"]) == 1
    assert verification_link(BASE + "/", NO, "ABCDE-23456") == (
        f"{BASE}/verify/certificate?no={NO}&code=ABCDE-23456"
    )


def test_sealed_certificate_validates_intact_and_signed_by_the_banks_seal(
    sealed: bytes, identity: SealIdentity, trust_roots: list[x509.Certificate]
) -> None:
    result = verify_certificate_pdf(sealed, trust_roots)
    assert (result.valid, result.reason, result.receipt_no) == (True, Reason.OK, NO), result.detail
    assert result.timestamped
    # The same, straight from pyHanko: intact, trusted, certified by the seal certificate.
    reader = PdfFileReader(io.BytesIO(sealed))
    [signature] = reader.embedded_regular_signatures
    assert str(signature.sig_object["/Reason"]) == f"碳减排证书 {NO}"
    context = ValidationContext(trust_roots=[to_asn1(r) for r in trust_roots])
    status = validate_pdf_signature(signature, context)
    assert status.intact and status.valid and status.trusted and status.docmdp_ok
    assert status.signing_cert.dump() == to_asn1(identity.cert).dump()


def test_a_changed_byte_inside_the_signed_range(
    rendered: bytes, sealed: bytes, trust_roots: list[x509.Certificate]
) -> None:
    original = b"greenbank carbon"  # the /Creator, inside the first signed range
    assert sealed.index(original) < len(rendered)
    tampered = sealed.replace(original, b"greenbank carbom", 1)
    result = verify_certificate_pdf(tampered, trust_roots)
    assert (result.valid, result.reason) == (False, Reason.BYTES_CHANGED)


def test_a_figure_painted_over_after_sealing(
    sealed: bytes, trust_roots: list[x509.Certificate]
) -> None:
    tampered = _paint_new_amount(sealed)
    result = verify_certificate_pdf(tampered, trust_roots)
    assert (result.valid, result.reason) == (False, Reason.MODIFIED_AFTER_SIGNING)


def test_another_ca_cannot_issue_our_certificate(
    rendered: bytes, trust_roots: list[x509.Certificate], tmp_path: Path
) -> None:
    forger = init_pki(tmp_path / "forger", BANK)
    forged = seal_certificate(rendered, load_seal_identity(forger.directory))
    assert verify_certificate_pdf(forged, trust_roots).reason == Reason.UNKNOWN_SIGNER


def test_certificates_and_receipts_never_pass_for_each_other(
    rendered: bytes,
    sealed: bytes,
    identity: SealIdentity,
    trust_roots: list[x509.Certificate],
) -> None:
    assert verify_receipt_pdf(sealed, trust_roots).reason == Reason.NOT_A_RECEIPT
    receipt = render_receipt(
        ReceiptData(
            receipt_no="RP20260302000001",
            type=ReceiptType.TOP_UP,
            time=datetime(2026, 3, 2, 1, 30, tzinfo=UTC),
            serial_no="TX1",
            payer=Party("张三丰", "6217271234561234", BANK),
            payee=Party(BANK, "6236680012345678901", BANK, organisation=True),
            amount_fen=100,
            verification_code="7KQ2MXH9PA",
        ),
        bank_name=BANK,
        verify_url=BASE + "/verify",
    )
    sealed_receipt = seal_pdf(receipt, identity)
    assert verify_receipt_pdf(sealed_receipt, trust_roots).reason == Reason.OK
    assert verify_certificate_pdf(sealed_receipt, trust_roots).reason == Reason.NOT_A_RECEIPT
    with pytest.raises(NotAReceiptDocument, match="no certificate number"):
        seal_certificate(receipt, identity)
    with pytest.raises(NotAReceiptDocument, match="no receipt number"):
        seal_pdf(rendered, identity)


def test_the_fingerprint_changes_with_any_figure() -> None:
    assert FIGURES.fingerprint == replace(FIGURES).fingerprint
    changed = [
        replace(FIGURES, lifetime_mg=FIGURES.lifetime_mg + 1),
        replace(FIGURES, provisional_mg=0),
        replace(FIGURES, level="绿树"),
        replace(FIGURES, masked_name="李*"),
        replace(FIGURES, top_scenarios=FIGURES.top_scenarios[::-1]),
        replace(FIGURES, tree_provisional=False),
    ]
    assert len({FIGURES.fingerprint, *(f.fingerprint for f in changed)}) == 1 + len(changed)


def test_the_code_is_bound_to_number_figures_and_day() -> None:
    key, day = b"k" * 32, date(2026, 3, 2)
    code = certificate_code(key, certificate_no=NO, figures=FIGURES, on=day)
    assert len(code) == 10
    assert code == certificate_code(key, certificate_no=NO, figures=FIGURES, on=day)
    others = {
        certificate_code(b"x" * 32, certificate_no=NO, figures=FIGURES, on=day),
        certificate_code(key, certificate_no=NO[:-1] + "B", figures=FIGURES, on=day),
        certificate_code(key, certificate_no=NO, figures=replace(FIGURES, level="森林"), on=day),
        certificate_code(key, certificate_no=NO, figures=FIGURES, on=date(2026, 3, 3)),
    }
    assert code not in others


def test_numbers_name_the_day_and_are_not_sequential() -> None:
    numbers = {new_certificate_no(date(2026, 3, 2)) for _ in range(50)}
    assert len(numbers) == 50
    assert all(n.startswith("CR20260302") and len(n) == 20 for n in numbers)
