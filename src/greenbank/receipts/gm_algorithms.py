"""The GM/T algorithms (SM2, SM3) taught to asn1crypto and pyHanko, for the SM2 receipt seal.

asn1crypto knows neither SM3 nor SM2, and pyHanko verifies signatures through ``cryptography``,
which refuses SM2 keys. Importing this module registers the OIDs below with asn1crypto (once,
process-wide), so a CMS or a certificate can name ``sm3`` and ``sm2sign_with_sm3`` and pyHanko
finds ``cryptography``'s SM3 by that name. :class:`GmSignatureValidator` then checks SM2
signatures — certificate signatures during path validation and the CMS signature alike — with
``greenbank.crypto`` and leaves every other algorithm to pyHanko's own validator.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from asn1crypto import algos, keys  # type: ignore[import-untyped]
from cryptography.exceptions import InvalidSignature
from pyhanko_certvalidator.sig_validate import (
    DEFAULT_VALIDATION_CONTEXT,
    DefaultSignatureValidator,
    SignatureValidationContext,
)

from greenbank.crypto import DEFAULT_UID, CryptoError, SM2PublicKey

SM3_OID = "1.2.156.10197.1.401"
SM2_CURVE_OID = "1.2.156.10197.1.301"  # the curve, under id-ecPublicKey (GM/T 0006)
SM2_WITH_SM3_OID = "1.2.156.10197.1.501"  # sm2sign-with-sm3: certificates and our CMS
SM2_1_OID = "1.2.156.10197.1.301.1"  # GM/T 0010's "sm2-1" name for the CMS signature

SM3 = "sm3"
SM2_CURVE = "sm2p256v1"
SM2_WITH_SM3 = "sm2sign_with_sm3"
SM2_1 = "sm2_1"
SM2_SIGNATURE_MAX_SIZE = 72  # DER SEQUENCE { r, s } of two 256-bit integers, each maybe 33 bytes
_SM2_SIGNATURES = frozenset({SM2_WITH_SM3, SM2_1})


def _register(oid_class: Any, dotted: str, name: str) -> None:
    """What ``keys.NamedCurve.register`` does for curves, for any asn1crypto OID class."""
    oid_class._map.setdefault(dotted, name)
    if oid_class._reverse_map is not None:
        oid_class._reverse_map.setdefault(name, dotted)


_register(algos.DigestAlgorithmId, SM3_OID, SM3)
_register(algos.SignedDigestAlgorithmId, SM2_WITH_SM3_OID, SM2_WITH_SM3)
_register(algos.SignedDigestAlgorithmId, SM2_1_OID, SM2_1)
if SM2_CURVE_OID not in keys.NamedCurve._map:
    keys.NamedCurve.register(SM2_CURVE, SM2_CURVE_OID, 32)


def sm2_with_sm3() -> Any:
    """The signature algorithm identifier: no parameters (GM/T 0015), like ECDSA's."""
    return algos.SignedDigestAlgorithm({"algorithm": SM2_WITH_SM3})


def is_sm2_signature(signature_algorithm: Any) -> bool:
    return signature_algorithm["algorithm"].native in _SM2_SIGNATURES


@lru_cache(maxsize=64)
def _public_key(spki_der: bytes) -> SM2PublicKey:
    """Parsed once per key: a receipt's seal and root keys are checked on every verification."""
    return SM2PublicKey.from_der(spki_der)


class GmSignatureValidator(DefaultSignatureValidator):
    """pyHanko's signature validator, plus SM2 with SM3 over greenbank.crypto.

    SM2 signs SM3(Z || message), Z binding the signer's distinguishing ID and public key, so
    there is no "pre-hashed" form to check, and the CMS digest must be SM3 as well.
    """

    def __init__(self, uid: bytes = DEFAULT_UID) -> None:
        self.uid = uid

    def validate_signature(
        self,
        signature: bytes,
        signed_data: bytes,
        public_key_info: Any,
        signature_algorithm: Any,
        context: SignatureValidationContext = DEFAULT_VALIDATION_CONTEXT,
    ) -> None:
        if not is_sm2_signature(signature_algorithm):
            super().validate_signature(
                signature, signed_data, public_key_info, signature_algorithm, context
            )
            return
        if context.prehashed or context.contextual_md_algorithm not in (None, SM3):
            raise InvalidSignature("SM2 signs SM3(Z || message), with SM3 as the CMS digest")
        try:
            key = _public_key(public_key_info.dump())
        except CryptoError as exc:
            raise InvalidSignature(f"not an SM2 public key: {exc}") from exc
        if not key.verify(signature, signed_data, self.uid):
            raise InvalidSignature("the SM2 signature does not verify")


GM_SIGNATURE_VALIDATOR = GmSignatureValidator()
