"""Sealing and offline verification: the intact receipt, and one test per kind of tampering."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from reportlab.pdfgen.canvas import Canvas
from tests.unit.receipts.conftest import BANK

from greenbank.receipts.pki import (
    SealIdentity,
    init_pki,
    issue_seal,
    load_root,
    load_seal_identity,
    load_trust_roots,
)
from greenbank.receipts.signing import NotAReceiptDocument, seal_pdf
from greenbank.receipts.tsa import LocalTimestampAuthority
from greenbank.receipts.verify import Reason, verify_receipt_pdf

NO = "RC202405010000123"


def test_the_intact_receipt_is_valid(
    sealed_pdf: bytes, trust_roots: list[x509.Certificate]
) -> None:
    result = verify_receipt_pdf(sealed_pdf, trust_roots)
    assert (result.valid, result.reason) == (True, Reason.OK), result.detail
    assert result.receipt_no == NO
    assert result.timestamped
    assert result.signer_subject is not None and "电子回单专用章" in result.signer_subject
    assert result.signing_time is not None
    assert abs(datetime.now(UTC) - result.signing_time) < timedelta(hours=1)


def test_the_seal_is_a_pades_certification_with_no_changes_allowed(sealed_pdf: bytes) -> None:
    assert b"/ETSI.CAdES.detached" in sealed_pdf
    assert b"/DocMDP" in sealed_pdf
    assert b"/P 1" in sealed_pdf


def test_without_a_tsa_the_time_is_the_signers_claim(
    receipt_pdf: bytes, identity: SealIdentity, trust_roots: list[x509.Certificate]
) -> None:
    result = verify_receipt_pdf(seal_pdf(receipt_pdf, identity), trust_roots)
    assert result.reason == Reason.OK
    assert not result.timestamped
    assert result.signing_time is not None


def test_a_changed_byte_inside_the_signed_range(
    receipt_pdf: bytes, sealed_pdf: bytes, trust_roots: list[x509.Certificate]
) -> None:
    # The /Creator of the rendered revision, which lies wholly inside the first signed range.
    original = b"greenbank receipts"
    assert sealed_pdf.index(original) < len(receipt_pdf)
    tampered = sealed_pdf.replace(original, b"greenbank receiptz", 1)
    result = verify_receipt_pdf(tampered, trust_roots)
    assert (result.valid, result.reason) == (False, Reason.BYTES_CHANGED)


def _paint_new_amount(sealed: bytes) -> bytes:
    """An incremental update that whites out the amount and writes another on top."""
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed))
    font = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Font"),
            generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
            generic.NameObject("/BaseFont"): generic.NameObject("/Helvetica"),
        }
    )
    resources = generic.DictionaryObject(
        {
            generic.NameObject("/Font"): generic.DictionaryObject(
                {generic.NameObject("/FX"): writer.add_object(font)}
            )
        }
    )
    paint = b"q 1 1 1 rg 140 540 200 16 re f 0 0 0 rg BT /FX 12 Tf 142 544 Td (99,999.00) Tj ET Q"
    stream = writer.add_object(generic.StreamObject(stream_data=paint))
    writer.add_stream_to_page(0, stream, resources=resources)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _add_free_text_annotation(sealed: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed))
    page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    page = page_ref.get_object()
    annot = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
            generic.NameObject("/Rect"): generic.ArrayObject(
                [generic.FloatObject(v) for v in (140, 540, 340, 556)]
            ),
            generic.NameObject("/Contents"): generic.TextStringObject("¥99,999.00"),
            generic.NameObject("/DA"): generic.TextStringObject("/Helv 12 Tf 0 g"),
            generic.NameObject("/P"): page_ref,
        }
    )
    annots = page.get("/Annots", generic.ArrayObject())
    annots.append(writer.add_object(annot))
    page[generic.NameObject("/Annots")] = annots
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("tamper", [_paint_new_amount, _add_free_text_annotation])
def test_an_incremental_update_after_sealing(
    sealed_pdf: bytes, trust_roots: list[x509.Certificate], tamper: object
) -> None:
    tampered = tamper(sealed_pdf)  # type: ignore[operator]
    assert tampered.startswith(sealed_pdf)  # the signed bytes themselves are untouched
    result = verify_receipt_pdf(tampered, trust_roots)
    assert (result.valid, result.reason) == (False, Reason.MODIFIED_AFTER_SIGNING), result.detail
    assert result.receipt_no == NO


def test_a_copy_resealed_by_another_ca(
    receipt_pdf: bytes, trust_roots: list[x509.Certificate], tmp_path: Path
) -> None:
    forger = init_pki(tmp_path / "forger", BANK)
    forged = seal_pdf(receipt_pdf, load_seal_identity(forger.directory))
    result = verify_receipt_pdf(forged, trust_roots)
    assert (result.valid, result.reason) == (False, Reason.UNKNOWN_SIGNER)


def test_a_timestamp_from_an_unknown_tsa(
    receipt_pdf: bytes, identity: SealIdentity, trust_roots: list[x509.Certificate], tmp_path: Path
) -> None:
    other = init_pki(tmp_path / "other", BANK)
    sealed = seal_pdf(
        receipt_pdf, identity, tsa=LocalTimestampAuthority.from_directory(other.directory)
    )
    result = verify_receipt_pdf(sealed, trust_roots)
    assert (result.valid, result.reason) == (False, Reason.UNKNOWN_SIGNER)
    assert not result.timestamped


@pytest.mark.parametrize("keep", [0.5, 0.99])
def test_a_truncated_file(
    sealed_pdf: bytes, trust_roots: list[x509.Certificate], keep: float
) -> None:
    result = verify_receipt_pdf(sealed_pdf[: int(len(sealed_pdf) * keep)], trust_roots)
    assert (result.valid, result.reason) == (False, Reason.TRUNCATED)


def test_not_a_pdf(trust_roots: list[x509.Certificate]) -> None:
    result = verify_receipt_pdf(b"<html>receipt</html>", trust_roots)
    assert (result.valid, result.reason) == (False, Reason.NOT_A_PDF)


def _plain_pdf() -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.drawString(100, 700, "Receipt 10175.00")
    canvas.save()
    return buffer.getvalue()


def test_an_unsigned_pdf(trust_roots: list[x509.Certificate], receipt_pdf: bytes) -> None:
    for pdf in (_plain_pdf(), receipt_pdf):
        result = verify_receipt_pdf(pdf, trust_roots)
        assert (result.valid, result.reason) == (False, Reason.NO_SIGNATURE)


def test_sealing_refuses_a_pdf_that_is_not_a_receipt(identity: SealIdentity) -> None:
    with pytest.raises(NotAReceiptDocument):
        seal_pdf(_plain_pdf(), identity)
    with pytest.raises(NotAReceiptDocument):
        seal_pdf(b"not a pdf", identity)


def test_signed_by_our_root_but_not_by_the_receipt_seal(
    receipt_pdf: bytes, pki_dir: Path, trust_roots: list[x509.Certificate]
) -> None:
    ordinary = issue_seal(load_root(pki_dir), BANK, receipt_policy=False)
    result = verify_receipt_pdf(seal_pdf(receipt_pdf, ordinary), trust_roots)
    assert (result.valid, result.reason) == (False, Reason.NOT_A_RECEIPT)


def test_an_expired_seal_certificate(
    receipt_pdf: bytes, pki_dir: Path, trust_roots: list[x509.Certificate]
) -> None:
    now = datetime.now(UTC)
    expired = issue_seal(
        load_root(pki_dir),
        BANK,
        not_before=now - timedelta(days=730),
        not_after=now - timedelta(days=365),
    )
    result = verify_receipt_pdf(seal_pdf(receipt_pdf, expired), trust_roots)
    assert (result.valid, result.reason) == (False, Reason.CERTIFICATE_EXPIRED)


def test_validating_after_the_seal_certificate_ran_out(
    sealed_pdf: bytes, identity: SealIdentity, trust_roots: list[x509.Certificate]
) -> None:
    later = identity.cert.not_valid_after_utc + timedelta(days=1)
    result = verify_receipt_pdf(sealed_pdf, trust_roots, at=later)
    assert (result.valid, result.reason) == (False, Reason.CERTIFICATE_EXPIRED)


def test_verifying_against_another_root(sealed_pdf: bytes, tmp_path: Path) -> None:
    other = init_pki(tmp_path / "other", "另一家银行")
    result = verify_receipt_pdf(sealed_pdf, load_trust_roots(other.directory))
    assert (result.valid, result.reason) == (False, Reason.UNKNOWN_SIGNER)


def test_sealing_falls_back_when_the_reserved_space_is_too_small(
    receipt_pdf: bytes,
    identity: SealIdentity,
    tsa: LocalTimestampAuthority,
    trust_roots: list[x509.Certificate],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from greenbank.receipts import signing

    monkeypatch.setattr(signing, "_CMS_OVERHEAD", -2500)  # far less than the CMS needs
    result = verify_receipt_pdf(seal_pdf(receipt_pdf, identity, tsa=tsa), trust_roots)
    assert result.reason == Reason.OK and result.timestamped
