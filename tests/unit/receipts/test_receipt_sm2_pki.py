"""The SM2 seal hierarchy: layout beside the ECDSA one, certificate contents, signatures checked
by greenbank.crypto and, independently, by the system's OpenSSL."""

from __future__ import annotations

import io
import shutil
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.reader import PdfFileReader

from greenbank.crypto import DEFAULT_UID, SM2PublicKey
from greenbank.errors import ConfigurationError
from greenbank.receipts.pki import RECEIPT_SEAL_POLICY_OID, PkiPaths, SealIdentity
from greenbank.receipts.sm2_pki import (
    Sm2PkiPaths,
    create_sm2_root,
    init_sm2_pki,
    installed_trust_roots,
    load_sm2_root,
)

_OPENSSL = shutil.which("openssl")


def _asn1(cert: x509.Certificate) -> Any:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def _check_signature(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    parsed = _asn1(cert)
    key = SM2PublicKey.from_der(_asn1(issuer)["tbs_certificate"]["subject_public_key_info"].dump())
    return key.verify(parsed["signature_value"].native, parsed["tbs_certificate"].dump())


def test_the_sm2_files_sit_beside_the_ecdsa_hierarchy(sm2_pki_dir: Path) -> None:
    paths = Sm2PkiPaths.under(sm2_pki_dir)
    assert paths.directory == sm2_pki_dir / "sm2"
    assert all(p.exists() for p in PkiPaths.under(sm2_pki_dir).files())
    for key in (paths.root_key, paths.seal_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert [r.subject for r in installed_trust_roots(sm2_pki_dir)] == [
        x509.load_pem_x509_certificate(PkiPaths.under(sm2_pki_dir).root_cert.read_bytes()).subject,
        load_sm2_root(sm2_pki_dir).cert.subject,
    ]


def test_the_certificates_are_sm2_signed_with_sm3(
    sm2_identity: SealIdentity, sm2_pki_dir: Path
) -> None:
    root = load_sm2_root(sm2_pki_dir).cert
    assert sm2_identity.chain == (root,)
    for cert in (root, sm2_identity.cert):
        assert cert.signature_algorithm_oid.dotted_string == "1.2.156.10197.1.501"
        spki = _asn1(cert)["tbs_certificate"]["subject_public_key_info"]["algorithm"]
        assert (spki["algorithm"].dotted, spki["parameters"].chosen.dotted) == (
            "1.2.840.10045.2.1",
            "1.2.156.10197.1.301",
        )
        assert _asn1(cert)["signature_algorithm"]["parameters"].native is None
    assert _check_signature(root, root) and _check_signature(sm2_identity.cert, root)
    assert not _check_signature(sm2_identity.cert, sm2_identity.cert)


def test_the_extensions_match_the_ecdsa_hierarchy(
    sm2_identity: SealIdentity, sm2_pki_dir: Path
) -> None:
    root = load_sm2_root(sm2_pki_dir).cert
    basic = root.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0
    usage = sm2_identity.cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    leaf = sm2_identity.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert not leaf.ca
    policies = sm2_identity.cert.extensions.get_extension_for_class(x509.CertificatePolicies)
    assert [p.policy_identifier for p in policies.value] == [RECEIPT_SEAL_POLICY_OID]
    aki = sm2_identity.cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert aki.value.key_identifier == ski.value.digest


def test_validity_after_2049_is_a_generalized_time() -> None:
    root = create_sm2_root("银行", now=datetime(2045, 6, 1, tzinfo=UTC)).cert
    assert root.not_valid_after_utc.year == 2065
    validity = _asn1(root)["tbs_certificate"]["validity"]
    assert (validity["not_before"].name, validity["not_after"].name) == (
        "utc_time",
        "general_time",
    )


def test_init_keeps_a_complete_hierarchy_and_refuses_an_incomplete_one(tmp_path: Path) -> None:
    paths = init_sm2_pki(tmp_path, "银行")
    before = paths.root_cert.read_bytes()
    assert init_sm2_pki(tmp_path, "另一家").root_cert.read_bytes() == before
    assert not PkiPaths.under(tmp_path).root_cert.exists()  # the ECDSA files are not its job
    paths.seal_key.unlink()
    with pytest.raises(ConfigurationError, match="incomplete SM2"):
        init_sm2_pki(tmp_path, "银行")


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    assert _OPENSSL is not None
    return subprocess.run(
        [_OPENSSL, *map(str, args)], capture_output=True, text=True, timeout=30, check=False
    )


def _openssl_has_sm2() -> bool:
    if _OPENSSL is None:
        return False
    listed = _openssl("list", "-public-key-algorithms")
    return listed.returncode == 0 and "SM2" in listed.stdout


needs_openssl_sm2 = pytest.mark.skipif(
    not _openssl_has_sm2(), reason="no openssl command with SM2 on this machine"
)


def _verify_with_openssl(key_der: bytes, data: bytes, signature: bytes, tmp: Path) -> bool:
    """``openssl pkeyutl``: SM2 verification over SM3(Z(uid, key) || data), uid the default."""
    (tmp / "key.der").write_bytes(key_der)
    (tmp / "data").write_bytes(data)
    (tmp / "sig").write_bytes(signature)
    done = _openssl(
        *("pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", tmp / "key.der"),
        *("-rawin", "-digest", "sm3", "-in", tmp / "data", "-sigfile", tmp / "sig"),
        *("-pkeyopt", f"distid:{DEFAULT_UID.decode()}"),
    )
    return done.returncode == 0 and "Verified Successfully" in done.stdout


@needs_openssl_sm2
def test_openssl_reads_and_verifies_the_certificates(sm2_pki_dir: Path, tmp_path: Path) -> None:
    paths = Sm2PkiPaths.under(sm2_pki_dir)
    text = _openssl("x509", "-in", paths.seal_cert, "-noout", "-text").stdout
    assert text.count("Signature Algorithm: SM2-with-SM3") == 2 and "ASN1 OID: SM2" in text
    # OpenSSL 3.0 checks SM2 certificate signatures with an empty ID unless told the GM/T one
    distid = f"distid:{DEFAULT_UID.decode()}"
    chained = _openssl("verify", "-vfyopt", distid, "-CAfile", paths.root_cert, paths.seal_cert)
    assert chained.returncode == 0 and ": OK" in chained.stdout, chained.stderr
    without_id = _openssl("verify", "-CAfile", paths.root_cert, paths.seal_cert)
    assert without_id.returncode != 0
    # the root's self-signature, which `openssl verify` checks only with the empty ID
    root = _asn1(load_sm2_root(sm2_pki_dir).cert)
    spki = root["tbs_certificate"]["subject_public_key_info"].dump()
    tbs, signature = root["tbs_certificate"].dump(), root["signature_value"].native
    assert _verify_with_openssl(spki, tbs, signature, tmp_path)
    assert not _verify_with_openssl(spki, tbs + b"\x00", signature, tmp_path)


@needs_openssl_sm2
def test_openssl_verifies_the_cms_signature_of_a_sealed_receipt(
    sm2_sealed_pdf: bytes, sm2_identity: SealIdentity, tmp_path: Path
) -> None:
    info = PdfFileReader(io.BytesIO(sm2_sealed_pdf)).embedded_regular_signatures[0].signer_info
    signed_attributes = info["signed_attrs"].untag().dump()  # as signed: a DER SET OF
    spki = _asn1(sm2_identity.cert)["tbs_certificate"]["subject_public_key_info"].dump()
    assert _verify_with_openssl(spki, signed_attributes, info["signature"].native, tmp_path)
