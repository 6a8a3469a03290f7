"""The bank's side of the cryptography: platform keys, request verification, answer signing,
sensitive-field decryption and callback encryption.

Platform keys are SM2 private keys in PEM files under the key directory (``GREENBANK_KEYS_DIR``,
default ``var_dir/keys``): ``platform_sm2.pem`` signs; ``platform_sm2.<serial>.pem`` are earlier
keys kept after a rotation so fields partners encrypted to them still decrypt. Development and
test create the first key on demand; production refuses to start without it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
import string
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from greenbank.config import Environment, Settings
from greenbank.crypto import (
    CryptoError,
    SM2PrivateKey,
    SM2PublicKey,
    sm3,
    sm4_gcm_encrypt,
)
from greenbank.errors import ConfigurationError
from greenbank.keys import key_directory, open_keyring
from greenbank.partners.errors import EncryptedFieldInvalid, PartnerKeyInvalid, SignatureInvalid
from greenbank_sdk.protocol import (
    CALLBACK_ALGORITHM,
    H_NONCE,
    H_SERIAL,
    H_SIGNATURE,
    H_SIGNATURE_TYPE,
    H_TIMESTAMP,
    SCHEME,
    UID,
    callback_key_from_digest,
    response_message,
    serial_from_digest,
)

CURRENT_FILE = "platform_sm2.pem"
_NONCE_CHARS = string.ascii_letters + string.digits
_RELOAD_S = 5.0


def key_serial(public_key: SM2PublicKey) -> str:
    return serial_from_digest(sm3(public_key.to_der()))


def callback_key(api_secret: str) -> bytes:
    """First 16 bytes of SM3 over the partner's API secret."""
    return callback_key_from_digest(sm3(api_secret.encode()))


def random_text(length: int) -> str:
    return "".join(secrets.choice(_NONCE_CHARS) for _ in range(length))


def load_partner_key(pem: str) -> tuple[str, SM2PublicKey]:
    """(serial, key) of an uploaded SM2 public key; ``partner_key_invalid`` otherwise."""
    try:
        key = SM2PublicKey.from_pem(pem.encode())
    except CryptoError as err:
        raise PartnerKeyInvalid(err.detail) from None
    return key_serial(key), key


@dataclass(frozen=True)
class PlatformKey:
    serial: str
    private: SM2PrivateKey
    public_pem: str


@dataclass(frozen=True)
class PlatformKeys:
    current: PlatformKey
    by_serial: dict[str, PlatformKey]

    def sign_headers(self, body: bytes, at: datetime) -> dict[str, str]:
        """Headers that let a partner verify ``body`` came from the bank at ``at`` (now)."""
        timestamp, nonce = str(int(at.timestamp())), random_text(32)
        signature = self.current.private.sign(response_message(timestamp, nonce, body), UID)
        return {
            H_TIMESTAMP: timestamp,
            H_NONCE: nonce,
            H_SERIAL: self.current.serial,
            H_SIGNATURE: base64.b64encode(signature).decode(),
            H_SIGNATURE_TYPE: SCHEME,
        }

    def endorsements(self, serial: str, public_pem: str) -> dict[str, str]:
        """Every held key signs every listed key, so a partner that trusts the old key can
        trust its successor."""
        message = f"{serial}\n{public_pem}".encode()
        return {
            other.serial: base64.b64encode(other.private.sign(message, UID)).decode()
            for other in self.by_serial.values()
        }

    def decrypt_field(self, ciphertext_b64: str, serial: str | None) -> str:
        """A sensitive request field (base64 GM/T 0009 DER) encrypted to a platform key."""
        key = self.by_serial.get(serial or self.current.serial)
        if key is None:
            raise EncryptedFieldInvalid(f"no platform key has serial {serial}")
        try:
            return key.private.decrypt(base64.b64decode(ciphertext_b64, validate=True)).decode()
        except (CryptoError, binascii.Error, UnicodeDecodeError):
            raise EncryptedFieldInvalid() from None


def _load(path: Path) -> PlatformKey:
    private = SM2PrivateKey.from_pem(path.read_bytes())
    public = private.public_key()
    return PlatformKey(key_serial(public), private, public.to_pem().decode())


