"""SM3, HMAC-SM3 and SM4 (ECB for KATs, CBC/PKCS#7, CTR, GCM) over ``cryptography``.

``cryptography`` carries its own statically linked OpenSSL with SM3 and SM4 (including SM4-GCM,
which the system OpenSSL 3.0 lacks), so the symmetric half never touches ctypes.

SM4-GCM is on the hot path of field encryption (>= 100k encrypt+decrypt/s per core is the target).
The public ``Cipher(...).encryptor()`` spends most of its time in Python-side validation, so
:class:`Sm4GcmKey` validates once per key and per call only checks the nonce, then asks
``cryptography``'s own context factory directly. That factory is an internal module: it is used
only if it exists and reproduces the RFC 8998 vector at import; otherwise the public API is used.
"""

from __future__ import annotations

import hmac as _std_hmac
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives import hmac as _hmac
from cryptography.hazmat.primitives.ciphers import (
    AEADDecryptionContext,
    AEADEncryptionContext,
    Cipher,
    algorithms,
    modes,
)

from greenbank.crypto.errors import CryptoBadInput, CryptoBadKey, CryptoDecryptFailed

SM4_KEY_SIZE = 16
SM4_BLOCK_SIZE = 16
GCM_NONCE_SIZE = 12
GCM_TAG_SIZE = 16

_EncFactory = Callable[[algorithms.SM4, modes.GCM], AEADEncryptionContext]
_DecFactory = Callable[[algorithms.SM4, modes.GCM], AEADDecryptionContext]


def sm3(data: bytes) -> bytes:
    """SM3 digest (GB/T 32905) of ``data``: 32 bytes."""
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    """HMAC (RFC 2104) with SM3 as the hash: 32 bytes. Any key length is accepted."""
    h = _hmac.HMAC(key, hashes.SM3())
    h.update(data)
    return h.finalize()


def constant_time_equal(a: bytes, b: bytes) -> bool:
    """Compare two MACs without leaking where they differ."""
    return _std_hmac.compare_digest(a, b)


def _sm4(key: bytes) -> algorithms.SM4:
    if not isinstance(key, bytes | bytearray) or len(key) != SM4_KEY_SIZE:
        raise CryptoBadKey("SM4 keys are 16 bytes")
    return algorithms.SM4(bytes(key))


def _check_len(name: str, value: bytes, size: int) -> None:
    if len(value) != size:
        raise CryptoBadInput(f"{name} must be {size} bytes, got {len(value)}")


def sm4_ecb_encrypt(key: bytes, data: bytes) -> bytes:
    """Raw SM4 block encryption (no padding); only for known-answer tests and key checks."""
    if len(data) % SM4_BLOCK_SIZE:
        raise CryptoBadInput("ECB input must be a whole number of 16-byte blocks")
    enc = Cipher(_sm4(key), modes.ECB()).encryptor()  # noqa: S305 - KAT use only
    return enc.update(data) + enc.finalize()


def sm4_cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """SM4-CBC with PKCS#7 padding; output is a multiple of 16 bytes (a full block if aligned)."""
    _check_len("CBC IV", iv, SM4_BLOCK_SIZE)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    enc = Cipher(_sm4(key), modes.CBC(iv)).encryptor()
    return enc.update(padded) + enc.finalize()


def sm4_cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """Inverse of :func:`sm4_cbc_encrypt`; bad length or padding raises CryptoDecryptFailed."""
    _check_len("CBC IV", iv, SM4_BLOCK_SIZE)
    if not data or len(data) % SM4_BLOCK_SIZE:
        raise CryptoDecryptFailed("CBC ciphertext must be a non-empty multiple of 16 bytes")
    dec = Cipher(_sm4(key), modes.CBC(iv)).decryptor()
    padded = dec.update(data) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise CryptoDecryptFailed("bad PKCS#7 padding") from None


def sm4_ctr_encrypt(key: bytes, counter_block: bytes, data: bytes) -> bytes:
    """SM4-CTR keystream XOR; ``counter_block`` is the 16-byte initial counter. Not authenticated:
    prefer GCM unless a partner protocol demands CTR."""
    _check_len("CTR counter block", counter_block, SM4_BLOCK_SIZE)
    enc = Cipher(_sm4(key), modes.CTR(counter_block)).encryptor()
    return enc.update(data) + enc.finalize()


