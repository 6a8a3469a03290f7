"""The database plumbing on every backend: migrations, unit of work, time zones, savepoints."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import exc, func, select, text
from tests.postgres_support import drop_pooled_connections

from greenbank.audit.models import AuditLine
from greenbank.audit.service import record
from greenbank.bootstrap import Container
from greenbank.bus.models import OutboxEvent
from greenbank.db import Base, among, insert_many, single_statement
from greenbank.migrations_runner import migration_status


def test_migrations_are_at_head(container: Container) -> None:
    assert migration_status(container.engine).at_head


def test_migrations_match_the_models(container: Container) -> None:
    """Every table and column the models declare is created by the migrations, and no more."""
    with container.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def _count(container: Container) -> int:
    with container.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(AuditLine)) or 0


def test_unit_of_work_rolls_back_unless_committed(container: Container) -> None:
    with container.uow() as uow:
        record(uow.session, container.clock, actor="t", action="a")
    assert _count(container) == 0
    with container.uow() as uow:
        record(uow.session, container.clock, actor="t", action="a")
        uow.commit()
    assert _count(container) == 1


def test_unit_of_work_rolls_back_on_error(container: Container) -> None:
    with pytest.raises(RuntimeError), container.uow() as uow:
        record(uow.session, container.clock, actor="t", action="a")
        uow.flush()
        raise RuntimeError("boom")
    assert _count(container) == 0


def test_savepoint_rolls_back_only_the_inner_part(container: Container) -> None:
    with container.uow() as uow:
        record(uow.session, container.clock, actor="t", action="outer")
        nested = uow.session.begin_nested()
        record(uow.session, container.clock, actor="t", action="inner")
        uow.flush()
        nested.rollback()
        uow.commit()
    with container.uow() as uow:
        actions = uow.session.scalars(select(AuditLine.action)).all()
    assert actions == ["outer"]


def test_datetimes_come_back_timezone_aware_utc(container: Container) -> None:
    instant = datetime(2026, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
    with container.uow() as uow:
        line = AuditLine(at=instant, actor="t", action="a", outcome="ok", detail={})
        uow.session.add(line)
        uow.commit()
    with container.uow() as uow:
        stored = uow.session.scalar(select(AuditLine.at))
    assert stored == instant
    assert stored is not None and stored.tzinfo is not None


def test_naive_datetimes_are_refused(container: Container) -> None:
    with pytest.raises(Exception, match="naive"), container.uow() as uow:
        uow.session.add(
            AuditLine(at=datetime(2026, 1, 1), actor="t", action="a", outcome="ok", detail={})  # noqa: DTZ001
        )
        uow.flush()


def test_among_matches_a_long_list_given_as_one_parameter(container: Container) -> None:
    with container.uow() as uow:
        for actor in ("a", "b", "it's", "日本"):
            record(uow.session, container.clock, actor=actor, action="among")
        wanted = {"b", "it's", "日本", *(f"x{n}" for n in range(2_000))}
        query = select(AuditLine.actor).where(among(uow.session, AuditLine.actor, wanted))
        assert sorted(uow.session.scalars(query)) == sorted(["b", "it's", "日本"])
        nothing = select(AuditLine.actor).where(among(uow.session, AuditLine.actor, []))
        assert list(uow.session.scalars(nothing)) == []


def _outbox_row(n: int, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": f"00000000-0000-7000-8000-{n:012d}",
        "event_type": "test.happened",
        "version": 1,
        "aggregate_type": "test",
        "aggregate_id": f"it's 日本 {n}",
        "sequence": n,
        "payload": {"n": n, "nested": {"list": [1, "二", None]}, "text": "a'b\"c"},
        "headers": {} if n % 2 else {"request_id": f"r{n}"},
        "created_at": datetime(2026, 5, 1, 12, 0, n % 60, 123000, tzinfo=UTC),
        "status": "pending",
        "routed_at": None if n % 3 else datetime(2026, 5, 2, tzinfo=UTC),
        "last_error": None,
    }
    return row | changes


def test_insert_many_stores_every_value_as_given(container: Container) -> None:
    """Strings with quotes and CJK, JSON objects, NULLs, aware times, ints: read back equal (on
    PostgreSQL through the binary unnest statement, elsewhere an executemany)."""
    rows = [_outbox_row(n) for n in range(1, 301)]
    with container.uow() as uow:
        insert_many(uow.session, OutboxEvent.__table__, rows)  # type: ignore[arg-type]
        insert_many(uow.session, OutboxEvent.__table__, [])  # type: ignore[arg-type]
        uow.commit()
    with container.uow() as uow:
        stored = uow.session.execute(select(OutboxEvent.__table__).order_by(OutboxEvent.sequence))
        assert [dict(row._mapping) for row in stored] == rows


def test_insert_many_raises_sqlalchemys_integrity_error_and_writes_nothing(
    container: Container,
) -> None:
    """Callers catch ``sqlalchemy.exc.IntegrityError`` (carbon ingestion retries a batch whose
    key another batch stored first): the driver's error arrives translated."""
    with container.uow() as uow:
        insert_many(uow.session, OutboxEvent.__table__, [_outbox_row(1)])  # type: ignore[arg-type]
        uow.commit()
    with pytest.raises(exc.IntegrityError), container.uow() as uow:
        rows = [_outbox_row(2), _outbox_row(1)]  # the second one's id is taken
        insert_many(uow.session, OutboxEvent.__table__, rows)  # type: ignore[arg-type]
        uow.commit()
    with container.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxEvent)) == 1


