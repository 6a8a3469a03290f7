"""SM2 over the system OpenSSL >= 3.0 libcrypto, bound with ctypes.

``cryptography`` refuses SM2 keys and its own OpenSSL is linked statically into its extension, so we
load ``libcrypto.so.3`` ourselves. Rules kept throughout:

* prototypes (argtypes/restype) are set once at load; calls pass bytes straight through;
* an ``EVP_PKEY`` is parsed once per key object and shared read-only between threads; every call
  makes its own short-lived ``EVP_PKEY_CTX``/``EVP_MD_CTX`` and frees it in ``finally``;
* the distinguishing ID is set on every sign/verify (OpenSSL 3.0 uses an empty ID unless told);
* every return code is checked, and OpenSSL's per-thread error queue is drained into the message
  of the CryptoError raised, so a failure never leaks into a later call.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import re
from ctypes import POINTER, byref, c_char_p, c_int, c_size_t, c_ulong, c_void_p
from typing import Any

from greenbank.crypto.errors import (
    CryptoBackendUnavailable,
    CryptoBadInput,
    CryptoBadKey,
    CryptoDecryptFailed,
    CryptoError,
)

_KEYPAIR, _PUBLIC = 0x87, 0x86  # EVP_PKEY_KEYPAIR, EVP_PKEY_PUBLIC_KEY selections
_PEM_CIPHER = b"SM4-CBC"  # encrypted PKCS#8 stays within the national algorithms
_PROTOTYPES: dict[str, tuple[Any, list[Any]]] = {
    "OpenSSL_version_num": (c_ulong, []),
    "OpenSSL_version": (c_char_p, [c_int]),
    "ERR_get_error": (c_ulong, []),
    "ERR_error_string_n": (None, [c_ulong, c_char_p, c_size_t]),
    "CRYPTO_free": (None, [c_void_p, c_char_p, c_int]),
    "EVP_MD_fetch": (c_void_p, [c_void_p, c_char_p, c_char_p]),
    "EVP_PKEY_free": (None, [c_void_p]),
    "EVP_PKEY_is_a": (c_int, [c_void_p, c_char_p]),
    "EVP_PKEY_CTX_new_from_name": (c_void_p, [c_void_p, c_char_p, c_char_p]),
    "EVP_PKEY_CTX_new_from_pkey": (c_void_p, [c_void_p, c_void_p, c_char_p]),
    "EVP_PKEY_CTX_free": (None, [c_void_p]),
    "EVP_PKEY_CTX_set1_id": (c_int, [c_void_p, c_char_p, c_int]),
    "EVP_PKEY_keygen_init": (c_int, [c_void_p]),
    "EVP_PKEY_pairwise_check": (c_int, [c_void_p]),
    "EVP_PKEY_generate": (c_int, [c_void_p, POINTER(c_void_p)]),
    "EVP_MD_CTX_new": (c_void_p, []),
    "EVP_MD_CTX_free": (None, [c_void_p]),
    "EVP_MD_CTX_set_pkey_ctx": (None, [c_void_p, c_void_p]),
    "EVP_DigestSignInit": (c_int, [c_void_p, c_void_p, c_void_p, c_void_p, c_void_p]),
    "EVP_DigestSign": (c_int, [c_void_p, c_char_p, POINTER(c_size_t), c_char_p, c_size_t]),
    "EVP_DigestVerifyInit": (c_int, [c_void_p, c_void_p, c_void_p, c_void_p, c_void_p]),
    "EVP_DigestVerify": (c_int, [c_void_p, c_char_p, c_size_t, c_char_p, c_size_t]),
    "EVP_PKEY_encrypt_init": (c_int, [c_void_p]),
    "EVP_PKEY_encrypt": (c_int, [c_void_p, c_char_p, POINTER(c_size_t), c_char_p, c_size_t]),
    "EVP_PKEY_decrypt_init": (c_int, [c_void_p]),
    "EVP_PKEY_decrypt": (c_int, [c_void_p, c_char_p, POINTER(c_size_t), c_char_p, c_size_t]),
    "OSSL_DECODER_CTX_new_for_pkey": (
        c_void_p,
        [POINTER(c_void_p), c_char_p, c_char_p, c_char_p, c_int, c_void_p, c_char_p],
    ),
    "OSSL_DECODER_CTX_set_passphrase": (c_int, [c_void_p, c_char_p, c_size_t]),
    "OSSL_DECODER_from_data": (c_int, [c_void_p, POINTER(c_char_p), POINTER(c_size_t)]),
    "OSSL_DECODER_CTX_free": (None, [c_void_p]),
    "OSSL_ENCODER_CTX_new_for_pkey": (c_void_p, [c_void_p, c_int, c_char_p, c_char_p, c_char_p]),
    "OSSL_ENCODER_CTX_set_cipher": (c_int, [c_void_p, c_char_p, c_char_p]),
    "OSSL_ENCODER_CTX_set_passphrase": (c_int, [c_void_p, c_char_p, c_size_t]),
    "OSSL_ENCODER_to_data": (c_int, [c_void_p, POINTER(c_void_p), POINTER(c_size_t)]),
    "OSSL_ENCODER_CTX_free": (None, [c_void_p]),
}


class _Lib:
    """libcrypto with every prototype we use bound once (attribute per C function)."""

    def __init__(self, path: str) -> None:
        try:
            cdll = ctypes.CDLL(path)
            for name, (restype, argtypes) in _PROTOTYPES.items():
                fn = getattr(cdll, name)
                fn.restype, fn.argtypes = restype, argtypes
                setattr(self, name, fn)
        except (OSError, AttributeError) as err:
            raise CryptoBackendUnavailable(
                f"{path} is not a usable OpenSSL 3 libcrypto: {err}"
            ) from err
        if self.OpenSSL_version_num() < 0x30000000:
            raise CryptoBackendUnavailable(f"{path} is older than OpenSSL 3.0")
        banner = (self.OpenSSL_version(0) or b"").decode(errors="replace")
        match = re.search(r"OpenSSL (\S+)", banner)
        self.version = match.group(1) if match else banner
        self.sm3 = self.EVP_MD_fetch(None, b"SM3", None)
        probe = self.EVP_PKEY_CTX_new_from_name(None, b"SM2", None)
        usable = bool(self.sm3 and probe) and self.EVP_PKEY_keygen_init(probe) == 1
        self.EVP_PKEY_CTX_free(probe)
        drain_errors(self)
        if not usable:
            raise CryptoBackendUnavailable(f"OpenSSL {self.version} here lacks SM2 or SM3")

    def __getattr__(self, name: str) -> Any:  # for mypy: attributes are set dynamically
        raise AttributeError(name)


@functools.cache
def _load(path: str) -> _Lib:
    """One binding per library path for the life of the process (prototypes and the fetched SM3
    are never freed: they are shared by every key)."""
    return _Lib(path)


def drain_errors(lib: _Lib) -> str:
    """Empty this thread's OpenSSL error queue and return its messages joined."""
    messages = []
    buf = ctypes.create_string_buffer(256)
    while code := lib.ERR_get_error():
        lib.ERR_error_string_n(code, buf, len(buf))
        messages.append(buf.value.decode(errors="replace"))
    return "; ".join(messages) or "no detail"


