"""SM2 keys: generation, PEM/DER/raw import and export, signatures (DER, SM3, distinguishing ID)
and public-key encryption (GM/T 0009 DER C1C3C2).

The work is done by a backend: OpenSSL >= 3.0 libcrypto when it has SM2, otherwise the pure-Python
fallback. ``GREENBANK_CRYPTO_BACKEND`` = ``auto`` (default) | ``openssl`` (fail if missing) |
``pure`` picks it at first use; :func:`use_backend` switches it at run time (tests, diagnostics).
A key keeps the backend it was created with.
"""

from __future__ import annotations

import logging
import os
import threading

from greenbank.crypto import formats
from greenbank.crypto._backend import Backend, PrivateImpl, PublicImpl
from greenbank.crypto._libcrypto import OpenSSLBackend
from greenbank.crypto._sm2_pure import N, PureBackend
from greenbank.crypto.errors import CryptoBackendUnavailable, CryptoBadKey

DEFAULT_UID = b"1234567812345678"
"""The distinguishing ID GM/T 0009 names as the default; both sides of a signature must agree."""

_log = logging.getLogger(__name__)
_lock = threading.Lock()
_backend: Backend | None = None


def _make_backend(choice: str) -> Backend:
    if choice == "pure":
        return PureBackend()
    if choice not in ("auto", "openssl"):
        raise CryptoBackendUnavailable(f"unknown SM2 backend {choice!r} (auto, openssl or pure)")
    try:
        return OpenSSLBackend()
    except CryptoBackendUnavailable as err:
        if choice == "openssl":
            raise
        _log.warning("SM2 falls back to pure Python: %s", err.detail)
        return PureBackend()


def get_backend() -> Backend:
    """The backend new keys use, chosen once from ``GREENBANK_CRYPTO_BACKEND``."""
    global _backend
    if _backend is None:
        with _lock:
            if _backend is None:
                _backend = _make_backend(os.environ.get("GREENBANK_CRYPTO_BACKEND", "auto"))
    return _backend


def use_backend(choice: str | None) -> str:
    """Switch the backend for keys created from now on (``None`` re-reads the environment).
    Returns the new backend's name."""
    global _backend
    with _lock:
        _backend = None if choice is None else _make_backend(choice)
    return get_backend().name


def backend_name() -> str:
    """E.g. ``openssl-3.0.19 (libcrypto)`` or ``pure-python (greenbank._sm2_pure)``."""
    return get_backend().name


def _secret(password: bytes | str | None) -> bytes | None:
    return password.encode() if isinstance(password, str) else password


def _check_pem(data: bytes, pem: bool) -> bytes:
    if data.lstrip().startswith(b"-----") != pem:
        raise CryptoBadKey("expected PEM" if pem else "expected DER, got PEM")
    return data


class SM2PublicKey:
    """An SM2 public key: verifies signatures and encrypts to the key's owner."""

    __slots__ = ("_impl",)

    def __init__(self, impl: PublicImpl) -> None:
        """Internal: use the ``from_*`` constructors."""
        self._impl = impl

    @classmethod
    def from_pem(cls, data: bytes) -> SM2PublicKey:
        """From a ``-----BEGIN PUBLIC KEY-----`` (SubjectPublicKeyInfo) block."""
        return cls(get_backend().load_public(_check_pem(data, pem=True)))

    @classmethod
    def from_der(cls, data: bytes) -> SM2PublicKey:
        """From DER SubjectPublicKeyInfo."""
        return cls(get_backend().load_public(_check_pem(data, pem=False)))

    @classmethod
    def from_raw(cls, point: bytes) -> SM2PublicKey:
        """From an uncompressed point: 65 bytes 04||x||y, or 64 bytes x||y. Checked on the curve."""
        if len(point) == 64:
            point = b"\x04" + point
        if len(point) != 65 or point[0] != 4:
            raise CryptoBadKey("raw SM2 public keys are 04||x||y (65 bytes) or x||y (64 bytes)")
        return cls(get_backend().load_public(formats.spki_der(point)))

    def to_pem(self) -> bytes:
        return self._impl.spki(pem=True)

    def to_der(self) -> bytes:
        return self._impl.spki(pem=False)

    def to_raw(self) -> bytes:
        """65 bytes 04||x||y."""
        return formats.parse_spki_der(self.to_der())

    def verify(self, signature: bytes, message: bytes, uid: bytes = DEFAULT_UID) -> bool:
        """True only if ``signature`` (DER) is valid for ``message`` under ``uid``. A malformed
        signature is simply invalid (False); convert raw r||s with ``signature_raw_to_der``."""
        return self._impl.verify(signature, message, uid)

    def encrypt(self, plaintext: bytes) -> bytes:
        """SM2 public-key encryption (SM3 KDF and hash); GM/T 0009 DER output, ~107 bytes longer
        than the plaintext. Empty plaintexts are refused (the standard leaves them undefined)."""
        return self._impl.encrypt(plaintext)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SM2PublicKey) and self.to_der() == other.to_der()

    def __hash__(self) -> int:
        return hash(self.to_der())

    def __repr__(self) -> str:
        return f"SM2PublicKey({self.to_raw()[1:9].hex()}...)"