def _write_new(path: Path) -> PlatformKey:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = SM2PrivateKey.generate()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key.to_pem())
    return _load(path)


def read_platform_keys(directory: Path) -> PlatformKeys | None:
    current_path = directory / CURRENT_FILE
    if not current_path.exists():
        return None
    current = _load(current_path)
    keys = {current.serial: current}
    for path in sorted(directory.glob("platform_sm2.*.pem")):
        older = _load(path)
        keys.setdefault(older.serial, older)
    return PlatformKeys(current, keys)


def init_platform_key(settings: Settings) -> PlatformKeys:
    """Create the first platform key (refuses if one exists)."""
    directory = key_directory(settings)
    if (directory / CURRENT_FILE).exists():
        raise ConfigurationError(f"{directory / CURRENT_FILE} exists; use rotate")
    _write_new(directory / CURRENT_FILE)
    _CACHE.clear()
    return platform_keys(settings)


def rotate_platform_key(settings: Settings) -> PlatformKeys:
    """A new signing key; the old one stays for decryption until retired."""
    directory = key_directory(settings)
    old = read_platform_keys(directory)
    if old is None:
        raise ConfigurationError("no platform key yet; run `greenbank partners platform-key init`")
    (directory / CURRENT_FILE).rename(directory / f"platform_sm2.{old.current.serial}.pem")
    _write_new(directory / CURRENT_FILE)
    _CACHE.clear()
    return platform_keys(settings)


def retire_platform_key(settings: Settings, serial: str) -> None:
    path = key_directory(settings) / f"platform_sm2.{serial}.pem"
    if not path.exists():
        raise ConfigurationError(f"no retired-in-waiting platform key {serial}")
    path.unlink()
    _CACHE.clear()


_CACHE: dict[Path, tuple[float, PlatformKeys]] = {}
_LOCK = threading.Lock()


def platform_keys(settings: Settings) -> PlatformKeys:
    """The platform keys (re-read every few seconds, so a rotation reaches running servers)."""
    directory = key_directory(settings)
    cached = _CACHE.get(directory)
    if cached is not None and time.monotonic() - cached[0] < _RELOAD_S:
        return cached[1]
    with _LOCK:
        keys = read_platform_keys(directory)
        if keys is None:
            if settings.environment is Environment.PRODUCTION:
                raise ConfigurationError(
                    f"no platform signing key at {directory / CURRENT_FILE}: run "
                    "`greenbank partners platform-key init` (or set GREENBANK_KEYS_DIR)"
                )
            # The key ring treats a non-empty key directory as initialised: let it go first.
            open_keyring(settings)
            with contextlib.suppress(FileExistsError):  # another process made it just now
                _write_new(directory / CURRENT_FILE)
            keys = read_platform_keys(directory)
            assert keys is not None
        _CACHE[directory] = (time.monotonic(), keys)
        return keys


class _KeyCache:
    """Parsed partner public keys by (serial, PEM): parsing costs more than a table read."""

    def __init__(self) -> None:
        self._keys: dict[tuple[str, str], SM2PublicKey] = {}

    def get(self, serial: str, pem: str) -> SM2PublicKey:
        key = self._keys.get((serial, pem))
        if key is None:
            if len(self._keys) > 10_000:
                self._keys.clear()
            key = self._keys[(serial, pem)] = load_partner_key(pem)[1]
        return key


PARTNER_KEYS = _KeyCache()


def verify_request(serial: str, pem: str, signature_b64: str, message: bytes) -> None:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except binascii.Error:
        raise SignatureInvalid("the signature is not base64") from None
    if not PARTNER_KEYS.get(serial, pem).verify(signature, message, UID):
        raise SignatureInvalid()


def encrypt_resource(key: bytes, plaintext: bytes, associated_data: str) -> dict[str, str]:
    """A callback's ``resource``: SM4-GCM under the partner's callback key."""
    nonce = random_text(12)
    sealed = sm4_gcm_encrypt(key, nonce.encode(), plaintext, associated_data.encode())
    return {
        "algorithm": CALLBACK_ALGORITHM,
        "ciphertext": base64.b64encode(sealed).decode(),
        "nonce": nonce,
        "associated_data": associated_data,
    }
