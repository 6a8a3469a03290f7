"""Interop with the ``openssl`` command line (OpenSSL 3): signatures and ciphertexts both ways.

The CLI needs the distinguishing ID spelled out (``-pkeyopt distid:...``); without it OpenSSL 3.0
signs with an empty ID, which is exactly the mismatch these tests guard against.
"""

from __future__ import annotations

import pytest
from crypto_support import OpenSSL, requires_libcrypto

from greenbank.crypto import DEFAULT_UID, SM2PrivateKey, SM2PublicKey

MESSAGE = "转账 100.00 元 to 6217 27** **** 1234".encode()


def _verify_with_cli(openssl: OpenSSL, public: SM2PublicKey, signature: bytes, uid: bytes) -> bool:
    result = openssl.run(
        "pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin",
        "-inkey", openssl.write("pub.pem", public.to_pem()),
        "-in", openssl.write("msg", MESSAGE),
        "-sigfile", openssl.write("sig", signature),
        "-pkeyopt", f"distid:{uid.decode()}",
    )  # fmt: skip
    return result.returncode == 0 and b"Signature Verified Successfully" in result.stdout


@pytest.mark.usefixtures("sm2_backend")
def test_greenbank_signature_verifies_with_openssl(openssl: OpenSSL) -> None:
    key = SM2PrivateKey.generate()
    signature = key.sign(MESSAGE)
    assert _verify_with_cli(openssl, key.public_key(), signature, DEFAULT_UID)
    assert not _verify_with_cli(openssl, key.public_key(), signature, b"ALICE123@YAHOO.COM")


@pytest.mark.usefixtures("sm2_backend")
def test_greenbank_signature_with_a_custom_uid_verifies_with_openssl(openssl: OpenSSL) -> None:
    key = SM2PrivateKey.generate()
    signature = key.sign(MESSAGE, uid=b"ALICE123@YAHOO.COM")
    assert _verify_with_cli(openssl, key.public_key(), signature, b"ALICE123@YAHOO.COM")


@pytest.mark.usefixtures("sm2_backend")
def test_openssl_signature_verifies_with_greenbank(openssl: OpenSSL) -> None:
    generated = openssl.run("genpkey", "-algorithm", "SM2", "-out", "key.pem")
    assert generated.returncode == 0, generated.stderr
    signed = openssl.run(
        "pkeyutl", "-sign", "-rawin", "-digest", "sm3", "-inkey", "key.pem",
        "-in", openssl.write("msg", MESSAGE), "-out", "sig",
        "-pkeyopt", f"distid:{DEFAULT_UID.decode()}",
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    key = SM2PrivateKey.from_pem(openssl.read("key.pem"))
    assert key.public_key().verify(openssl.read("sig"), MESSAGE)
    assert not key.public_key().verify(openssl.read("sig"), MESSAGE + b"!")


@pytest.mark.usefixtures("sm2_backend")
def test_greenbank_ciphertext_decrypts_with_openssl(openssl: OpenSSL) -> None:
    key = SM2PrivateKey.generate()
    ciphertext = key.public_key().encrypt(MESSAGE)
    result = openssl.run(
        "pkeyutl", "-decrypt", "-inkey", openssl.write("key.pem", key.to_pem()),
        "-in", openssl.write("ct", ciphertext), "-out", "pt",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert openssl.read("pt") == MESSAGE


@pytest.mark.usefixtures("sm2_backend")
def test_openssl_ciphertext_decrypts_with_greenbank(openssl: OpenSSL) -> None:
    key = SM2PrivateKey.generate()
    public_pem = openssl.write("pub.pem", key.public_key().to_pem())
    result = openssl.run(
        "pkeyutl", "-encrypt", "-pubin", "-inkey", public_pem,
        "-in", openssl.write("pt", MESSAGE), "-out", "ct",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert key.decrypt(openssl.read("ct")) == MESSAGE


@requires_libcrypto
def test_encrypted_and_sec1_keys_interoperate_with_openssl(openssl: OpenSSL) -> None:
    key = SM2PrivateKey.generate()
    openssl.write("enc.pem", key.to_pem(password="pw"))
    plain = openssl.run("pkey", "-in", "enc.pem", "-passin", "pass:pw", "-out", "plain.pem")
    assert plain.returncode == 0, plain.stderr
    assert SM2PrivateKey.from_pem(openssl.read("plain.pem")).to_der() == key.to_der()
    sec1 = openssl.run("ec", "-in", "plain.pem", "-out", "sec1.pem")
    assert sec1.returncode == 0, sec1.stderr
    assert SM2PrivateKey.from_pem(openssl.read("sec1.pem")).to_raw() == key.to_raw()
    protected = openssl.run(
        "pkcs8",
        "-topk8",
        "-v2",
        "aes-256-cbc",
        "-in",
        "plain.pem",
        "-passout",
        "pass:pw",
        "-out",
        "p8.pem",
    )
    assert protected.returncode == 0, protected.stderr
    assert SM2PrivateKey.from_pem(openssl.read("p8.pem"), password="pw").to_raw() == key.to_raw()
