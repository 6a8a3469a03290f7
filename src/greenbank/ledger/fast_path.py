"""PostgreSQL's fast path: post a plain entry with one call of ``greenbank_post_entry``.

The function (migrations 0014 and 0019) runs the posting path's statements server-side: key
look-up, balance-row locks in account-id order, the account and guard rules, entry, postings
with their running balances, totals. It works leg by leg with scalar parameters so that
PostgreSQL plans each statement once per connection, not on every call. The call goes straight
to the driver (psycopg) as a prepared statement: client CPU per entry limits throughput, and
SQLAlchemy's per-statement work is a large part of it. When the entry is not plain (its key was
used, an account is missing, closed or short, the key lost a race) the function writes nothing
and the caller falls back to the Python path on the same transaction, so errors, replays and
releasing expired holds keep one implementation. Both paths write identical rows
(``test_ledger_fast_path.py``).

A command that posts one entry and nothing else (``commands.post_entry``) makes the call on its
own, as one autocommit statement (``post_alone``, ADR 0009): one round trip instead of four.
"""

from __future__ import annotations

from datetime import UTC

from psycopg import Error as PsycopgError
from psycopg.types.json import Json
from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

from greenbank.db import single_statement
from greenbank.ledger.schemas import EntryOut

# False runs the portable Python path on PostgreSQL too (the equivalence test compares them).
ENABLED = True

# The postings' arrays go in psycopg's binary format: ~10 µs less client CPU a call than text.
_CALL = (
    "SELECT greenbank_post_entry(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
    " %b::varchar[], %b::bigint[])"
)


def applies(conn: Connection | Engine) -> bool:
    return ENABLED and conn.dialect.name == "postgresql"


def post(conn: Connection, entry: EntryOut, *, fingerprint: str) -> bool:
    """Append a drafted entry (``posting.new_entry``) on the caller's transaction; False when
    the Python path must handle it (nothing was written)."""
    try:
        return _call(conn, entry, fingerprint)
    except PsycopgError as err:
        # As SQLAlchemy would raise it, so run_with_retry still retries deadlocks.
        raise exc.DBAPIError.instance(_CALL, (), err, PsycopgError) from err


def post_alone(engine: Engine, entry: EntryOut, *, fingerprint: str) -> bool:
    """Append a drafted entry as a transaction of its own, in one round trip; False when the
    caller must run its unit of work instead: the entry was not plain, or the call failed
    (a dead pooled connection, a deadlock). Nothing was written then, or the key was, and the
    unit of work replays it."""
    with single_statement(engine) as conn:
        try:
            return _call(conn, entry, fingerprint)
        except PsycopgError:
            return False


def _call(conn: Connection, entry: EntryOut, fingerprint: str) -> bool:
    params = (
        entry.id,
        entry.code,
        entry.idempotency_key,
        fingerprint,
        entry.value_date,
        entry.posted_at.astimezone(UTC),
        entry.description,
        Json(entry.metadata),
        entry.currency,
        entry.reverses_entry_id,
        [leg.account for leg in entry.postings],
        [leg.amount_fen for leg in entry.postings],
    )
    driver = conn.connection.driver_connection
    assert driver is not None
    row = driver.execute(_CALL, params, prepare=True).fetchone()
    return row is not None and row[0] == "posted"
