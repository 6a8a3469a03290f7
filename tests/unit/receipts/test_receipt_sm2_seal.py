"""The SM2/SM3 seal: sealing and offline verification, with the same reasons as the ECDSA seal
for the intact receipt and for every kind of tampering."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from tests.unit.receipts.conftest import BANK
from tests.unit.receipts.test_receipt_seal_verify import (
    _add_free_text_annotation,
    _paint_new_amount,
)

from greenbank.crypto import SM2PrivateKey
from greenbank.receipts.pki import SealIdentity, load_trust_roots
from greenbank.receipts.signing import seal_pdf
from greenbank.receipts.sm2_pki import (
    Sm2Issuer,
    create_sm2_root,
    issue_sm2_seal,
    load_sm2_root,
)
from greenbank.receipts.verify import Reason, verify_receipt_pdf

NO = "RC202405010000123"


def _signer_info(pdf: bytes) -> Any:
    reader = PdfFileReader(io.BytesIO(pdf))
    return reader.embedded_regular_signatures[0].signer_info


def test_the_intact_sm2_receipt_is_valid(
    sm2_sealed_pdf: bytes, sm2_trust_roots: list[x509.Certificate]
) -> None:
    result = verify_receipt_pdf(sm2_sealed_pdf, sm2_trust_roots)
    assert (result.valid, result.reason) == (True, Reason.OK), result.detail
    assert result.receipt_no == NO and result.timestamped
    assert result.signer_subject is not None and "电子回单专用章" in result.signer_subject


def test_the_cms_names_sm3_and_sm2_with_sm3(sm2_sealed_pdf: bytes) -> None:
    info = _signer_info(sm2_sealed_pdf)
    assert info["digest_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.401"
    assert info["signature_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.501"
    assert info["signature_algorithm"]["parameters"].native is None
    # still a PAdES certification signature that permits no changes
    assert b"/ETSI.CAdES.detached" in sm2_sealed_pdf and b"/P 1" in sm2_sealed_pdf


def test_without_a_tsa(
    receipt_pdf: bytes, sm2_identity: SealIdentity, sm2_trust_roots: list[x509.Certificate]
) -> None:
    result = verify_receipt_pdf(seal_pdf(receipt_pdf, sm2_identity), sm2_trust_roots)
    assert result.reason == Reason.OK and not result.timestamped


def test_a_changed_byte_inside_the_signed_range(
    sm2_sealed_pdf: bytes, sm2_trust_roots: list[x509.Certificate]
) -> None:
    tampered = sm2_sealed_pdf.replace(b"greenbank receipts", b"greenbank receiptz", 1)
    result = verify_receipt_pdf(tampered, sm2_trust_roots)
    assert (result.valid, result.reason) == (False, Reason.BYTES_CHANGED)


@pytest.mark.parametrize("tamper", [_paint_new_amount, _add_free_text_annotation])
def test_an_incremental_update_after_sealing(
    sm2_sealed_pdf: bytes,
    sm2_trust_roots: list[x509.Certificate],
    tamper: Callable[[bytes], bytes],
) -> None:
    tampered = tamper(sm2_sealed_pdf)
    assert tampered.startswith(sm2_sealed_pdf)
    result = verify_receipt_pdf(tampered, sm2_trust_roots)
    assert (result.valid, result.reason) == (False, Reason.MODIFIED_AFTER_SIGNING), result.detail
    assert result.receipt_no == NO


def test_a_copy_resealed_by_another_sm2_ca(
    receipt_pdf: bytes, sm2_trust_roots: list[x509.Certificate]
) -> None:
    forged = seal_pdf(receipt_pdf, issue_sm2_seal(create_sm2_root(BANK), BANK))
    result = verify_receipt_pdf(forged, sm2_trust_roots)
    assert (result.valid, result.reason) == (False, Reason.UNKNOWN_SIGNER)


def test_a_seal_certificate_that_names_our_root_but_was_signed_by_another_key(
    receipt_pdf: bytes, sm2_pki_dir: Path, sm2_trust_roots: list[x509.Certificate]
) -> None:
    """Same issuer name and key identifier as our root: only the certificate's SM2 signature
    (checked by the GM validator during path validation) gives it away."""
    pretender = Sm2Issuer(cert=load_sm2_root(sm2_pki_dir).cert, key=SM2PrivateKey.generate())
    forged = seal_pdf(receipt_pdf, issue_sm2_seal(pretender, BANK))
    result = verify_receipt_pdf(forged, sm2_trust_roots)
    assert (result.valid, result.reason) == (False, Reason.UNKNOWN_SIGNER)


def test_our_seal_certificate_with_another_key(
    receipt_pdf: bytes, sm2_identity: SealIdentity, sm2_trust_roots: list[x509.Certificate]
) -> None:
    """The certificate chains to our root, but the signature was made with a different key."""
    impostor = SealIdentity(
        key=SM2PrivateKey.generate(), cert=sm2_identity.cert, chain=sm2_identity.chain
    )
    result = verify_receipt_pdf(seal_pdf(receipt_pdf, impostor), sm2_trust_roots)
    assert (result.valid, result.reason) == (False, Reason.BYTES_CHANGED)


def test_against_the_ecdsa_root_alone_the_sm2_signer_is_unknown(
    sm2_sealed_pdf: bytes, sm2_pki_dir: Path
) -> None:
    result = verify_receipt_pdf(sm2_sealed_pdf, load_trust_roots(sm2_pki_dir))
    assert (result.valid, result.reason) == (False, Reason.UNKNOWN_SIGNER)


def test_ecdsa_receipts_verify_beside_the_sm2_root(
    sealed_pdf: bytes, trust_roots: list[x509.Certificate], sm2_pki_dir: Path
) -> None:
    """Switching the setting keeps earlier receipts valid: the verifier trusts both roots."""
    both = [*trust_roots, load_sm2_root(sm2_pki_dir).cert]
    assert verify_receipt_pdf(sealed_pdf, both).reason == Reason.OK


def test_an_sm2_seal_without_the_receipt_policy(
    receipt_pdf: bytes, sm2_pki_dir: Path, sm2_trust_roots: list[x509.Certificate]
) -> None:
    ordinary = issue_sm2_seal(load_sm2_root(sm2_pki_dir), BANK, receipt_policy=False)
    result = verify_receipt_pdf(seal_pdf(receipt_pdf, ordinary), sm2_trust_roots)
    assert (result.valid, result.reason) == (False, Reason.NOT_A_RECEIPT)


def test_an_expired_sm2_seal_certificate(
    receipt_pdf: bytes, sm2_pki_dir: Path, sm2_trust_roots: list[x509.Certificate]
) -> None:
    now = datetime.now(UTC)
    expired = issue_sm2_seal(
        load_sm2_root(sm2_pki_dir),
        BANK,
        not_before=now - timedelta(days=730),
        not_after=now - timedelta(days=365),
    )
    result = verify_receipt_pdf(seal_pdf(receipt_pdf, expired), sm2_trust_roots)
    assert (result.valid, result.reason) == (False, Reason.CERTIFICATE_EXPIRED)