def _fail(lib: _Lib, error: type[CryptoError], what: str) -> CryptoError:
    return error(f"{what} ({drain_errors(lib)})")


class OpenSSLPublicKey:
    __slots__ = ("_lib", "_pkey")

    def __init__(self, lib: _Lib, pkey: int) -> None:
        self._lib, self._pkey = lib, pkey

    def __del__(self) -> None:
        pkey, self._pkey = getattr(self, "_pkey", 0), 0
        if pkey:
            self._lib.EVP_PKEY_free(pkey)

    def _pctx(self) -> int:
        pctx: int | None = self._lib.EVP_PKEY_CTX_new_from_pkey(None, self._pkey, None)
        if not pctx:
            raise _fail(self._lib, CryptoError, "EVP_PKEY_CTX_new_from_pkey failed")
        return pctx

    def _digest_ctx(self, init: Any, pctx: int, uid: bytes) -> int:
        """A fresh EVP_MD_CTX bound to ``pctx`` with the distinguishing ID set, initialised."""
        lib = self._lib
        if lib.EVP_PKEY_CTX_set1_id(pctx, uid, len(uid)) != 1:
            raise _fail(lib, CryptoBadInput, "cannot set the SM2 distinguishing ID")
        mctx: int | None = lib.EVP_MD_CTX_new()
        if not mctx:
            raise _fail(lib, CryptoError, "EVP_MD_CTX_new failed")
        lib.EVP_MD_CTX_set_pkey_ctx(mctx, pctx)
        if init(mctx, None, lib.sm3, None, self._pkey) != 1:
            lib.EVP_MD_CTX_free(mctx)
            raise _fail(lib, CryptoError, "SM2 digest init failed")
        return mctx

    def verify(self, signature: bytes, message: bytes, uid: bytes) -> bool:
        lib = self._lib
        pctx = self._pctx()
        try:
            mctx = self._digest_ctx(lib.EVP_DigestVerifyInit, pctx, uid)
            try:
                rc: int = lib.EVP_DigestVerify(
                    mctx, signature, len(signature), message, len(message)
                )
            finally:
                lib.EVP_MD_CTX_free(mctx)
        finally:
            lib.EVP_PKEY_CTX_free(pctx)
        if rc != 1:
            drain_errors(lib)  # a malformed signature queues errors; it is still just "invalid"
        return rc == 1

    def encrypt(self, plaintext: bytes) -> bytes:
        if not plaintext:
            raise CryptoBadInput("SM2 cannot encrypt an empty message")
        return _crypt(self._lib, self._pctx(), encrypt=True, data=plaintext)

    def spki(self, *, pem: bool) -> bytes:
        return _encode(self._lib, self._pkey, _PUBLIC, b"SubjectPublicKeyInfo", pem, None)


