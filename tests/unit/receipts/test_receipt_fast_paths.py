"""The shortcuts taken for throughput: each one gives exactly what the slow path gives, and
verification still refuses every tampered receipt when they are taken."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from asn1crypto import algos, cms, core  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from tests.unit.receipts.conftest import BANK
from tests.unit.receipts.test_receipt_seal_verify import (
    _add_free_text_annotation,
    _paint_new_amount,
)

from greenbank.receipts import verify
from greenbank.receipts.cms_signers import _DefiniteLengthSignerInfo, ess_signing_certificate
from greenbank.receipts.pki import (
    PkiPaths,
    SealIdentity,
    init_pki,
    load_seal_identity,
    to_asn1,
)
from greenbank.receipts.signing import seal_pdf
from greenbank.receipts.tsa import LocalTimestampAuthority
from greenbank.receipts.verify import Reason, verify_receipt_pdf


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _signer_info(content_length: int, *, indefinite: bool = False) -> bytes:
    """A SignerInfo whose signed attributes are valid BER but not DER (the SET is unsorted),
    padded through its signature to ``content_length`` bytes of contents."""
    attrs = sorted(
        [
            cms.CMSAttribute({"type": "content_type", "values": ["data"]}).dump(),
            cms.CMSAttribute({"type": "message_digest", "values": [b"\x01" * 32]}).dump(),
        ],
        reverse=True,
    )
    head = (
        core.Integer(3).dump()
        + cms.SignerIdentifier({"subject_key_identifier": b"k" * 20}).dump()
        + algos.DigestAlgorithm({"algorithm": "sha256"}).dump()
        + b"\xa0"
        + _der_length(len(b"".join(attrs)))
        + b"".join(attrs)
        + algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}).dump()
    )
    for size in range(content_length):
        signature = core.OctetString(b"\x00" * size).dump()
        if len(head) + len(signature) == content_length:
            content = head + signature
            if indefinite:
                return b"\x30\x80" + content + b"\x00\x00"
            return b"\x30" + _der_length(len(content)) + content
    raise AssertionError("no padding reaches that length")


def test_asn1crypto_re_encodes_a_definite_length_that_ends_in_0x80() -> None:
    ber = _signer_info(0x180)  # header 30 82 01 80
    assert ber[:4] == b"\x30\x82\x01\x80"
    # The trap itself: the plain class takes 0x80 for "indefinite" and rebuilds DER (which
    # sorts the attributes), the subclass keeps the bytes it was given.
    assert cms.SignerInfo.load(ber).dump() != ber
    assert _DefiniteLengthSignerInfo.load(ber).dump() == ber
    assert _DefiniteLengthSignerInfo.load(ber).dump(force=True) == cms.SignerInfo.load(ber).dump()


def test_a_real_indefinite_length_is_still_re_encoded_as_der() -> None:
    ber = _signer_info(0x180, indefinite=True)
    der = _DefiniteLengthSignerInfo.load(ber).dump()
    assert der == cms.SignerInfo.load(ber).dump()
    assert der[:4] == b"\x30\x82\x01\x80" and der != _signer_info(0x180)  # DER: sorted SET


def test_other_lengths_are_left_alone() -> None:
    ber = _signer_info(0x181)
    assert _DefiniteLengthSignerInfo.load(ber).dump() == ber == cms.SignerInfo.load(ber).dump()


def _signature(sealed: bytes) -> tuple[PdfFileReader, generic.Reference]:
    reader = PdfFileReader(io.BytesIO(sealed), strict=False)
    field = reader.root["/AcroForm"]["/Fields"].raw_get(0).get_object()
    return reader, field.raw_get("/V").reference


def test_the_signature_dictionary_is_the_one_pyhanko_parses(sealed_pdf: bytes) -> None:
    reader, ref = _signature(sealed_pdf)
    ours = verify._parse_signature_dict(reader, sealed_pdf, ref)
    theirs = PdfFileReader(io.BytesIO(sealed_pdf), strict=False).get_object(ref)
    assert ours is not None and ours == theirs
    assert {k: type(v) for k, v in ours.items()} == {k: type(v) for k, v in theirs.items()}
    assert ours.container_ref == theirs.container_ref
    assert isinstance(ours["/Contents"], generic.ByteStringObject)


def _edit_signature_object(sealed: bytes, edit: Callable[[bytes], bytes]) -> bytes:
    reader, ref = _signature(sealed)
    start = reader.xrefs[ref]
    end = sealed.index(b"endobj", start)
    return sealed[:start] + edit(sealed[start:end]) + sealed[end:]


def _spaced_hex(raw: bytes) -> bytes:
    at = raw.index(b"/Contents <") + len(b"/Contents <")
    return raw[: at + 2] + b" " + raw[at + 3 :]  # a digit becomes whitespace: same length


@pytest.mark.parametrize(
    "edit",
    [
        _spaced_hex,  # pyHanko would read 1 digit fewer (and flag the byte range)
        lambda raw: raw.replace(b"/Type", b"/T#79pe", 1),  # a name escape
        lambda raw: raw.replace(b"/Location", b"/Contents", 1),  # a second /Contents
        lambda raw: raw.replace(b"/Contents <3", b"/Contents <", 1),  # odd number of digits
    ],
)
def test_anything_but_the_plain_case_is_left_to_pyhanko(
    sealed_pdf: bytes, edit: Callable[[bytes], bytes]
) -> None:
    edited = _edit_signature_object(sealed_pdf, edit)
    reader, ref = _signature(edited)
    assert verify._parse_signature_dict(reader, edited, ref) is None


def _verify_without_preload(
    pdf: bytes, roots: list[x509.Certificate], monkeypatch: pytest.MonkeyPatch
) -> verify.VerificationResult:
    with monkeypatch.context() as patch:
        patch.setattr(verify, "preload_signature_dicts", lambda reader, pdf_bytes: None)
        return verify_receipt_pdf(pdf, roots)


def _tampered(sealed: bytes, receipt_pdf: bytes, tmp_path: Path) -> dict[str, bytes]:
    forger = init_pki(tmp_path / "forger", BANK)
    return {
        "intact": sealed,
        "changed_byte": sealed.replace(b"greenbank receipts", b"greenbank receiptz", 1),
        "painted_amount": _paint_new_amount(sealed),
        "annotation": _add_free_text_annotation(sealed),
        "other_ca": seal_pdf(receipt_pdf, load_seal_identity(forger.directory)),
        "truncated": sealed[: int(len(sealed) * 0.99)],
        "spaced_hex": _edit_signature_object(sealed, _spaced_hex),
    }


def test_verification_judges_every_case_as_pyhanko_alone_does(
    sealed_pdf: bytes,
    receipt_pdf: bytes,
    trust_roots: list[x509.Certificate],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cases = _tampered(sealed_pdf, receipt_pdf, tmp_path)
    for name, pdf in cases.items():
        fast = verify_receipt_pdf(pdf, trust_roots)
        slow = _verify_without_preload(pdf, trust_roots, monkeypatch)
        assert fast == slow, name
        assert fast.valid == (name == "intact"), (name, fast.reason)
    assert verify_receipt_pdf(cases["painted_amount"], trust_roots).reason == (
        Reason.MODIFIED_AFTER_SIGNING
    )


def test_the_seal_names_its_certificate_by_sha256_alone(
    sealed_pdf: bytes, identity: SealIdentity
) -> None:
    reader, _ = _signature(sealed_pdf)
    signer_info = reader.embedded_regular_signatures[0].signer_info
    attr = next(
        a for a in signer_info["signed_attrs"] if a["type"].native == "signing_certificate_v2"
    )
    (cert_id,) = attr["values"][0]["certs"]
    assert (
        cert_id["cert_hash"].native
        == hashlib.sha256(identity.cert.public_bytes(Encoding.DER)).digest()
    )
    assert cert_id["hash_algorithm"]["algorithm"].native == "sha256"
    assert not cert_id["issuer_serial"]


def test_a_signing_certificate_attribute_naming_another_certificate_is_refused(
    receipt_pdf: bytes, pki_dir: Path, trust_roots: list[x509.Certificate]
) -> None:
    liar = load_seal_identity(pki_dir)
    liar.signer.__dict__["_signing_certificate_v2"] = ess_signing_certificate(
        to_asn1(trust_roots[0])  # the root's hash, not the seal's
    )
    result = verify_receipt_pdf(seal_pdf(receipt_pdf, liar), trust_roots)
    assert not result.valid


def test_the_tsa_names_its_certificate_by_sha1_alone(sealed_pdf: bytes, pki_dir: Path) -> None:
    reader, _ = _signature(sealed_pdf)
    signer_info = reader.embedded_regular_signatures[0].signer_info
    token = signer_info["unsigned_attrs"][0]["values"][0]
    tsa_info = token["content"]["signer_infos"][0]
    attr = next(a for a in tsa_info["signed_attrs"] if a["type"].native == "signing_certificate")
    (cert_id,) = attr["values"][0]["certs"]
    tsa_cert = PkiPaths.under(pki_dir).tsa_cert.read_bytes()
    der = x509.load_pem_x509_certificate(tsa_cert).public_bytes(Encoding.DER)
    assert cert_id["cert_hash"].native == hashlib.sha1(der).digest()
    assert not cert_id["issuer_serial"]


@pytest.mark.parametrize("with_tsa", [True, False])
def test_the_reserved_space_fits_the_seal_closely(
    receipt_pdf: bytes, identity: SealIdentity, tsa: LocalTimestampAuthority, with_tsa: bool
) -> None:
    # Reserved bytes are zero padding that every verifier parses; too few would mean falling
    # back to pyHanko's dummy-signature measurement on every seal.
    sealed = seal_pdf(receipt_pdf, identity, tsa=tsa if with_tsa else None)
    reader, _ = _signature(sealed)
    reserved = reader.embedded_regular_signatures[0].pkcs7_content
    used = len(cms.ContentInfo.load(bytes(reserved)).dump())
    assert 0 < len(reserved) - used < 256
