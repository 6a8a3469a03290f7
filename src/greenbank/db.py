"""Database plumbing shared by every domain: the declarative Base, engines, the unit of work.

SQLite is the embedded default and PostgreSQL the production database (ADR 0003). On SQLite we
apply SQLAlchemy's documented pysqlite fix (the driver's own transaction handling is switched off
and we emit BEGIN ourselves) so SAVEPOINTs work and writers take the lock up front with
``BEGIN IMMEDIATE`` instead of failing later on a lock upgrade.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self, TypeVar, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    MetaData,
    String,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    exc,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import URL, Connection, Dialect, Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from greenbank.errors import ConfigurationError, Conflict, ServiceUnavailable

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

T = TypeVar("T")
M = TypeVar("M", bound="Base")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out on every database (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table; constraint names are stable across both databases."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {int: BigInteger, datetime: UTCDateTime}


class DatabaseBusy(ServiceUnavailable):
    code = "database_busy"
    title = "The database is busy; retry the request"


class DuplicateRequest(Conflict):
    code = "duplicate_request"
    title = "A conflicting request was already applied"


def _check_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except exc.ArgumentError as err:
        raise ConfigurationError(f"GREENBANK_DATABASE_URL is not a database URL: {url!r}") from err
    if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ConfigurationError(
            f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql+psycopg"
        )
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (pysqlite fix)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def create_db_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    """An engine for ``url`` with greenbank's per-database settings applied."""
    parsed = _check_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, echo=echo, connect_args={"timeout": 10})
        _configure_sqlite(engine)
        return engine
    engine = create_engine(
        parsed,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={"connect_timeout": 5},
    )
    _ping_on_checkout(engine)
    return engine


# False while ``single_statement`` checks a connection out: that statement is its own ping.
_PING_ON_CHECKOUT: ContextVar[bool] = ContextVar("greenbank_ping_on_checkout", default=True)


def _ping_on_checkout(engine: Engine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, as a checkout listener so ``single_statement`` can skip
    it: a pooled connection the server dropped (restart, fail-over, idle timeout) is replaced
    before a unit of work uses it."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        if not _PING_ON_CHECKOUT.get():
            return
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as err:
            if dialect.is_disconnect(err, dbapi_conn, None):
                raise exc.DisconnectionError(str(err)) from err  # the pool reconnects
            raise


@contextmanager
def single_statement(engine: Engine) -> Iterator[Connection]:
    """A pooled connection in autocommit mode, not pinged, for ONE statement that is a whole
    transaction by itself and safe to run again (ADR 0009).

    It saves three of a short command's four round trips (the ping, BEGIN, COMMIT). The caller
    must treat any driver error as "not done" and run the command again on a unit of work,
    whose pinged connection replaces a dead one; the statement's own idempotency settles
    whether the first attempt committed. On SQLite (no network, no ping) the block is a
    deferred transaction that commits when it completes: one statement needs no write lock up
    front (units of work take it, as they may read before they write).
    """
    if engine.dialect.name != "postgresql":
        with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn, conn.begin():
            yield conn
        return
    token = _PING_ON_CHECKOUT.set(False)
    try:
        conn = engine.connect()
    finally:
        _PING_ON_CHECKOUT.reset(token)
    with conn:
        # The driver's own switch: SQLAlchemy's AUTOCOMMIT execution option costs more Python
        # time (isolation-level bookkeeping at checkout and checkin) than the statement's call.
        driver = conn.connection.driver_connection
        assert driver is not None
        driver.autocommit = True
        try:
            yield conn
        finally:
            if driver.closed:
                conn.invalidate()
            else:
                driver.autocommit = False


def among(
    session: Session, column: ColumnElement[str], values: Collection[str]
) -> ColumnElement[bool]:
    """``column IN values`` with the whole list as one bound parameter, for batch look-ups of
    hundreds of keys: ``= ANY(array)`` on PostgreSQL, ``IN (SELECT value FROM json_each(?))`` on
    SQLite. Both use the column's index; the statement text stays the same whatever the number
    of values, and a 1,000-key look-up costs a quarter of the CPU of an expanded IN list."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(String)))
    listed = func.json_each(bindparam(None, json.dumps(list(values)), type_=String))
    return column.in_(select(listed.table_valued("value").c.value))


def insert_ignoring_conflicts(conn: Connection, table: Table, *, returning: bool = False) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` on both databases: a race's loser gets no row.
    Built once per table and dialect: a hot caller executes it with the row as parameters."""
    return _ignoring_conflicts(conn.dialect.name, table, returning)


@cache
def _ignoring_conflicts(dialect_name: str, table: Table, returning: bool) -> Any:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table).on_conflict_do_nothing()
    return statement.returning(*table.c) if returning else statement


def locked_row(session: Session, model: type[M], key: Mapping[str, Any], **first: Any) -> M:
    """The row of ``model`` with ``key`` (its unique columns), created with ``first`` if missing,
    locked for the transaction. Two transactions that both find it missing do not fail on the
    unique key: the later INSERT waits for the earlier, does nothing, and locks its row."""
    table = cast(Table, model.__table__)
    session.execute(insert_ignoring_conflicts(session.connection(), table), {**key, **first})
    query = select(model).filter_by(**key).with_for_update()
    return session.scalars(query.execution_options(populate_existing=True)).one()


