"""What PostgreSQL tests observe on a container's pool: its round trips, the statements psycopg
prepared on it, and what a server restart does to it."""

from __future__ import annotations

import tempfile
from collections.abc import Callable

import psycopg
from sqlalchemy import text

from greenbank.bootstrap import Container


def drop_pooled_connections(container: Container) -> None:
    """What a PostgreSQL restart does to a pool: every idle pooled connection is cut (from a
    connection of its own, outside the pool)."""
    url = container.engine.url.set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def round_trips(container: Container, action: Callable[[], object]) -> int:
    """Client/server round trips ``action`` makes on the pool's one connection (libpq trace;
    dispose the engine first so that there is one)."""
    with container.engine.connect() as conn:
        pgconn = conn.connection.driver_connection.pgconn  # type: ignore[union-attr]
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        try:
            action()
        finally:
            pgconn.untrace()
        trace.seek(0)
        return trace.read().count("\tReadyForQuery\t")


def prepared_statements(container: Container) -> list[str]:
    """The statements psycopg prepared on the connection a unit of work gets (the pool's only
    one, if the test disposed the engine), read by a unit that ends with COMMIT."""
    with container.uow() as uow:
        found = list(uow.session.scalars(text("SELECT statement FROM pg_prepared_statements")))
        uow.end_reading()
    return found