def sm4_ctr_decrypt(key: bytes, counter_block: bytes, data: bytes) -> bytes:
    """CTR decryption is the same keystream XOR as encryption."""
    return sm4_ctr_encrypt(key, counter_block, data)


def _public_enc(algorithm: algorithms.SM4, mode: modes.GCM) -> AEADEncryptionContext:
    return Cipher(algorithm, mode).encryptor()


def _public_dec(algorithm: algorithms.SM4, mode: modes.GCM) -> AEADDecryptionContext:
    return Cipher(algorithm, mode).decryptor()


class Sm4GcmKey:
    """An SM4 key prepared once for many GCM operations (safe to share across threads)."""

    __slots__ = ("_algorithm",)

    _enc: _EncFactory = staticmethod(_public_enc)
    _dec: _DecFactory = staticmethod(_public_dec)

    def __init__(self, key: bytes) -> None:
        self._algorithm = _sm4(key)

    def encrypt(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        """Return ciphertext || 16-byte tag."""
        if len(nonce) != GCM_NONCE_SIZE:
            raise CryptoBadInput("SM4-GCM nonces are 12 bytes")
        ctx = self._enc(self._algorithm, modes.GCM(nonce))
        ctx.authenticate_additional_data(aad)
        out = ctx.update(plaintext)
        ctx.finalize()
        return out + ctx.tag

    def decrypt(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        """Check the trailing tag and return the plaintext, or raise CryptoDecryptFailed."""
        if len(nonce) != GCM_NONCE_SIZE:
            raise CryptoBadInput("SM4-GCM nonces are 12 bytes")
        if len(ciphertext) < GCM_TAG_SIZE:
            raise CryptoDecryptFailed("SM4-GCM ciphertext is shorter than its tag")
        ctx = self._dec(self._algorithm, modes.GCM(nonce))
        ctx.authenticate_additional_data(aad)
        out = ctx.update(ciphertext[:-GCM_TAG_SIZE])
        try:
            ctx.finalize_with_tag(ciphertext[-GCM_TAG_SIZE:])
        except InvalidTag:
            raise CryptoDecryptFailed("SM4-GCM authentication failed") from None
        return out


def sm4_gcm_encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """SM4-GCM (RFC 8998): return ciphertext || 16-byte tag. Never reuse a nonce under one key."""
    return Sm4GcmKey(key).encrypt(nonce, plaintext, aad)


def sm4_gcm_decrypt(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes = b"") -> bytes:
    """Inverse of :func:`sm4_gcm_encrypt`; a wrong key, nonce, AAD or tag raises
    CryptoDecryptFailed."""
    return Sm4GcmKey(key).decrypt(nonce, ciphertext, aad)


# RFC 8998 Appendix A.1: the vector the fast path must reproduce before it is trusted.
RFC8998_KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
RFC8998_NONCE = bytes.fromhex("00001234567800000000ABCD")
RFC8998_AAD = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
RFC8998_PLAINTEXT = bytes.fromhex(
    "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
    "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
)
RFC8998_SEALED = bytes.fromhex(
    "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
    "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
    "83DE3541E4C2B58177E065A9BF7B62EC"
)


def _install_fast_gcm() -> bool:
    """Switch Sm4GcmKey to cryptography's context factory if it is present and correct."""
    public = (Sm4GcmKey._enc, Sm4GcmKey._dec)
    try:
        from cryptography.hazmat.bindings._rust import openssl as rust_openssl

        Sm4GcmKey._enc = staticmethod(rust_openssl.ciphers.create_encryption_ctx)
        Sm4GcmKey._dec = staticmethod(rust_openssl.ciphers.create_decryption_ctx)
        probe = Sm4GcmKey(RFC8998_KEY)
        ok = probe.encrypt(RFC8998_NONCE, RFC8998_PLAINTEXT, RFC8998_AAD) == RFC8998_SEALED
        ok = ok and probe.decrypt(RFC8998_NONCE, RFC8998_SEALED, RFC8998_AAD) == RFC8998_PLAINTEXT
    except Exception:  # any drift in the internal module: keep the public path
        ok = False
    if not ok:
        Sm4GcmKey._enc, Sm4GcmKey._dec = public
    return ok


FAST_GCM = _install_fast_gcm()