def insert_many(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` in one go, for batch writers (ADR 0010). The rows are dicts with the same
    keys and every column they need: no Python-side defaults are applied, and ARRAY columns are
    not supported (``unnest`` would flatten them). Each value goes through its column type's
    bind processing, as SQLAlchemy would send it, straight to the driver: no per-row parameter
    building in SQLAlchemy, about a third of an executemany's client CPU on SQLite.

    On PostgreSQL: one ``INSERT ... SELECT FROM unnest(...)`` with one array per column in
    psycopg's binary format. The server runs one statement instead of one per row, and the client
    spends a third of the CPU of an executemany (carbon events: 28 -> 8.5 µs a row, measured).
    The arrays are cast to the column's type without its length, so an over-long value fails on
    the column as it would on a plain INSERT instead of being cut by the cast. On SQLite: an
    executemany of the one-row INSERT.
    """
    if not rows:
        return
    connection = session.connection()
    keys = tuple(rows[0])
    statement, processors = _insert_statement(connection.dialect, table, keys)
    values = [
        [process(row[key]) for row in rows] if process else [row[key] for row in rows]
        for key, process in zip(keys, processors, strict=True)
    ]
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(statement, tuple(values))
    else:
        connection.exec_driver_sql(statement, list(zip(*values, strict=True)))


@lru_cache(maxsize=1024)  # (dialect, table, columns): a handful in a server, more in tests
def _insert_statement(
    dialect: Dialect, table: Table, keys: tuple[str, ...]
) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    """``insert_many``'s SQL and bind processors for these columns, worked out once (rendering
    the types costs more than a one-row insert's other Python work)."""
    quote = dialect.identifier_preparer
    names, casts = [], []
    processors: list[Callable[[Any], Any] | None] = []
    for column in (table.c[key] for key in keys):
        column_type = column.type.dialect_impl(dialect)
        names.append(quote.quote(column.name))
        casts.append(re.sub(r"\(.*?\)", "", column_type.compile(dialect=dialect)) + "[]")
        processors.append(column_type.bind_processor(dialect))
    listed = ", ".join(names)
    target = f"{quote.format_table(table)} ({listed})"
    # Names from the table's metadata, values bound: nothing in these statements is user input.
    if dialect.name == "postgresql":
        unnest = ", ".join(f"%b::{cast}" for cast in casts)
        statement = f"INSERT INTO {target} SELECT * FROM unnest({unnest}) AS u({listed})"  # noqa: S608
    else:
        marks = ", ".join("?" * len(names))
        statement = f"INSERT INTO {target} VALUES ({marks})"  # noqa: S608
    return statement, tuple(processors)


def is_retryable(err: BaseException) -> bool:
    """Deadlocks and serialization failures on PostgreSQL; 'database is locked' on SQLite."""
    orig = getattr(err, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in {"40001", "40P01"}:
        return True
    return isinstance(err, exc.OperationalError) and "database is locked" in str(err)


class UnitOfWork:
    """Owns one transaction: ``with uow:`` ... ``uow.commit()`` once; anything else rolls back.

    Service functions take a ``UnitOfWork`` factory so a test can hand them one bound to a test
    database and the API can hand them one bound to the app's engine.
    """

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
        self._session: Session | None = None
        self.committed = False

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside its 'with' block")
        return self._session

    def __enter__(self) -> Self:
        self._session = self._session_factory()
        self.committed = False
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            if not self.committed:
                session.rollback()
        finally:
            session.close()
            self._session = None

    @property
    def engine(self) -> Engine:
        """The engine the unit's sessions are bound to."""
        bind = self._session_factory.kw["bind"]
        assert isinstance(bind, Engine)
        return bind

    def commit(self) -> None:
        self.session.commit()
        self.committed = True

    def end_reading(self) -> None:
        """End a unit that only read with COMMIT (``commit_reading``)."""
        commit_reading(self.session)
        self.committed = True

    def flush(self) -> None:
        self.session.flush()


UowFactory = Callable[[], UnitOfWork]


def commit_reading(session: Session) -> None:
    """End a transaction that only read with COMMIT, not the ROLLBACK of leaving it open.

    On PostgreSQL psycopg forgets every statement it prepared on the connection at each
    ROLLBACK and sends ``DEALLOCATE ALL``: a round trip, and the next units on that pooled
    connection parse and plan their statements again. Authenticating every request with a
    rolled-back look-up cost deposit purchases 2.7 ms of PostgreSQL CPU each; 1.5 ms with
    this (ADR 0012). Refuses a session that has changes to write.
    """
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a read must not write: this one has changes (commit a unit instead)")
    session.commit()


def run_with_retry(fn: Callable[[], T], *, attempts: int = 5, base_delay: float = 0.01) -> T:
    """Run a whole unit of work again after a deadlock / serialization failure / lock timeout."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except exc.DBAPIError as err:
            if not is_retryable(err) or attempt == attempts:
                if is_retryable(err):
                    raise DatabaseBusy() from err
                raise
            time.sleep(base_delay * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def connect_or_explain(engine: Engine) -> Iterator[Any]:
    """Open a connection, turning driver errors into one clear ConfigurationError line."""
    try:
        with engine.connect() as conn:
            yield conn
    except exc.OperationalError as err:
        message = str(err.orig).strip().splitlines()[0] if err.orig else str(err)
        raise ConfigurationError(
            f"cannot reach database {engine.url.render_as_string(hide_password=True)}: {message}"
        ) from err
