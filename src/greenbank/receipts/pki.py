"""A development certificate hierarchy for the receipt seal.

One self-signed root CA issues two end-entity certificates: the *electronic receipt seal*
(digitalSignature + nonRepudiation, marked with our receipt-seal certificate policy so the
verifier can tell it from any other certificate under the same root) and a *timestamp
authority* (extended key usage timeStamping, critical, as RFC 3161 requires). The root and
the seal use ECDSA P-256, which Adobe Acrobat/Reader and Foxit validate. The TSA key is RSA
because pyHanko's in-process timestamper (our dev TSA) signs with RSA only. The SM2/SM3 seal's
hierarchy lives beside this one (``sm2_pki``) and shares its TSA.

Production replaces this directory with certificates from the bank's CA (or CFCA); the file
layout stays the same so ``load_seal_identity`` and ``load_trust_roots`` keep working.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from asn1crypto import keys as asn1_keys  # type: ignore[import-untyped]
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko_certvalidator.registry import SimpleCertificateStore

from greenbank.errors import ConfigurationError
from greenbank.receipts.cms_signers import ReceiptSigner, Sm2Signer, Sm2SigningKey
from greenbank.receipts.gm_algorithms import SM3

# A UUID-derived OID (ITU-T X.667 arc 2.25) needs no registration; it marks a certificate as
# the bank's receipt seal, so a document signed by another certificate of ours is rejected.
RECEIPT_SEAL_POLICY_OID = x509.ObjectIdentifier("2.25.310344705445121195298448997747991489431")

ROOT_CERT = "root-ca.pem"
ROOT_KEY = "root-ca.key.pem"
SEAL_CERT = "seal.pem"
SEAL_KEY = "seal.key.pem"
TSA_CERT = "tsa.pem"
TSA_KEY = "tsa.key.pem"

ROOT_YEARS = 20
LEAF_YEARS = 5


@dataclass(frozen=True)
class PkiPaths:
    directory: Path
    root_cert: Path
    root_key: Path
    seal_cert: Path
    seal_key: Path
    tsa_cert: Path
    tsa_key: Path

    @classmethod
    def under(cls, directory: Path) -> PkiPaths:
        return cls(
            directory=directory,
            root_cert=directory / ROOT_CERT,
            root_key=directory / ROOT_KEY,
            seal_cert=directory / SEAL_CERT,
            seal_key=directory / SEAL_KEY,
            tsa_cert=directory / TSA_CERT,
            tsa_key=directory / TSA_KEY,
        )

    def files(self) -> tuple[Path, ...]:
        return (
            self.root_cert,
            self.root_key,
            self.seal_cert,
            self.seal_key,
            self.tsa_cert,
            self.tsa_key,
        )


@dataclass(frozen=True)
class Issuer:
    """A CA certificate and its key: what is needed to issue further certificates."""

    cert: x509.Certificate
    key: CertificateIssuerPrivateKeyTypes


@dataclass(frozen=True)
class SealIdentity:
    """The seal's key and certificate plus the chain up to (and including) the root.

    The key is ECDSA (or RSA) for the default seal, or an SM2 key for the SM2/SM3 seal
    (``sm2_pki``); the certificates are ``cryptography`` objects either way (it parses SM2
    certificates, it only cannot check their signatures).
    """

    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | Sm2SigningKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...]

    @property
    def digest_algorithm(self) -> str:
        """SHA-256, or SM3 for an SM2 seal (the signature mechanism fixes it)."""
        if isinstance(self.key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            return "sha256"
        return SM3

    @cached_property
    def signer(self) -> ReceiptSigner | Sm2Signer:
        """The pyHanko signer, built once per identity (loading keys is a hot spot)."""
        if not isinstance(self.key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            return Sm2Signer(
                key=self.key, signing_cert=to_asn1(self.cert), cert_registry=cert_store(self.chain)
            )
        der_key = self.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return ReceiptSigner(
            signing_cert=to_asn1(self.cert),
            signing_key=asn1_keys.PrivateKeyInfo.load(der_key),
            cert_registry=cert_store(self.chain),
            # The verifier brings the root as its trust anchor; embedding it only adds bytes
            # that every reader has to parse.
            embed_roots=False,
        )


def to_asn1(cert: x509.Certificate) -> Any:
    """The asn1crypto form pyHanko works with (asn1crypto ships no type hints)."""
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def cert_store(certs: Iterable[x509.Certificate]) -> SimpleCertificateStore:
    store = SimpleCertificateStore()  # type: ignore[no-untyped-call]
    for cert in certs:
        store.register(to_asn1(cert))
    return store


def distinguished_name(common_name: str, bank_name: str, unit: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, bank_name),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(*, sign: bool = False, nonrep: bool = False, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=nonrep,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _builder(
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
    issuer: Issuer | None,
    not_before: datetime,
    not_after: datetime,
) -> x509.CertificateBuilder:
    issuer_name = subject if issuer is None else issuer.cert.subject
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if issuer is not None:
        ski = issuer.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value)
        builder = builder.add_extension(aki, critical=False)
    return builder


def create_root(bank_name: str, *, now: datetime | None = None) -> Issuer:
    """A self-signed root that may issue end-entity certificates only (pathlen 0)."""
    now = now or datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = distinguished_name(f"{bank_name} Receipt Root CA", bank_name, "Electronic Receipts")
    cert = (
        _builder(
            subject,
            key.public_key(),
            None,
            now - timedelta(minutes=5),
            years_after(now, ROOT_YEARS),
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Issuer(cert=cert, key=key)


def issue_seal(
    ca: Issuer,
    bank_name: str,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    receipt_policy: bool = True,
) -> SealIdentity:
    """Issue an electronic-receipt seal certificate (a past ``not_after`` makes an expired one).

    Without the receipt policy it is an ordinary document-signing certificate of the bank,
    which verification must not accept as a receipt seal.
    """
    start = not_before or datetime.now(UTC) - timedelta(minutes=5)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = distinguished_name(
        f"{bank_name} 电子回单专用章", bank_name, "Electronic Receipt Seal"
    )
    builder = (
        _builder(subject, key.public_key(), ca, start, not_after or years_after(start, LEAF_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(sign=True, nonrep=True), critical=True)
    )
    if receipt_policy:
        policy = x509.PolicyInformation(RECEIPT_SEAL_POLICY_OID, None)
        builder = builder.add_extension(x509.CertificatePolicies([policy]), critical=False)
    cert = builder.sign(ca.key, hashes.SHA256())
    return SealIdentity(key=key, cert=cert, chain=(ca.cert,))


def issue_tsa(ca: Issuer, bank_name: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    start = datetime.now(UTC) - timedelta(minutes=5)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = distinguished_name(f"{bank_name} Timestamp Authority", bank_name, "Timestamping")
    cert = (
        _builder(subject, key.public_key(), ca, start, years_after(start, LEAF_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(sign=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(ca.key, hashes.SHA256())
    )
    return key, cert


def init_pki(directory: Path | str, bank_name: str) -> PkiPaths:
    """Create the dev hierarchy under ``directory``; an existing complete one is kept as is."""
    paths = PkiPaths.under(Path(directory))
    present = [p.exists() for p in paths.files()]
    if all(present):
        return paths
    if any(present):
        raise ConfigurationError(f"{paths.directory} holds an incomplete receipt PKI; remove it")
    paths.directory.mkdir(parents=True, exist_ok=True)
    root = create_root(bank_name)
    seal = issue_seal(root, bank_name)
    tsa_key, tsa_cert = issue_tsa(root, bank_name)
    _write_cert(paths.root_cert, root.cert)
    _write_key(paths.root_key, root.key)
    _write_cert(paths.seal_cert, seal.cert)
    assert isinstance(seal.key, ec.EllipticCurvePrivateKey)  # issue_seal's own key
    _write_key(paths.seal_key, seal.key)
    _write_cert(paths.tsa_cert, tsa_cert)
    _write_key(paths.tsa_key, tsa_key)
    return paths


def load_root(directory: Path | str) -> Issuer:
    paths = PkiPaths.under(Path(directory))
    key = _read_key(paths.root_key)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ConfigurationError(f"{paths.root_key} is not an EC or RSA key")
    return Issuer(cert=read_cert(paths.root_cert), key=key)


def load_seal_identity(directory: Path | str) -> SealIdentity:
    paths = PkiPaths.under(Path(directory))
    key = _read_key(paths.seal_key)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ConfigurationError(f"{paths.seal_key} is not an EC or RSA key")
    return SealIdentity(
        key=key, cert=read_cert(paths.seal_cert), chain=(read_cert(paths.root_cert),)
    )


def load_trust_roots(directory: Path | str) -> list[x509.Certificate]:
    return [read_cert(PkiPaths.under(Path(directory)).root_cert)]


def read_tsa(directory: Path | str) -> tuple[rsa.RSAPrivateKey, x509.Certificate, x509.Certificate]:
    """The TSA key, its certificate and the root that issued it."""
    paths = PkiPaths.under(Path(directory))
    key = _read_key(paths.tsa_key)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError(f"{paths.tsa_key} is not an RSA key")
    return key, read_cert(paths.tsa_cert), read_cert(paths.root_cert)


def years_after(start: datetime, years: int) -> datetime:
    return start + timedelta(days=365 * years)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _write_key(path: Path, key: CertificateIssuerPrivateKeyTypes) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private_pem(path, pem)


def write_private_pem(path: Path, pem: bytes) -> None:
    """A private key file readable by its owner only (0600, also when it existed)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, pem)
    finally:
        os.close(fd)


def read_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read certificate {path}: {exc}") from exc


def _read_key(path: Path) -> object:
    try:
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigurationError(f"cannot read private key {path}: {exc}") from exc
