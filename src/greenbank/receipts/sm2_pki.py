"""The SM2/SM3 seal's certificate hierarchy: an SM2 root CA issuing an SM2 receipt seal.

It lives in ``<pki>/sm2/`` beside the default ECDSA hierarchy (``pki``), whose TSA it shares
(the TSA is a separate authority). The verifier trusts every root installed
(``installed_trust_roots``), so receipts sealed before a change of ``receipt_seal_algorithm``
keep verifying.

``cryptography`` cannot sign with SM2, so the certificates are built with asn1crypto and the TBS
is signed with ``greenbank.crypto`` (sm2sign-with-sm3, 1.2.156.10197.1.501, parameters absent;
the SM2 key is id-ecPublicKey on the curve 1.2.156.10197.1.301; the distinguishing ID is the
GM/T 0009 default), as GM/T 0015 / GB/T 20518 describe. Names, extensions and the receipt-seal
policy are those of the ECDSA hierarchy, so the same verifier rules apply to both.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asn1crypto import keys as asn1_keys  # type: ignore[import-untyped]
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from greenbank.crypto import CryptoError, SM2PrivateKey, SM2PublicKey
from greenbank.errors import ConfigurationError
from greenbank.receipts.gm_algorithms import sm2_with_sm3
from greenbank.receipts.pki import (
    LEAF_YEARS,
    RECEIPT_SEAL_POLICY_OID,
    ROOT_CERT,
    ROOT_KEY,
    ROOT_YEARS,
    SEAL_CERT,
    SEAL_KEY,
    PkiPaths,
    SealIdentity,
    distinguished_name,
    load_seal_identity,
    read_cert,
    write_private_pem,
    years_after,
)

SM2_DIR = "sm2"
_UTC_TIME_LIMIT = datetime(2050, 1, 1, tzinfo=UTC)  # RFC 5280: GeneralizedTime from 2050 on


class SealAlgorithm(enum.StrEnum):
    """The ``receipt_seal_algorithm`` setting: which hierarchy seals new receipts."""

    ECDSA_P256 = "ecdsa-p256"  # validated by the common PDF readers
    SM2_SM3 = "sm2-sm3"  # validated by GM (national cryptography) readers and our verifier


@dataclass(frozen=True)
class Sm2PkiPaths:
    directory: Path
    root_cert: Path
    root_key: Path
    seal_cert: Path
    seal_key: Path

    @classmethod
    def under(cls, pki_dir: Path) -> Sm2PkiPaths:
        """The SM2 files inside the PKI directory ``pki_dir`` (the ECDSA one's files stay put)."""
        directory = pki_dir / SM2_DIR
        return cls(
            directory=directory,
            root_cert=directory / ROOT_CERT,
            root_key=directory / ROOT_KEY,
            seal_cert=directory / SEAL_CERT,
            seal_key=directory / SEAL_KEY,
        )

    def files(self) -> tuple[Path, ...]:
        return (self.root_cert, self.root_key, self.seal_cert, self.seal_key)


@dataclass(frozen=True)
class Sm2Issuer:
    cert: x509.Certificate
    key: SM2PrivateKey


def _time(moment: datetime) -> Any:
    kind = "utc_time" if moment < _UTC_TIME_LIMIT else "general_time"
    return asn1_x509.Time({kind: moment.astimezone(UTC).replace(microsecond=0)})


def _key_identifier(public_key: SM2PublicKey) -> bytes:
    """RFC 5280 method (1): SHA-1 of the public key bits, as ``cryptography`` computes it."""
    return hashlib.sha1(public_key.to_raw(), usedforsecurity=False).digest()


def _extension(name: str, value: object, *, critical: bool = False) -> dict[str, object]:
    # asn1crypto leaves out DER defaults (critical FALSE, cA FALSE), as strict parsers require
    return {"extn_id": name, "critical": critical, "extn_value": value}


def _certificate(
    subject: x509.Name,
    public_key: SM2PublicKey,
    issuer: Sm2Issuer | None,
    signing_key: SM2PrivateKey,
    validity: tuple[datetime, datetime],
    extensions: list[dict[str, object]],
) -> x509.Certificate:
    """Build the TBSCertificate, sign its DER with SM2, return the parsed certificate."""
    ski = _key_identifier(public_key)
    if issuer is None:
        aki = ski
    else:
        aki = issuer.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": x509.random_serial_number(),
            "signature": sm2_with_sm3(),
            "issuer": asn1_x509.Name.load(
                (issuer.cert.subject if issuer else subject).public_bytes()
            ),
            "validity": {"not_before": _time(validity[0]), "not_after": _time(validity[1])},
            "subject": asn1_x509.Name.load(subject.public_bytes()),
            "subject_public_key_info": asn1_keys.PublicKeyInfo.load(public_key.to_der()),
            "extensions": [
                *extensions,
                _extension("key_identifier", ski),
                _extension("authority_key_identifier", {"key_identifier": aki}),
            ],
        }
    )
    cert = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": sm2_with_sm3(),
            "signature_value": signing_key.sign(tbs.dump()),
        }
    )
    return x509.load_der_x509_certificate(cert.dump())