@pytest.mark.postgres_only
def test_insert_many_refuses_an_over_long_value_instead_of_cutting_it(
    container: Container,
) -> None:
    rows = [_outbox_row(1), _outbox_row(2, aggregate_id="x" * 65)]  # the column is VARCHAR(64)
    with pytest.raises(exc.DataError, match="too long"), container.uow() as uow:
        insert_many(uow.session, OutboxEvent.__table__, rows)  # type: ignore[arg-type]
        uow.commit()
    with container.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxEvent)) == 0


@pytest.mark.postgres_only
def test_a_unit_of_work_replaces_a_pooled_connection_the_server_dropped(
    container: Container,
) -> None:
    for _ in range(3):  # several idle connections in the pool
        with container.uow() as uow:
            uow.session.execute(select(1))
    drop_pooled_connections(container)
    with container.uow() as uow:
        assert uow.session.scalar(select(1)) == 1


def test_single_statement_commits_its_statement_on_both_databases(container: Container) -> None:
    table = OutboxEvent.__table__
    with single_statement(container.engine) as conn:
        conn.execute(table.insert(), [_outbox_row(1)])  # type: ignore[attr-defined]
    with container.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OutboxEvent)) == 1


def test_single_statement_on_sqlite_does_not_wait_for_the_write_lock(container: Container) -> None:
    """A unit of work takes SQLite's write lock when it begins (BEGIN IMMEDIATE); a single
    statement does not, so a read (an authentication) goes on while a command writes."""
    if container.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's database-wide write lock")
    with container.uow() as writer:
        writer.session.execute(select(1))  # holds the write lock from here on
        started = time.monotonic()
        with single_statement(container.engine) as conn:
            assert conn.scalar(select(func.count()).select_from(OutboxEvent)) == 0
        assert time.monotonic() - started < 5  # busy_timeout is 10 s


@pytest.mark.postgres_only
def test_single_statement_is_autocommit_and_unpinged(container: Container) -> None:
    container.engine.dispose()
    with single_statement(container.engine) as conn:
        driver = conn.connection.driver_connection
        assert driver is not None and driver.autocommit
        driver.execute("SELECT 1")
    with container.engine.connect() as conn:  # the same connection, back to normal
        assert conn.connection.driver_connection is driver and not driver.autocommit
    drop_pooled_connections(container)
    with pytest.raises(exc.OperationalError), single_statement(container.engine) as conn:
        conn.exec_driver_sql("SELECT 1")  # not pinged: the dead connection is handed out
    with container.uow() as uow:  # and was not put back
        assert uow.session.scalar(select(1)) == 1


def _prepared_statements(container: Container, *, end_reading: bool) -> int:
    """Statements prepared on the pooled connection, counted by a unit that then ends reading
    or is left uncommitted (rolled back)."""
    with container.uow() as uow:
        count = uow.session.scalar(text("SELECT count(*) FROM pg_prepared_statements")) or 0
        if end_reading:
            uow.end_reading()
    return count


@pytest.mark.postgres_only
def test_ending_a_read_keeps_the_connections_prepared_statements(container: Container) -> None:
    """psycopg forgets them at every ROLLBACK (and sends DEALLOCATE ALL); COMMIT keeps them."""
    container.engine.dispose()  # one pooled connection from here on
    with container.engine.connect() as conn:
        driver = conn.connection.driver_connection
        assert driver is not None
        driver.execute("SELECT 1", prepare=True)
        driver.commit()
    assert _prepared_statements(container, end_reading=True) == 1
    assert _prepared_statements(container, end_reading=True) == 1
    assert _prepared_statements(container, end_reading=False) == 1  # then rolled back
    assert _prepared_statements(container, end_reading=True) == 0


def test_end_reading_refuses_a_unit_with_changes_and_writes_nothing(
    container: Container,
) -> None:
    with container.uow() as uow:
        record(uow.session, container.clock, actor="t", action="a")
        with pytest.raises(RuntimeError, match="changes"):
            uow.end_reading()
    assert _count(container) == 0
