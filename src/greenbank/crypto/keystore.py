"""Key stores: where the key-encryption key (KEK) lives and where wrapped keys are kept.

:class:`KeyStore` is the plug-in point for a bank's HSM or KMS. The key ring never sees the KEK:
it asks the store to ``wrap``/``unwrap`` its keys and to persist the wrapped blobs. Labels name the
keys: ``index`` (the blind-index HMAC key) and ``dek:<version>`` (data keys, versions 1, 2, ...).

Two local implementations keep an SM4 KEK in process memory and wrap with SM4-GCM
(nonce || ciphertext || tag, AAD = ``greenbank-keywrap|<label>``, so a blob cannot be swapped for
another label's): :class:`FileKeyStore` (a directory created by :func:`init_keys`) and
:class:`EnvKeyStore` (base64 environment variables, read-only).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

from greenbank.crypto.errors import CryptoDecryptFailed, CryptoKeyStoreError
from greenbank.crypto.symmetric import GCM_NONCE_SIZE, GCM_TAG_SIZE, SM4_KEY_SIZE, Sm4GcmKey

INDEX_LABEL = "index"
INDEX_KEY_SIZE = 32
_LABEL = re.compile(r"^(index|dek:[1-9][0-9]{0,8})$")
_KEK_FILE = "kek.key"
ENV_PREFIX = "GREENBANK_KEYS_"


def dek_label(version: int) -> str:
    return f"dek:{version}"


@runtime_checkable
class KeyStore(Protocol):
    """What a bank implements to keep the KEK in an HSM or KMS (see the package README).

    ``wrap`` must be randomised authenticated encryption bound to ``label``; ``unwrap`` must raise
    a CryptoError if the blob was altered or belongs to another label. ``load_wrapped`` returns
    every stored blob by label; ``save_wrapped`` persists a new one and must refuse to overwrite.
    """

    def wrap(self, key: bytes, *, label: str) -> bytes: ...

    def unwrap(self, blob: bytes, *, label: str) -> bytes: ...

    def load_wrapped(self) -> dict[str, bytes]: ...

    def save_wrapped(self, label: str, blob: bytes) -> None: ...


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise CryptoKeyStoreError(f"{what} is not valid base64") from None


def _check_label(label: str) -> str:
    if not _LABEL.match(label):
        raise CryptoKeyStoreError(f"bad key label {label!r}")
    return label


class LocalKekStore:
    """Wrapping with a KEK held in memory; subclasses decide where blobs are kept."""

    def __init__(self, kek: bytes) -> None:
        if len(kek) != SM4_KEY_SIZE:
            raise CryptoKeyStoreError("the KEK must be 16 bytes (SM4)")
        self._kek = Sm4GcmKey(kek)

    def wrap(self, key: bytes, *, label: str) -> bytes:
        nonce = os.urandom(GCM_NONCE_SIZE)
        return nonce + self._kek.encrypt(nonce, key, b"greenbank-keywrap|" + label.encode())

    def unwrap(self, blob: bytes, *, label: str) -> bytes:
        if len(blob) < GCM_NONCE_SIZE + GCM_TAG_SIZE:
            raise CryptoKeyStoreError(f"wrapped key {label!r} is truncated")
        aad = b"greenbank-keywrap|" + label.encode()
        try:
            return self._kek.decrypt(blob[:GCM_NONCE_SIZE], blob[GCM_NONCE_SIZE:], aad)
        except CryptoDecryptFailed:
            raise CryptoKeyStoreError(
                f"wrapped key {label!r} does not open: wrong KEK, or the blob was altered"
            ) from None


class FileKeyStore(LocalKekStore):
    """A directory (``./var/keys`` in development): ``kek.key`` and ``<label>.wrapped`` files,
    base64, mode 0600. Wrapped files are write-once."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        kek_path = self.directory / _KEK_FILE
        if not kek_path.is_file():
            raise CryptoKeyStoreError(f"no key store at {self.directory} (initialise it first)")
        super().__init__(_b64decode(kek_path.read_text(), str(kek_path)))

    def _path(self, label: str) -> Path:
        return self.directory / (_check_label(label).replace(":", "-") + ".wrapped")

    def load_wrapped(self) -> dict[str, bytes]:
        found = {}
        for path in sorted(self.directory.glob("*.wrapped")):
            label = path.name.removesuffix(".wrapped").replace("-", ":", 1)
            found[_check_label(label)] = _b64decode(path.read_text(), str(path))
        return found

    def save_wrapped(self, label: str, blob: bytes) -> None:
        _write_new(self._path(label), base64.b64encode(blob).decode())


def _write_new(path: Path, text: str) -> None:
    """Create ``path`` with mode 0600; an existing file is never overwritten."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CryptoKeyStoreError(f"{path} already exists; keys are never overwritten") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")


def init_keys(directory: str | os.PathLike[str]) -> FileKeyStore:
    """Create a key store: a fresh KEK, index key and data key version 1. Refuses to touch a
    directory that already holds a KEK (re-initialising would orphan every encrypted field)."""
    path = Path(directory)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write_new(path / _KEK_FILE, base64.b64encode(os.urandom(SM4_KEY_SIZE)).decode())
    store = FileKeyStore(path)
    store.save_wrapped(INDEX_LABEL, store.wrap(os.urandom(INDEX_KEY_SIZE), label=INDEX_LABEL))
    store.save_wrapped(dek_label(1), store.wrap(os.urandom(SM4_KEY_SIZE), label=dek_label(1)))
    return store


class EnvKeyStore(LocalKekStore):
    """Read-only store from environment variables (containers, secrets managers):
    ``GREENBANK_KEYS_KEK`` (base64 KEK), ``GREENBANK_KEYS_INDEX`` and ``GREENBANK_KEYS_DEK_<n>``
    (base64 wrapped blobs, as :func:`export_env` prints them)."""

    def __init__(self, environ: Mapping[str, str] | None = None, prefix: str = ENV_PREFIX) -> None:
        env = os.environ if environ is None else environ
        kek = env.get(prefix + "KEK")
        if not kek:
            raise CryptoKeyStoreError(f"{prefix}KEK is not set")
        super().__init__(_b64decode(kek, prefix + "KEK"))
        self._wrapped = {
            _check_label(name.removeprefix(prefix).lower().replace("dek_", "dek:")): _b64decode(
                value, name
            )
            for name, value in env.items()
            if name.startswith(prefix) and name != prefix + "KEK"
        }

    def load_wrapped(self) -> dict[str, bytes]:
        return dict(self._wrapped)

    def save_wrapped(self, label: str, blob: bytes) -> None:
        raise CryptoKeyStoreError(
            "the environment key store is read-only; rotate in the file store"
        )


def export_env(directory: str | os.PathLike[str], prefix: str = ENV_PREFIX) -> dict[str, str]:
    """The environment variables that make an :class:`EnvKeyStore` equal to a file store."""
    store = FileKeyStore(directory)
    env = {prefix + "KEK": (Path(directory) / _KEK_FILE).read_text().strip()}
    for label, blob in store.load_wrapped().items():
        env[prefix + label.upper().replace(":", "_")] = base64.b64encode(blob).decode()
    return env
