"""``greenbank doctor``: what is installed, reachable and missing; non-zero when broken."""

from __future__ import annotations

import importlib
import platform
import sys
from collections.abc import Callable
from importlib import metadata

import typer
from rich.console import Console
from rich.table import Table

from greenbank import __version__
from greenbank.cli.context import load_settings
from greenbank.db import create_db_engine
from greenbank.keys import check_key_store
from greenbank.migrations_runner import migration_status

console = Console()
Check = Callable[[], tuple[bool, str]]


def _database() -> tuple[bool, str]:
    settings = load_settings()
    engine = create_db_engine(settings.database_url)
    try:
        status = migration_status(engine)
    except Exception as err:
        return False, f"{engine.url.render_as_string(hide_password=True)}: {type(err).__name__}"
    finally:
        engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    if not status.at_head:
        return False, f"{where}: migrations behind (run: greenbank db upgrade)"
    return True, f"{where}: migrations at head"


def _crypto() -> tuple[bool, str]:
    try:
        crypto = importlib.import_module("greenbank.crypto")
    except ImportError as err:
        return False, f"greenbank.crypto unavailable: {err}"
    backend = getattr(crypto, "backend_name", None)
    self_test = getattr(crypto, "self_test", None)
    if backend is None or self_test is None:
        return False, "greenbank.crypto is incomplete"
    try:
        self_test()
    except Exception as err:
        return False, f"self-test failed: {err}"
    return True, f"SM2/SM3/SM4 self-test passed; SM2 backend: {backend()}"


def _packages() -> tuple[bool, str]:
    wanted = ["fastapi", "sqlalchemy", "alembic", "psycopg", "cryptography", "pydantic"]
    versions = []
    for name in wanted:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            return False, f"{name} is not installed"
    return True, ", ".join(versions)


CHECKS: dict[str, Check] = {
    "packages": _packages,
    "database": _database,
    "crypto": _crypto,
    "keys": lambda: check_key_store(load_settings()),
}


def doctor() -> None:
    """Print versions, database, crypto backend and anything missing; exit 1 if broken."""
    table = Table(title=f"greenbank {__version__}")
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail")
    table.add_row("python", "ok", f"{platform.python_implementation()} {sys.version.split()[0]}")
    broken = False
    for name, check in CHECKS.items():
        ok, detail = check()
        broken |= not ok
        table.add_row(name, "[green]ok[/green]" if ok else "[red]FAIL[/red]", detail)
    console.print(table)
    if broken:
        raise typer.Exit(1)
