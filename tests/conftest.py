"""Shared fixtures: an isolated, migrated database per test on SQLite and (when
``GREENBANK_TEST_DATABASE_URL`` is set) the same tests again on PostgreSQL; a fixed clock;
a container and an HTTP client bound to them.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from greenbank.api import create_app
from greenbank.bootstrap import Container, build_container
from greenbank.clock import FixedClock
from greenbank.config import Environment, Settings
from greenbank.db import create_db_engine
from greenbank.migrations_runner import upgrade

PG_URL = os.environ.get("GREENBANK_TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"]


def pytest_report_header() -> str:
    return f"greenbank databases: sqlite{' + postgresql' if PG_URL else ' (postgresql not set)'}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (much faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    with sqlite3.connect(path) as raw:  # fold the WAL into the file so a plain copy is complete
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine]:
    if not PG_URL:
        pytest.skip("GREENBANK_TEST_DATABASE_URL not set")
    engine = create_db_engine(PG_URL)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_tables(pg_engine: Engine) -> list[str]:
    return [t for t in inspect(pg_engine).get_table_names() if t != "alembic_version"]


def _empty_tables(engine: Engine, tables: list[str]) -> None:
    """Delete the rows a previous test left behind.

    Only tables that hold rows are touched: TRUNCATE of every table costs about a second per
    test, this a few milliseconds. ``session_replication_role = replica`` switches off triggers
    (the ledger's append-only guards, foreign-key checks) for this cleanup transaction only.
    """
    probe = " UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM {t})" for t in tables)
    with engine.begin() as conn:
        used = conn.execute(text(probe)).scalars().all()
        if used:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table in used:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """The URL of an empty, migrated database for this test."""
    if request.param == "postgresql":
        engine = request.getfixturevalue("pg_engine")
        _empty_tables(engine, request.getfixturevalue("pg_tables"))
        assert PG_URL
        return PG_URL
    if request.node.get_closest_marker("postgres_only"):
        pytest.skip("PostgreSQL-only test")
    path = tmp_path / "greenbank.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment=Environment.TEST,
        database_url=db_url,
        var_dir=tmp_path / "var",
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def container(settings: Settings, clock: FixedClock) -> Iterator[Container]:
    built = build_container(settings, clock=clock)
    yield built
    built.close()


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container=container), raise_server_exceptions=False) as test_client:
        yield test_client