def create_sm2_root(bank_name: str, *, now: datetime | None = None) -> Sm2Issuer:
    """A self-signed SM2 root that may issue end-entity certificates only (pathlen 0)."""
    now = now or datetime.now(UTC)
    key = SM2PrivateKey.generate()
    subject = distinguished_name(
        f"{bank_name} Receipt Root CA (SM2)", bank_name, "Electronic Receipts"
    )
    cert = _certificate(
        subject,
        key.public_key(),
        None,
        key,
        (now - timedelta(minutes=5), years_after(now, ROOT_YEARS)),
        [
            _extension("basic_constraints", {"ca": True, "path_len_constraint": 0}, critical=True),
            _extension("key_usage", {"key_cert_sign", "crl_sign"}, critical=True),
        ],
    )
    return Sm2Issuer(cert=cert, key=key)


def issue_sm2_seal(
    ca: Sm2Issuer,
    bank_name: str,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    receipt_policy: bool = True,
) -> SealIdentity:
    """The SM2 twin of ``pki.issue_seal`` (same subject, usages and receipt-seal policy)."""
    start = not_before or datetime.now(UTC) - timedelta(minutes=5)
    key = SM2PrivateKey.generate()
    extensions = [
        _extension("basic_constraints", {"ca": False}, critical=True),
        _extension("key_usage", {"digital_signature", "non_repudiation"}, critical=True),
    ]
    if receipt_policy:
        policy = {"policy_identifier": RECEIPT_SEAL_POLICY_OID.dotted_string}
        extensions.append(_extension("certificate_policies", [policy]))
    cert = _certificate(
        distinguished_name(f"{bank_name} 电子回单专用章", bank_name, "Electronic Receipt Seal"),
        key.public_key(),
        ca,
        ca.key,
        (start, not_after or years_after(start, LEAF_YEARS)),
        extensions,
    )
    return SealIdentity(key=key, cert=cert, chain=(ca.cert,))


def init_sm2_pki(pki_dir: Path | str, bank_name: str) -> Sm2PkiPaths:
    """Create the SM2 hierarchy under ``pki_dir/sm2``; an existing complete one is kept."""
    paths = Sm2PkiPaths.under(Path(pki_dir))
    present = [p.exists() for p in paths.files()]
    if all(present):
        return paths
    if any(present):
        raise ConfigurationError(f"{paths.directory} holds an incomplete SM2 seal PKI; remove it")
    paths.directory.mkdir(parents=True, exist_ok=True)
    root = create_sm2_root(bank_name)
    seal = issue_sm2_seal(root, bank_name)
    assert isinstance(seal.key, SM2PrivateKey)
    for cert, path in ((root.cert, paths.root_cert), (seal.cert, paths.seal_cert)):
        path.write_bytes(pem.armor("CERTIFICATE", cert.public_bytes(Encoding.DER)))
    write_private_pem(paths.root_key, root.key.to_pem())
    write_private_pem(paths.seal_key, seal.key.to_pem())
    return paths


def load_sm2_root(pki_dir: Path | str) -> Sm2Issuer:
    paths = Sm2PkiPaths.under(Path(pki_dir))
    return Sm2Issuer(cert=read_cert(paths.root_cert), key=_read_sm2_key(paths.root_key))


def load_sm2_seal_identity(pki_dir: Path | str) -> SealIdentity:
    paths = Sm2PkiPaths.under(Path(pki_dir))
    return SealIdentity(
        key=_read_sm2_key(paths.seal_key),
        cert=read_cert(paths.seal_cert),
        chain=(read_cert(paths.root_cert),),
    )


def load_identity(pki_dir: Path | str, algorithm: SealAlgorithm) -> SealIdentity:
    if algorithm is SealAlgorithm.SM2_SM3:
        return load_sm2_seal_identity(pki_dir)
    return load_seal_identity(pki_dir)


def installed_trust_roots(pki_dir: Path | str) -> list[x509.Certificate]:
    """Every seal root installed: the ECDSA root, and the SM2 root when there is one."""
    sm2_root = Sm2PkiPaths.under(Path(pki_dir)).root_cert
    roots = [read_cert(PkiPaths.under(Path(pki_dir)).root_cert)]
    return [*roots, read_cert(sm2_root)] if sm2_root.exists() else roots


def _read_sm2_key(path: Path) -> SM2PrivateKey:
    try:
        return SM2PrivateKey.from_pem(path.read_bytes())
    except (OSError, CryptoError) as exc:
        raise ConfigurationError(f"cannot read SM2 private key {path}: {exc}") from exc