class OpenSSLPrivateKey(OpenSSLPublicKey):
    __slots__ = ("_public",)

    def __init__(self, lib: _Lib, pkey: int) -> None:
        super().__init__(lib, pkey)
        self._public: OpenSSLPublicKey | None = None

    def public(self) -> OpenSSLPublicKey:
        """A separate public-only EVP_PKEY, so public objects can never export the scalar."""
        if self._public is None:
            self._public = OpenSSLPublicKey(
                self._lib, _decode(self._lib, self.spki(pem=False), None, _PUBLIC)
            )
        return self._public

    def sign(self, message: bytes, uid: bytes) -> bytes:
        lib = self._lib
        pctx = self._pctx()
        try:
            mctx = self._digest_ctx(lib.EVP_DigestSignInit, pctx, uid)
            try:
                size = c_size_t(80)
                out = ctypes.create_string_buffer(80)
                if lib.EVP_DigestSign(mctx, out, byref(size), message, len(message)) != 1:
                    raise _fail(lib, CryptoError, "SM2 signing failed")
                return out.raw[: size.value]
            finally:
                lib.EVP_MD_CTX_free(mctx)
        finally:
            lib.EVP_PKEY_CTX_free(pctx)

    def decrypt(self, ciphertext: bytes) -> bytes:
        return _crypt(self._lib, self._pctx(), encrypt=False, data=ciphertext)

    def pkcs8(self, *, pem: bool, password: bytes | None) -> bytes:
        return _encode(self._lib, self._pkey, _KEYPAIR, b"PrivateKeyInfo", pem, password)


def _crypt(lib: _Lib, pctx: int, *, encrypt: bool, data: bytes) -> bytes:
    """EVP_PKEY_encrypt/decrypt (size query, then the real call); frees ``pctx``."""
    init, run = (
        (lib.EVP_PKEY_encrypt_init, lib.EVP_PKEY_encrypt)
        if encrypt
        else (lib.EVP_PKEY_decrypt_init, lib.EVP_PKEY_decrypt)
    )
    error = CryptoError if encrypt else CryptoDecryptFailed
    try:
        size = c_size_t(0)
        if init(pctx) != 1 or run(pctx, None, byref(size), data, len(data)) != 1:
            raise _fail(
                lib, error, "SM2 " + ("encryption" if encrypt else "decryption") + " failed"
            )
        out = ctypes.create_string_buffer(size.value)
        if run(pctx, out, byref(size), data, len(data)) != 1:
            raise _fail(
                lib, error, "SM2 " + ("encryption" if encrypt else "decryption") + " failed"
            )
        return out.raw[: size.value]
    finally:
        lib.EVP_PKEY_CTX_free(pctx)


