"""The platform key: created on demand in development and test, required in production, rotated
with the old key kept for decryption until retired."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pydantic import SecretStr

from greenbank.config import Environment, Settings
from greenbank.errors import ConfigurationError
from greenbank.partners.signing import (
    CURRENT_FILE,
    platform_keys,
    retire_platform_key,
    rotate_platform_key,
)


def _settings(tmp_path: Path, environment: Environment) -> Settings:
    return Settings(
        environment=environment,
        var_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path}/x.db",
        secret_key=SecretStr("not-the-dev-secret-0123456789"),
        _env_file=None,  # type: ignore[call-arg]
    )


def test_production_refuses_to_run_without_a_platform_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="platform-key init"):
        platform_keys(_settings(tmp_path, Environment.PRODUCTION))
    assert not (tmp_path / "keys" / CURRENT_FILE).exists()


def test_development_creates_it_beside_the_key_ring_and_rotation_keeps_the_old_one(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path, Environment.TEST)
    first = platform_keys(settings)
    assert (tmp_path / "keys" / CURRENT_FILE).exists()
    assert (tmp_path / "keys" / "kek.key").exists()  # the key ring was initialised first
    ciphertext = first.current.private.public_key().encrypt(b"13812345678")
    token = base64.b64encode(ciphertext).decode()
    rotated = rotate_platform_key(settings)
    assert rotated.current.serial != first.current.serial
    assert set(rotated.by_serial) == {first.current.serial, rotated.current.serial}
    assert rotated.decrypt_field(token, first.current.serial) == "13812345678"
    retire_platform_key(settings, first.current.serial)
    assert set(platform_keys(settings).by_serial) == {rotated.current.serial}
