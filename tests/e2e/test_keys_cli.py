"""``greenbank keys``: init refuses to overwrite, status counts tokens per version, rotate
moves them all to a new version; configuration problems are one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from greenbank.bootstrap import build_container
from greenbank.config import Settings
from greenbank.crypto import export_env
from greenbank.customers import registry
from greenbank.customers.models import Customer
from greenbank.migrations_runner import upgrade

CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("GREENBANK_")}


def keys_cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greenbank", "keys", *args],
        capture_output=True,
        text=True,
        env={**CLEAN_ENV, "COLUMNS": "200", **env},
        cwd=cwd,
        timeout=120,
        check=False,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite database with three customers, and the settings the CLI reads."""
    values = {
        "GREENBANK_DATABASE_URL": f"sqlite:///{tmp_path}/keys.db",
        "GREENBANK_VAR_DIR": str(tmp_path / "var"),
    }
    settings = Settings(
        database_url=values["GREENBANK_DATABASE_URL"],
        var_dir=tmp_path / "var",
        _env_file=None,  # type: ignore[call-arg]
    )
    container = build_container(settings)
    upgrade(container.engine)
    with container.uow() as uow:
        for n in range(3):
            customer = registry.get_or_create_by_phone(
                uow.session, container.keyring, container.clock, f"1380000000{n}"
            )
            customer.name = f"客户{n}"
        uow.commit()
    container.close()
    return values


def _row(output: str, column: str) -> list[str]:
    line = next(line for line in output.splitlines() if column in line)
    return [cell.strip() for cell in line.strip("│┃ ").split("│")]


def test_init_refuses_to_overwrite_existing_keys(tmp_path: Path) -> None:
    target = tmp_path / "var" / "keys"
    first = keys_cli("init", cwd=tmp_path, GREENBANK_VAR_DIR=str(tmp_path / "var"))
    assert first.returncode == 0, first.stderr
    assert sorted(p.name for p in target.iterdir()) == [
        "dek-1.wrapped",
        "index.wrapped",
        "kek.key",
    ]
    kek = (target / "kek.key").read_bytes()
    assert (target / "kek.key").stat().st_mode & 0o077 == 0
    again = keys_cli("init", "--dir", str(target), cwd=tmp_path)
    assert again.returncode == 2
    assert "crypto_keystore_error" in again.stderr and "never overwritten" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1 and "Traceback" not in again.stderr
    assert (target / "kek.key").read_bytes() == kek


def test_status_and_rotate(tmp_path: Path, env: dict[str, str]) -> None:
    before = keys_cli("status", cwd=tmp_path, **env)
    assert before.returncode == 0, before.stderr
    assert "versions 1..1" in before.stdout
    assert _row(before.stdout, "customers.phone") == ["customers.phone", "3", "0", "0"]
    assert _row(before.stdout, "customers.id_number") == ["customers.id_number", "0", "0", "0"]

    rotated = keys_cli("rotate", "--batch-size", "2", cwd=tmp_path, **env)
    assert rotated.returncode == 0, rotated.stderr
    assert "new version 2: 6 tokens re-encrypted in 2 batches" in rotated.stdout
    assert "0 left" in rotated.stdout

    after = keys_cli("status", cwd=tmp_path, **env)
    assert _row(after.stdout, "customers.name") == ["customers.name", "0", "3", "0", "0"]
    assert sorted(p.name for p in (tmp_path / "var" / "keys").glob("dek-*")) == [
        "dek-1.wrapped",
        "dek-2.wrapped",
    ]
    settings = Settings(
        database_url=env["GREENBANK_DATABASE_URL"],
        var_dir=tmp_path / "var",
        _env_file=None,  # type: ignore[call-arg]
    )
    container = build_container(settings)
    with container.uow() as uow:
        names = sorted(c.name or "" for c in uow.session.query(Customer))
    container.close()
    assert names == ["客户0", "客户1", "客户2"]


def test_production_without_keys_is_one_clear_line(tmp_path: Path, env: dict[str, str]) -> None:
    result = keys_cli(
        "status",
        cwd=tmp_path,
        **env,
        GREENBANK_ENVIRONMENT="production",
        GREENBANK_SECRET_KEY="not-the-default",
        GREENBANK_KEYS_DIR=str(tmp_path / "nowhere"),
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error [configuration_error] no keys in")
    assert "greenbank keys init" in result.stderr and "Traceback" not in result.stderr


def test_rotating_a_read_only_environment_store_says_so(
    tmp_path: Path, env: dict[str, str]
) -> None:
    exported = export_env(tmp_path / "var" / "keys")
    result = keys_cli("rotate", cwd=tmp_path, **env, **exported, GREENBANK_KEY_SOURCE="env")
    assert result.returncode == 2
    assert "crypto_keystore_error" in result.stderr and "read-only" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