def _decode(lib: _Lib, data: bytes, password: bytes | None, selection: int) -> int:
    """PEM or DER (PKCS#8, encrypted PKCS#8, SEC1 or SPKI) -> a new EVP_PKEY* of type SM2."""
    pkey = c_void_p()
    dctx = lib.OSSL_DECODER_CTX_new_for_pkey(byref(pkey), None, None, None, selection, None, None)
    if not dctx:
        raise _fail(lib, CryptoBackendUnavailable, "no SM2 decoder")
    try:
        # Always set a passphrase (empty when none): with none set OpenSSL may try to prompt.
        secret = password or b""
        if lib.OSSL_DECODER_CTX_set_passphrase(dctx, secret, len(secret)) != 1:
            raise _fail(lib, CryptoError, "cannot set the passphrase")
        cursor, remaining = c_char_p(data), c_size_t(len(data))
        if lib.OSSL_DECODER_from_data(dctx, byref(cursor), byref(remaining)) != 1 or not pkey:
            lib.EVP_PKEY_free(pkey)
            raise _fail(lib, CryptoBadKey, "not an SM2 key (or wrong password)")
    finally:
        lib.OSSL_DECODER_CTX_free(dctx)
    drain_errors(lib)  # decoders that tried and failed before the right one leave errors queued
    if lib.EVP_PKEY_is_a(pkey, b"SM2") != 1:
        lib.EVP_PKEY_free(pkey)
        raise CryptoBadKey("the key is not an SM2 key")
    return int(pkey.value or 0)


def _encode(
    lib: _Lib, pkey: int, selection: int, structure: bytes, pem: bool, password: bytes | None
) -> bytes:
    ectx = lib.OSSL_ENCODER_CTX_new_for_pkey(
        pkey, selection, b"PEM" if pem else b"DER", structure, None
    )
    if not ectx:
        raise _fail(lib, CryptoError, "no SM2 encoder")
    out, size = c_void_p(), c_size_t(0)
    try:
        if password is not None and (
            lib.OSSL_ENCODER_CTX_set_cipher(ectx, _PEM_CIPHER, None) != 1
            or lib.OSSL_ENCODER_CTX_set_passphrase(ectx, password, len(password)) != 1
        ):
            raise _fail(lib, CryptoError, "cannot set up key encryption")
        if lib.OSSL_ENCODER_to_data(ectx, byref(out), byref(size)) != 1 or not out:
            raise _fail(lib, CryptoError, "SM2 key export failed")
        return ctypes.string_at(out, size.value)
    finally:
        if out:
            lib.CRYPTO_free(out, None, 0)
        lib.OSSL_ENCODER_CTX_free(ectx)


class OpenSSLBackend:
    """SM2 through libcrypto; raises CryptoBackendUnavailable if it is missing or lacks SM2."""

    def __init__(self, path: str | None = None) -> None:
        found = path or os.environ.get("GREENBANK_LIBCRYPTO") or ctypes.util.find_library("crypto")
        if not found:
            raise CryptoBackendUnavailable("libcrypto not found")
        self._lib = _load(found)
        self.name = f"openssl-{self._lib.version} (libcrypto)"

    def generate(self) -> OpenSSLPrivateKey:
        lib = self._lib
        pctx = lib.EVP_PKEY_CTX_new_from_name(None, b"SM2", None)
        pkey = c_void_p()
        try:
            if (
                not pctx
                or lib.EVP_PKEY_keygen_init(pctx) != 1
                or lib.EVP_PKEY_generate(pctx, byref(pkey)) != 1
            ):
                raise _fail(lib, CryptoError, "SM2 key generation failed")
        finally:
            lib.EVP_PKEY_CTX_free(pctx)
        return OpenSSLPrivateKey(lib, int(pkey.value or 0))

    def load_private(self, data: bytes, password: bytes | None) -> OpenSSLPrivateKey:
        key = OpenSSLPrivateKey(self._lib, _decode(self._lib, data, password, _KEYPAIR))
        pctx = key._pctx()
        try:  # OpenSSL trusts an embedded public key; a mismatched one would mislead verifiers
            if self._lib.EVP_PKEY_pairwise_check(pctx) != 1:
                raise _fail(
                    self._lib, CryptoBadKey, "the public key does not match the private key"
                )
        finally:
            self._lib.EVP_PKEY_CTX_free(pctx)
        return key

    def load_public(self, data: bytes) -> OpenSSLPublicKey:
        return OpenSSLPublicKey(self._lib, _decode(self._lib, data, None, _PUBLIC))
