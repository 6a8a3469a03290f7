"""Alembic environment: one migration history for SQLite and PostgreSQL.

The connection comes from ``greenbank.migrations_runner`` (config.attributes["connection"]) or,
when Alembic is run by hand, from ``GREENBANK_DATABASE_URL``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from greenbank.bootstrap import import_all_models
from greenbank.db import Base

import_all_models()
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from greenbank.config import Settings
    from greenbank.db import create_db_engine

    engine = create_db_engine(Settings().database_url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported; run against a database")
run_migrations_online()
