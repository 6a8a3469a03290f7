"""The pyHanko signers of the receipt seal: ECDSA/RSA keys in memory, and SM2 over greenbank.crypto.

Both build the same CMS (signed attributes, signer's chain without the root) and share two fixes
for asn1crypto re-encoding traps that otherwise dominate the cost of a seal (see the README's
Performance section). The SM2 signer signs the DER of the signed attributes with SM2 — SM3 over
Z(distinguishing ID, public key) || attributes — with SM3 as the CMS digest (GM/T 0010).
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from typing import Any, Protocol

from asn1crypto import cms, tsp  # type: ignore[import-untyped]
from pyhanko.sign.attributes import SigningCertificateV2Provider
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import Signer, SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

from greenbank.crypto import DEFAULT_UID, SM2PublicKey
from greenbank.receipts.gm_algorithms import SM2_SIGNATURE_MAX_SIZE, SM3, sm2_with_sm3


class _DefiniteLengthSignerInfo(cms.SignerInfo):  # type: ignore[misc]
    """A SignerInfo that asn1crypto does not mistake for a BER indefinite-length value.

    asn1crypto re-encodes a value from scratch ("force") when its cached header ends in 0x80,
    meant for the indefinite-length marker ``30 80`` but also true of definite long-form lengths
    such as ``30 82 07 80`` (asn1crypto issue #249). pyHanko dumps the SignerInfo several times
    while packaging the CMS, and each forced re-encoding of the signed attributes is superlinear:
    ~30 ms whenever the signature and timestamp sizes add up to such a length (about one seal in
    five with the dev PKI). A header longer than two bytes is a definite length, so the cached
    header is dropped and rebuilt from the (unchanged) contents instead.
    """

    def dump(self, force: bool = False) -> bytes:
        header: bytes | None = self._header  # type: ignore[has-type]
        if not force and header is not None and len(header) > 2 and header[-1:] == b"\x80":
            self._header = None
        result: bytes = super().dump(force)
        return result


def ess_signing_certificate(cert: Any, *, v2: bool = True) -> bytes:
    """DER of a signing-certificate(-v2) attribute value naming ``cert`` by its hash alone.

    The hash (SHA-256, or SHA-1 for the v1 attribute TSAs use) is what binds the certificate;
    issuerSerial is OPTIONAL (RFC 5035) and only a hint, and matching it costs every verifier an
    LDAP-stringprep comparison of the issuer's name per check (~0.35 ms each, five per receipt).
    pyHanko still compares the hash.
    """
    if v2:
        cert_id = tsp.ESSCertIDv2({"cert_hash": hashlib.sha256(cert.dump()).digest()})
        return bytes(tsp.SigningCertificateV2({"certs": [cert_id]}).dump())
    cert_id = tsp.ESSCertID({"cert_hash": hashlib.sha1(cert.dump()).digest()})  # noqa: S324
    return bytes(tsp.SigningCertificate({"certs": [cert_id]}).dump())


class _ParsedSigningCertificateV2(SigningCertificateV2Provider):
    """The signing-certificate-v2 value parsed from DER rather than built from Python values.

    A value asn1crypto built from Python values is re-serialised, subtree by subtree, every time
    it or a container is dumped (~3 ms a dump for pyHanko's, and a seal dumps it several times);
    a parsed value keeps its bytes. The value depends on the certificate only.
    """

    def __init__(self, signing_cert: Any, der: bytes) -> None:
        super().__init__(signing_cert)
        self._der = der

    async def build_attr_value(self, dry_run: bool = False) -> Any:
        return tsp.SigningCertificateV2.load(self._der)


class _ReceiptCms(Signer):
    """The two re-encoding fixes, for any pyHanko signer placed after it in the bases."""

    @cached_property
    def _signing_certificate_v2(self) -> bytes:
        return ess_signing_certificate(self.signing_cert)

    def _signed_attr_providers(self, *args: Any, **kwargs: Any) -> Any:
        for provider in super()._signed_attr_providers(*args, **kwargs):
            if type(provider) is SigningCertificateV2Provider and (
                provider.signing_cert is self.signing_cert
            ):
                yield _ParsedSigningCertificateV2(
                    provider.signing_cert, self._signing_certificate_v2
                )
            else:
                yield provider

    def signer_info(self, digest_algorithm: str, signed_attrs: Any, signature: bytes) -> Any:
        info = super().signer_info(digest_algorithm, signed_attrs, signature)
        return _DefiniteLengthSignerInfo.load(info.dump())


class ReceiptSigner(_ReceiptCms, SimpleSigner):
    """pyHanko's in-memory signer (ECDSA or RSA), minus the two re-encoding traps."""


class Sm2SigningKey(Protocol):
    """What the SM2 seal needs of its private key: ``greenbank.crypto.SM2PrivateKey`` in
    development; in production, a wrapper around the bank's signing device (an SDF/SKF
    cryptographic module or a PKCS#11 HSM) that never exports the key."""

    def sign(self, message: bytes, uid: bytes = DEFAULT_UID) -> bytes: ...

    def public_key(self) -> SM2PublicKey: ...


class Sm2Signer(_ReceiptCms):
    """A pyHanko signer whose mechanism is SM2 with SM3 (``sm2sign-with-sm3``, digest SM3)."""

    def __init__(
        self,
        *,
        key: Sm2SigningKey,
        signing_cert: Any,
        cert_registry: SimpleCertificateStore,
        uid: bytes = DEFAULT_UID,
    ) -> None:
        super().__init__(
            signing_cert=signing_cert,
            cert_registry=cert_registry,
            signature_mechanism=sm2_with_sm3(),
            embed_roots=False,  # the verifier brings the root as its trust anchor
        )
        self._key = key
        self._uid = uid

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if digest_algorithm != SM3:
            raise SigningError(f"an SM2 seal signs with SM3, not {digest_algorithm}")
        if dry_run:
            return bytes(SM2_SIGNATURE_MAX_SIZE)
        return self._key.sign(data, self._uid)
