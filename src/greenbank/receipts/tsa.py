"""Timestamp authorities (RFC 3161) for receipt signatures.

A timestamp token proves the seal existed at a time vouched for by a third party, which keeps
the receipt verifiable after the seal certificate expires (PAdES B-T). ``seal_pdf`` accepts
any ``TimestampAuthority``: production wraps the bank's or a CA's TSA (pyHanko's
``HTTPTimeStamper``); development and tests use ``LocalTimestampAuthority``, which answers in
process with the TSA certificate from the dev PKI.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from asn1crypto import cms, core, tsp  # type: ignore[import-untyped]
from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from greenbank.receipts.cms_signers import ess_signing_certificate
from greenbank.receipts.pki import cert_store, read_tsa, to_asn1


def _attribute(name: str, value: object) -> Any:
    return cms.CMSAttribute({"type": name, "values": (value,)})


class TimestampAuthority(Protocol):
    """Hands pyHanko the ``TimeStamper`` to ask for a signature timestamp token."""

    def timestamper(self) -> TimeStamper: ...


class LocalTimestampAuthority(DummyTimeStamper):
    """An in-process TSA for development and tests (pyHanko's dummy TSA, RSA keys only)."""

    def __init__(
        self,
        key: rsa.RSAPrivateKey,
        cert: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
        *,
        fixed_time: datetime | None = None,
    ) -> None:
        der_key = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        super().__init__(
            tsa_cert=to_asn1(cert),
            tsa_key=asn1_keys.PrivateKeyInfo.load(der_key),
            certs_to_embed=cert_store(chain),
            fixed_dt=fixed_time,
        )
        self._key = key
        # Parsed once from DER: built from Python values, asn1crypto re-serialises them on
        # every dump (see cms_signers.ReceiptSigner).
        self._fixed_attributes = [
            cms.CMSAttribute.load(_attribute(name, value).dump())
            for name, value in (
                ("content_type", "tst_info"),
                (
                    "signing_certificate",
                    tsp.SigningCertificate.load(ess_signing_certificate(self.tsa_cert, v2=False)),
                ),
            )
        ]

    def _sign_tst_info(
        self, tst_info_data: bytes, md_algorithm: str, dt: datetime
    ) -> tuple[bytes, Any]:
        # pyHanko's version re-parses the RSA key for every token; OpenSSL's RSA key checks made
        # that ~30 ms, most of a seal. Same attributes, with the key object kept in memory.
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes(
            [
                *self._fixed_attributes,
                _attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
                _attribute("message_digest", digest.finalize()),
            ]
        )
        signature = self._key.sign(
            signed_attrs.dump(),
            padding.PKCS1v15(),
            get_pyca_cryptography_hash(md_algorithm.upper()),
        )
        return signature, signed_attrs

    @classmethod
    def from_directory(cls, directory: Path | str) -> LocalTimestampAuthority:
        key, cert, _root = read_tsa(directory)  # the root is the verifier's trust anchor
        return cls(key, cert)

    def timestamper(self) -> TimeStamper:
        return self

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> Any:
        # Hand pyHanko an unparsed token, as fresh from the wire: embedding an already parsed
        # asn1crypto tree makes it re-serialise every node, which cost more than the signature.
        token = await super().async_timestamp(message_digest, md_algorithm)
        return cms.ContentInfo.load(token.dump())
