"""Envelope encryption of personal data fields, and blind indexes to look them up.

A field is sealed with SM4-GCM under the current data key (DEK) into a self-describing token::

    v1:<key version>:<base64(nonce || ciphertext || tag)>

The AAD is ``table|column|record_id|key_version``, so a token copied to another row, column or
table, or relabelled with another version, fails to decrypt instead of leaking the wrong person's
data. DEKs are stored wrapped by the key store's KEK; rotation adds a version (new writes use it,
old tokens still decrypt, :meth:`KeyRing.needs_rotation` finds the ones to re-encrypt).
"""

from __future__ import annotations

import binascii
import os
import re
import threading
import unicodedata
from collections.abc import Callable
from typing import Literal

from greenbank.crypto.errors import (
    CryptoBadInput,
    CryptoDecryptFailed,
    CryptoKeyStoreError,
    CryptoUnknownKeyVersion,
)
from greenbank.crypto.keystore import INDEX_LABEL, KeyStore, dek_label
from greenbank.crypto.symmetric import (
    GCM_NONCE_SIZE,
    GCM_TAG_SIZE,
    SM4_KEY_SIZE,
    Sm4GcmKey,
    hmac_sm3,
)

TOKEN_PREFIX = "v1"  # noqa: S105 - a format tag, not a secret
BlindIndexKind = Literal["id_number", "card", "phone", "name", "email"]

_NOT_DIGIT = re.compile(r"\D")
_SPACE = re.compile(r"\s+")


def _phone(value: str) -> str:
    digits = _NOT_DIGIT.sub("", value)
    for country in ("0086", "86"):
        if len(digits) == len(country) + 11 and digits.startswith(country):
            return digits[len(country) :]
    return digits


_NORMALISE: dict[str, Callable[[str], str]] = {
    "id_number": lambda v: _SPACE.sub("", v).upper(),
    "card": lambda v: _NOT_DIGIT.sub("", v),
    "phone": _phone,
    "name": lambda v: _SPACE.sub(" ", unicodedata.normalize("NFKC", v)).strip().casefold(),
    "email": lambda v: v.strip().lower(),
}


def normalise(value: str, kind: BlindIndexKind) -> str:
    """The canonical form a blind index is computed over: ID numbers lose spaces and get an
    upper-case X; card numbers keep digits only; phones keep digits only without a +86/0086
    prefix; names are NFKC, single-spaced and case-folded; e-mails are lower-cased."""
    try:
        normalised = _NORMALISE[kind](value)
    except KeyError:
        raise CryptoBadInput(f"unknown blind-index kind {kind!r}") from None
    if not normalised:
        raise CryptoBadInput(f"nothing left to index in this {kind}")
    return normalised


class KeyRing:
    """Data keys and the blind-index key of one deployment, unwrapped once from a KeyStore.

    Thread-safe: encryption only reads the key table; :meth:`add_version` swaps it under a lock.
    """

    def __init__(self, store: KeyStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._index_key = b""
        self._keys: dict[int, Sm4GcmKey] = {}
        self._current = 0
        self.reload()

    def reload(self) -> None:
        """Re-read the store (picks up versions another process added)."""
        wrapped = self._store.load_wrapped()
        if INDEX_LABEL not in wrapped:
            raise CryptoKeyStoreError("the key store has no blind-index key")
        keys = {
            int(label[4:]): Sm4GcmKey(self._store.unwrap(blob, label=label))
            for label, blob in wrapped.items()
            if label.startswith("dek:")
        }
        if not keys:
            raise CryptoKeyStoreError("the key store has no data key")
        index_key = self._store.unwrap(wrapped[INDEX_LABEL], label=INDEX_LABEL)
        with self._lock:
            self._index_key, self._keys, self._current = index_key, keys, max(keys)

    @property
    def current_version(self) -> int:
        """The data-key version new tokens are sealed with."""
        return self._current

    def add_version(self) -> int:
        """Create, wrap and store a new data key and make it current; returns its version."""
        with self._lock:
            version = max(self._keys) + 1
            dek = os.urandom(SM4_KEY_SIZE)
            self._store.save_wrapped(
                dek_label(version), self._store.wrap(dek, label=dek_label(version))
            )
            self._keys = {**self._keys, version: Sm4GcmKey(dek)}
            self._current = version
        return version

    def encrypt_field(self, plaintext: str, *, table: str, column: str, record_id: str) -> str:
        """Seal ``plaintext`` for one cell; a fresh random 12-byte nonce every call."""
        if "|" in table or "|" in column:
            raise CryptoBadInput("table and column names cannot contain '|'")
        version = self._current
        nonce = os.urandom(GCM_NONCE_SIZE)
        aad = f"{table}|{column}|{record_id}|{version}".encode()
        sealed = self._keys[version].encrypt(nonce, plaintext.encode(), aad)
        body = binascii.b2a_base64(nonce + sealed, newline=False).decode()
        return f"{TOKEN_PREFIX}:{version}:{body}"

    def decrypt_field(self, token: str, *, table: str, column: str, record_id: str) -> str:
        """Open a token made by :meth:`encrypt_field` for the same table, column and record."""
        version, body = _parse(token)
        key = self._keys.get(version)
        if key is None:
            self.reload()
            key = self._keys.get(version)
            if key is None:
                raise CryptoUnknownKeyVersion(f"no data key version {version}")
        try:
            raw = binascii.a2b_base64(body, strict_mode=True)
        except binascii.Error:
            raise CryptoDecryptFailed("field token is not valid base64") from None
        if len(raw) < GCM_NONCE_SIZE + GCM_TAG_SIZE:
            raise CryptoDecryptFailed("field token is truncated")
        aad = f"{table}|{column}|{record_id}|{version}".encode()
        return key.decrypt(raw[:GCM_NONCE_SIZE], raw[GCM_NONCE_SIZE:], aad).decode()

    def needs_rotation(self, token: str) -> bool:
        """True if ``token`` was sealed under an older data key than the current one."""
        return _parse(token)[0] != self._current

    def blind_index(self, value: str, *, kind: BlindIndexKind) -> str:
        """HMAC-SM3 (own key) over ``kind`` and the normalised value, as 64 hex digits.
        Equal values give equal indexes; the kind is mixed in so a phone never matches a card."""
        data = kind.encode() + b"\x00" + normalise(value, kind).encode()
        return hmac_sm3(self._index_key, data).hex()


def _parse(token: str) -> tuple[int, str]:
    prefix, _, rest = token.partition(":")
    version, _, body = rest.partition(":")
    canonical = version.isascii() and version.isdigit() and not version.startswith("0")
    if prefix != TOKEN_PREFIX or not canonical or not body:
        raise CryptoDecryptFailed("not a greenbank field token")
    return int(version), body
