"""The national-cryptography primitives the SDK needs, behind small interfaces.

SM3 and SM4-GCM come from ``cryptography`` (its bundled OpenSSL has both). SM2 is pluggable: a
partner passes any object with ``sign(message) -> DER`` (its own HSM, ``gmssl``, a KMS) and
``load_public_key`` returns any object with ``verify`` and ``encrypt``. Without one, the SDK uses
``greenbank.crypto`` (shipped in the same distribution), imported only when first needed.
"""

from __future__ import annotations

import base64
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from greenbank_sdk.protocol import UID, callback_key_from_digest


class Signer(Protocol):
    """A partner's SM2 private key: SM2-with-SM3 signature, ID ``1234567812345678``, DER."""

    def sign(self, message: bytes) -> bytes: ...


class PublicKey(Protocol):
    """A platform SM2 public key."""

    def verify(self, signature: bytes, message: bytes) -> bool: ...

    def encrypt(self, plaintext: bytes) -> bytes: ...

    def to_der(self) -> bytes: ...


class SDKError(Exception):
    """Something the partner's side should fix (bad key, bad callback, unverifiable answer)."""


def sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def callback_key(api_secret: str) -> bytes:
    return callback_key_from_digest(sm3(api_secret.encode()))


def sm4_gcm_decrypt(key: bytes, nonce: bytes, ciphertext_and_tag: bytes, aad: bytes) -> bytes:
    if len(ciphertext_and_tag) < 16:
        raise SDKError("ciphertext too short")
    body, tag = ciphertext_and_tag[:-16], ciphertext_and_tag[-16:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(aad)
    try:
        return decryptor.update(body) + decryptor.finalize()
    except InvalidTag:
        raise SDKError("the callback does not decrypt with this API secret") from None


class _GreenbankSigner:
    def __init__(self, pem: bytes, password: str | None) -> None:
        from greenbank.crypto import SM2PrivateKey

        self._key = SM2PrivateKey.from_pem(pem, password)

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message, UID)

    def public_key_pem(self) -> bytes:
        return self._key.public_key().to_pem()


class _GreenbankPublicKey:
    def __init__(self, pem: bytes) -> None:
        from greenbank.crypto import SM2PublicKey

        self._key = SM2PublicKey.from_pem(pem)

    def verify(self, signature: bytes, message: bytes) -> bool:
        return self._key.verify(signature, message, UID)

    def encrypt(self, plaintext: bytes) -> bytes:
        return self._key.encrypt(plaintext)

    def to_der(self) -> bytes:
        return self._key.to_der()


def load_private_key(pem: bytes, password: str | None = None) -> Signer:
    """A signer over ``greenbank.crypto`` from a PEM private key (PKCS#8 or SEC1)."""
    return _GreenbankSigner(pem, password)


def load_public_key(pem: bytes) -> PublicKey:
    """A platform public key over ``greenbank.crypto`` from PEM SubjectPublicKeyInfo."""
    return _GreenbankPublicKey(pem)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise SDKError("not base64") from None
