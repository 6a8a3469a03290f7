"""Where the key ring comes from: the file store (created on demand outside production) or
environment variables; the Container opens it lazily and hands it to every session."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenbank.bootstrap import build_container
from greenbank.config import Environment, Settings
from greenbank.crypto import export_env
from greenbank.errors import ConfigurationError
from greenbank.keys import check_key_store, key_directory, open_keyring
from greenbank.pii import session_keyring


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": Environment.TEST,
        "database_url": f"sqlite:///{tmp_path}/k.db",
        "var_dir": tmp_path / "var",
        **overrides,
    }
    return Settings(**values, _env_file=None)  # type: ignore[arg-type, call-arg]


def test_development_creates_missing_keys_once(tmp_path: Path) -> None:
    settings = _settings(tmp_path, environment=Environment.DEVELOPMENT)
    assert key_directory(settings) == tmp_path / "var" / "keys"
    first = open_keyring(settings)
    assert sorted(p.name for p in key_directory(settings).iterdir()) == [
        "dek-1.wrapped",
        "index.wrapped",
        "kek.key",
    ]
    second = open_keyring(settings)
    assert second.blind_index("13812345678", kind="phone") == first.blind_index(
        "13812345678", kind="phone"
    )


def test_production_without_keys_is_one_clear_configuration_error(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path, environment=Environment.PRODUCTION, secret_key="s3cret", keys_dir=tmp_path / "k"
    )
    with pytest.raises(ConfigurationError, match="greenbank keys init") as err:
        open_keyring(settings)
    assert err.value.code == "configuration_error" and "\n" not in err.value.detail
    assert not (tmp_path / "k").exists()


def test_environment_key_source_matches_the_file_store(tmp_path: Path) -> None:
    file_ring = open_keyring(_settings(tmp_path, keys_dir=tmp_path / "keys"))
    token = file_ring.encrypt_field("张三", table="customers", column="name", record_id="r1")
    environ = {**export_env(tmp_path / "keys"), "GREENBANK_KEYS_DIR": "/elsewhere", "PATH": "/"}
    env_ring = open_keyring(_settings(tmp_path, key_source="env"), environ)
    assert env_ring.decrypt_field(token, table="customers", column="name", record_id="r1") == "张三"
    assert env_ring.blind_index("110105 19491231 002x", kind="id_number") == file_ring.blind_index(
        "11010519491231002X", kind="id_number"
    )


def test_environment_key_source_without_a_kek_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="GREENBANK_KEYS_KEK is not set"):
        open_keyring(_settings(tmp_path, key_source="env"), {})


def test_the_container_opens_the_key_ring_on_first_use(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    container = build_container(settings)
    try:
        assert not key_directory(settings).exists()
        ring = container.keyring
        assert key_directory(settings).is_dir() and container.keyring is ring
        with container.uow() as uow:
            assert session_keyring(uow.session) is ring
    finally:
        container.close()


def test_doctor_check_reports_without_creating_keys(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert check_key_store(settings) == (
        True,
        f"no keys in {tmp_path}/var/keys yet; created on first use",
    )
    assert not key_directory(settings).exists()
    production = _settings(tmp_path, environment=Environment.PRODUCTION, secret_key="s3cret")
    assert check_key_store(production)[0] is False
    open_keyring(settings).add_version()
    assert check_key_store(production) == (True, f"{tmp_path}/var/keys: data key versions 1..2")
