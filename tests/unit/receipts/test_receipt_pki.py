"""The dev certificate hierarchy: files, permissions, extensions and idempotence."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from greenbank.errors import ConfigurationError
from greenbank.receipts.pki import (
    RECEIPT_SEAL_POLICY_OID,
    PkiPaths,
    SealIdentity,
    init_pki,
    load_trust_roots,
)
from greenbank.receipts.tsa import LocalTimestampAuthority


def test_private_keys_are_readable_by_the_owner_only(pki_dir: Path) -> None:
    paths = PkiPaths.under(pki_dir)
    for key in (paths.root_key, paths.seal_key, paths.tsa_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_the_seal_chains_to_the_root(identity: SealIdentity, pki_dir: Path) -> None:
    (root,) = load_trust_roots(pki_dir)
    identity.cert.verify_directly_issued_by(root)
    assert identity.chain == (root,)
    assert isinstance(identity.key.public_key(), ec.EllipticCurvePublicKey)
    assert identity.key.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    basic = root.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic.ca and basic.path_length == 0


def test_the_seal_certificate_is_for_non_repudiation_and_marked_as_receipt_seal(
    identity: SealIdentity,
) -> None:
    usage = identity.cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    policies = identity.cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier for p in policies] == [RECEIPT_SEAL_POLICY_OID]


def test_the_tsa_certificate_is_for_timestamping_only(pki_dir: Path) -> None:
    cert = x509.load_pem_x509_certificate(PkiPaths.under(pki_dir).tsa_cert.read_bytes())
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    assert LocalTimestampAuthority.from_directory(pki_dir).timestamper() is not None


def test_init_keeps_an_existing_hierarchy(pki_dir: Path) -> None:
    before = PkiPaths.under(pki_dir).root_cert.read_bytes()
    init_pki(pki_dir, "another name")
    assert PkiPaths.under(pki_dir).root_cert.read_bytes() == before


def test_init_refuses_an_incomplete_hierarchy(tmp_path: Path) -> None:
    paths = init_pki(tmp_path / "pki", "银行")
    paths.seal_key.unlink()
    with pytest.raises(ConfigurationError):
        init_pki(paths.directory, "银行")


def test_loading_from_an_empty_directory_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        load_trust_roots(tmp_path)
