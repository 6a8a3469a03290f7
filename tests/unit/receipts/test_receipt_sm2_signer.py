"""The SM2 pyHanko signer and the SM2-aware signature validator, on their own."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asn1crypto import algos, keys  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign.general import SigningError
from pyhanko_certvalidator.sig_validate import SignatureValidationContext

from greenbank.crypto import DEFAULT_UID, SM2PrivateKey, SM2PublicKey
from greenbank.receipts.cms_signers import Sm2Signer
from greenbank.receipts.gm_algorithms import (
    SM2_1,
    SM2_SIGNATURE_MAX_SIZE,
    GmSignatureValidator,
    sm2_with_sm3,
)
from greenbank.receipts.pki import SealIdentity
from greenbank.receipts.signing import seal_pdf
from greenbank.receipts.verify import Reason, verify_receipt_pdf

DATA = b"signed attributes"


def _signer(identity: SealIdentity) -> Sm2Signer:
    signer = identity.signer
    assert isinstance(signer, Sm2Signer)
    return signer


def _spki(key: SM2PrivateKey) -> Any:
    return keys.PublicKeyInfo.load(key.public_key().to_der())


def test_the_seal_identity_picks_the_sm2_signer_and_sm3(sm2_identity: SealIdentity) -> None:
    signer = _signer(sm2_identity)
    assert sm2_identity.digest_algorithm == "sm3"
    mechanism = signer.get_signature_mechanism_for_digest("sm3")
    assert mechanism.dump() == bytes.fromhex("300a06082a811ccf55018375")  # 1.2.156.10197.1.501
    assert algos.DigestAlgorithm({"algorithm": "sm3"}).dump() == bytes.fromhex(
        "300a06082a811ccf55018311"  # 1.2.156.10197.1.401, no parameters
    )


def test_the_raw_signature_is_sm2_over_the_data_with_the_default_id(
    sm2_identity: SealIdentity,
) -> None:
    signature = asyncio.run(_signer(sm2_identity).async_sign_raw(DATA, "sm3"))
    assert isinstance(sm2_identity.key, SM2PrivateKey)
    public = sm2_identity.key.public_key()
    assert public.verify(signature, DATA, DEFAULT_UID)
    assert not public.verify(signature, DATA, b"another id")
    assert len(signature) <= SM2_SIGNATURE_MAX_SIZE


def test_the_signer_refuses_another_digest(sm2_identity: SealIdentity) -> None:
    with pytest.raises(SigningError):
        asyncio.run(_signer(sm2_identity).async_sign_raw(DATA, "sha256"))


def test_a_dry_run_reserves_the_largest_signature(sm2_identity: SealIdentity) -> None:
    dummy = asyncio.run(_signer(sm2_identity).async_sign_raw(DATA, "sm3", dry_run=True))
    assert dummy == bytes(SM2_SIGNATURE_MAX_SIZE)


class DeviceKey:
    """A stand-in for an HSM-held key: signs on request, never hands out the private key."""

    def __init__(self, key: SM2PrivateKey) -> None:
        self._key = key
        self.signed = 0

    def sign(self, message: bytes, uid: bytes = DEFAULT_UID) -> bytes:
        self.signed += 1
        return self._key.sign(message, uid)

    def public_key(self) -> SM2PublicKey:
        return self._key.public_key()


def test_any_sm2_signing_key_can_seal(
    receipt_pdf: bytes, sm2_identity: SealIdentity, sm2_trust_roots: list[x509.Certificate]
) -> None:
    assert isinstance(sm2_identity.key, SM2PrivateKey)
    device = DeviceKey(sm2_identity.key)
    identity = SealIdentity(key=device, cert=sm2_identity.cert, chain=sm2_identity.chain)
    result = verify_receipt_pdf(seal_pdf(receipt_pdf, identity), sm2_trust_roots)
    assert result.reason == Reason.OK and device.signed == 1


def test_the_validator_checks_sm2_signatures() -> None:
    key = SM2PrivateKey.generate()
    validator = GmSignatureValidator()
    signature = key.sign(DATA)
    validator.validate_signature(signature, DATA, _spki(key), sm2_with_sm3())
    sm2_1 = algos.SignedDigestAlgorithm({"algorithm": SM2_1})  # GM/T 0010's name, 301.1
    validator.validate_signature(signature, DATA, _spki(key), sm2_1)
    with pytest.raises(InvalidSignature):
        validator.validate_signature(signature, DATA + b"!", _spki(key), sm2_with_sm3())
    with pytest.raises(InvalidSignature):
        validator.validate_signature(
            signature, DATA, _spki(SM2PrivateKey.generate()), sm2_with_sm3()
        )
    with pytest.raises(InvalidSignature):
        GmSignatureValidator(uid=b"another id").validate_signature(
            signature, DATA, _spki(key), sm2_with_sm3()
        )


@pytest.mark.parametrize(
    "context",
    [
        SignatureValidationContext(contextual_md_algorithm="sha256"),
        SignatureValidationContext(contextual_md_algorithm="sm3", prehashed=True),
    ],
)
def test_the_validator_refuses_sm2_with_another_digest_or_a_bare_digest(
    context: SignatureValidationContext,
) -> None:
    key = SM2PrivateKey.generate()
    with pytest.raises(InvalidSignature):
        GmSignatureValidator().validate_signature(
            key.sign(DATA), DATA, _spki(key), sm2_with_sm3(), context
        )


def test_the_validator_refuses_an_sm2_claim_over_an_ecdsa_key() -> None:
    ecdsa = ec.generate_private_key(ec.SECP256R1())
    spki = keys.PublicKeyInfo.load(
        ecdsa.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    signature = ecdsa.sign(DATA, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        GmSignatureValidator().validate_signature(signature, DATA, spki, sm2_with_sm3())
    # the same signature under its own algorithm is left to pyHanko, and passes
    sha256_ecdsa = algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})
    GmSignatureValidator().validate_signature(signature, DATA, spki, sha256_ecdsa)
