"""The shape both SM2 backends (OpenSSL via ctypes, pure Python) implement.

The public classes in ``sm2.py`` only hold one of these objects, so keys from either backend behave
the same and the two can be cross-checked against each other in tests.
"""

from __future__ import annotations

from typing import Protocol


class PublicImpl(Protocol):
    def verify(self, signature: bytes, message: bytes, uid: bytes) -> bool: ...

    def encrypt(self, plaintext: bytes) -> bytes: ...

    def spki(self, *, pem: bool) -> bytes: ...


class PrivateImpl(Protocol):
    def sign(self, message: bytes, uid: bytes) -> bytes: ...

    def decrypt(self, ciphertext: bytes) -> bytes: ...

    def public(self) -> PublicImpl: ...

    def pkcs8(self, *, pem: bool, password: bytes | None) -> bytes: ...


class Backend(Protocol):
    name: str

    def generate(self) -> PrivateImpl: ...

    def load_private(self, data: bytes, password: bytes | None) -> PrivateImpl:
        """``data`` is PEM or DER (PKCS#8, encrypted PKCS#8 where supported, or SEC1)."""
        ...

    def load_public(self, data: bytes) -> PublicImpl:
        """``data`` is PEM or DER ``SubjectPublicKeyInfo``."""
        ...