class SM2PrivateKey:
    """An SM2 private key: signs and decrypts. Its repr never shows the scalar."""

    __slots__ = ("_impl",)

    def __init__(self, impl: PrivateImpl) -> None:
        """Internal: use :meth:`generate` or the ``from_*`` constructors."""
        self._impl = impl

    @classmethod
    def generate(cls) -> SM2PrivateKey:
        """A fresh key from the backend's CSPRNG."""
        return cls(get_backend().generate())

    @classmethod
    def from_pem(cls, data: bytes, password: bytes | str | None = None) -> SM2PrivateKey:
        """From PEM PKCS#8 (``PRIVATE KEY``), encrypted PKCS#8 (``ENCRYPTED PRIVATE KEY``, needs
        ``password`` and the OpenSSL backend) or SEC1 (``EC PRIVATE KEY``/``SM2 PRIVATE KEY``)."""
        return cls(get_backend().load_private(_check_pem(data, pem=True), _secret(password)))

    @classmethod
    def from_der(cls, data: bytes, password: bytes | str | None = None) -> SM2PrivateKey:
        """From DER PKCS#8, encrypted PKCS#8 or SEC1."""
        return cls(get_backend().load_private(_check_pem(data, pem=False), _secret(password)))

    @classmethod
    def from_raw(cls, scalar: bytes) -> SM2PrivateKey:
        """From the 32-byte big-endian scalar d, 1 <= d <= n-2 (the public key is derived)."""
        if len(scalar) != 32:
            raise CryptoBadKey("raw SM2 private keys are 32 bytes")
        d = int.from_bytes(scalar, "big")
        if not 1 <= d <= N - 2:
            raise CryptoBadKey("SM2 private scalars lie in [1, n-2]")
        backend = get_backend()
        # Derive the public point, then load again with it so exports always carry it.
        point = formats.parse_spki_der(
            backend.load_private(formats.sec1_private_der(d), None).public().spki(pem=False)
        )
        return cls(backend.load_private(formats.sec1_private_der(d, point), None))

    def to_pem(self, password: bytes | str | None = None) -> bytes:
        """PKCS#8 PEM; with ``password``, encrypted PKCS#8 (PBES2, PBKDF2, SM4-CBC)."""
        return self._impl.pkcs8(pem=True, password=_secret(password))

    def to_der(self, password: bytes | str | None = None) -> bytes:
        """PKCS#8 DER; with ``password``, encrypted PKCS#8."""
        return self._impl.pkcs8(pem=False, password=_secret(password))

    def to_raw(self) -> bytes:
        """The 32-byte private scalar. Handle like the key itself."""
        d, _ = formats.parse_private_der(self.to_der())
        return d.to_bytes(32, "big")

    def public_key(self) -> SM2PublicKey:
        return SM2PublicKey(self._impl.public())

    def sign(self, message: bytes, uid: bytes = DEFAULT_UID) -> bytes:
        """SM2 signature with SM3 over Z(uid, public key) || message; DER ``SEQUENCE {r, s}``.
        Randomised: two signatures of one message differ, and both verify."""
        return self._impl.sign(message, uid)

    def decrypt(self, ciphertext: bytes) -> bytes:
        """Inverse of :meth:`SM2PublicKey.encrypt`; any failure raises CryptoDecryptFailed."""
        return self._impl.decrypt(ciphertext)

    def __repr__(self) -> str:
        return f"SM2PrivateKey(public={self.public_key()!r})"
