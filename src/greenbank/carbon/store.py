"""Set-based reads and writes of ingestion and re-computation: account locks and totals,
counters, and the rows of a batch.

Both lock the carbon-account rows of the customers they touch, in customer order (so they never
deadlock with each other), change the totals in memory, and write each changed account once.
Counter and account writes go straight to the driver as plain values (``_write_rows``): an
executemany on SQLite, one statement over ``unnest`` arrays on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select, text
from sqlalchemy.orm import Session

from greenbank.carbon.models import ACCOUNTS, ENTRIES, EVENTS, REJECTIONS
from greenbank.carbon.pipeline import CounterKey, Usage
from greenbank.carbon.points import DEFAULT_MG_PER_POINT, award_points, level_for
from greenbank.db import among, insert_many

MG_PER_POINT = DEFAULT_MG_PER_POINT
CHUNK = 500  # ids per IN (...) list
T = TypeVar("T")


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass
class AccountTotals:
    lifetime_mg: int
    carried_mg: int
    points_earned: int
    points_balance: int
    changed: bool = False

    def add(self, delta_mg: int) -> int:
        """Apply a credit or adjustment; returns the points a positive one earns (the remainder
        below a point is carried). A negative one lowers the reduction but takes no points."""
        self.lifetime_mg += delta_mg
        self.changed = True
        if delta_mg <= 0:
            return 0
        points, self.carried_mg = award_points(self.carried_mg, delta_mg, MG_PER_POINT)
        self.points_earned += points
        self.points_balance += points
        return points


def plan_for_actual_values(session: Session) -> None:
    """PostgreSQL: plan this transaction's statements for the values they are run with.

    psycopg prepares a statement on the server after a few executions, and PostgreSQL may then
    keep a generic plan chosen while the table was small: a sequential scan that slows down as
    the table grows (the batch look-up of seen keys went from 3 ms to 300 ms over 20,000 events
    on a fresh database). A batch runs a dozen statements, so planning each one costs little.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def lock_accounts(session: Session, customers: Collection[str]) -> dict[str, AccountTotals]:
    """Lock (``FOR UPDATE`` on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises) and read
    the accounts of ``customers``, in customer order; customers without an account are absent."""
    query = (
        select(
            ACCOUNTS.c.customer_id,
            ACCOUNTS.c.lifetime_mg,
            ACCOUNTS.c.carried_mg,
            ACCOUNTS.c.points_earned,
            ACCOUNTS.c.points_balance,
        )
        .where(among(session, ACCOUNTS.c.customer_id, set(customers)))
        .order_by(ACCOUNTS.c.customer_id)
        .with_for_update()
    )
    return {
        customer: AccountTotals(lifetime, carried, earned, balance)
        for customer, lifetime, carried, earned, balance in session.execute(query)
    }


def save_accounts(session: Session, accounts: Mapping[str, AccountTotals], now: datetime) -> None:
    """The changed accounts' totals and level, in one statement or executemany (``_write_rows``;
    ints and strings, the time converted once for the whole batch)."""
    at = bind_value(session, ACCOUNTS.c.updated_at, now)
    rows = [
        (
            totals.lifetime_mg,
            totals.carried_mg,
            totals.points_earned,
            totals.points_balance,
            level_for(max(0, totals.lifetime_mg)).level.code,
            at,
            customer,
        )
        for customer, totals in accounts.items()
        if totals.changed
    ]
    _write_rows(
        session,
        rows,
        one_row="UPDATE carbon_accounts SET lifetime_mg = ?, carried_mg = ?, points_earned = ?, "
        "points_balance = ?, level = ?, updated_at = ? WHERE customer_id = ?",
        all_rows="UPDATE carbon_accounts AS a SET lifetime_mg = u.lifetime_mg, "
        "carried_mg = u.carried_mg, points_earned = u.points_earned, "
        "points_balance = u.points_balance, level = u.level, updated_at = u.updated_at "
        "FROM unnest(%b::bigint[], %b::bigint[], %b::bigint[], %b::bigint[], %b::varchar[], "
        "%b::timestamptz[], %b::varchar[]) "
        "AS u(lifetime_mg, carried_mg, points_earned, points_balance, level, updated_at, "
        "customer_id) WHERE a.customer_id = u.customer_id",
    )


def insert_rows(
    session: Session,
    events: list[dict[str, Any]],
    entries: list[dict[str, Any]],
    rejections: list[dict[str, Any]],
) -> None:
    """One ``insert_many`` per table: the hot path creates no ORM objects."""
    for table, rows in (
        (EVENTS, events),
        (ENTRIES, entries),
        (REJECTIONS, rejections),
    ):
        insert_many(session, table, rows)


def save_counters(
    session: Session, changed: Mapping[CounterKey, Usage], given: Mapping[CounterKey, Usage]
) -> None:
    """Add what the batch counted (``changed`` minus what the pipeline was ``given``; counters it
    was not given count from zero) to the stored counters, creating the missing ones: one upsert
    (``_write_rows``; the rows are plain ints and strings)."""
    unused = Usage()
    rows = []
    for key, usage in changed.items():
        before = given.get(key, unused)
        rows.append(
            (
                key.customer_ref,
                key.scenario,
                key.window,
                usage.events - before.events,
                usage.co2e_mg - before.co2e_mg,
            )
        )
    _write_rows(
        session,
        rows,
        one_row="INSERT INTO carbon_counters (customer_id, scenario, period, events, co2e_mg) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (customer_id, scenario, period) DO UPDATE "
        "SET events = carbon_counters.events + excluded.events, "
        "co2e_mg = carbon_counters.co2e_mg + excluded.co2e_mg",
        all_rows="INSERT INTO carbon_counters (customer_id, scenario, period, events, co2e_mg) "
        "SELECT * FROM unnest(%b::varchar[], %b::varchar[], %b::varchar[], %b::bigint[], "
        "%b::bigint[]) ON CONFLICT (customer_id, scenario, period) DO UPDATE "
        "SET events = carbon_counters.events + excluded.events, "
        "co2e_mg = carbon_counters.co2e_mg + excluded.co2e_mg",
    )


def bind_value(session: Session, column: ColumnElement[T], value: T) -> Any:
    """``value`` as the driver receives it for ``column`` (e.g. SQLite's text form of a time),
    for statements sent to the driver directly."""
    processor = column.type.bind_processor(session.get_bind().dialect)
    return processor(value) if processor is not None else value


def _write_rows(
    session: Session, rows: Sequence[tuple[Any, ...]], *, one_row: str, all_rows: str
) -> None:
    """Send ``rows`` straight to the driver: on SQLite as an executemany of ``one_row`` (qmark
    parameters); on PostgreSQL as the single statement ``all_rows``, which takes one array per
    column (``unnest``), so the server runs one statement instead of one per row. Its arrays go
    in psycopg's binary format (``%b``): a third of the client CPU of the text format, whose
    per-element quoting was a tenth of a batch's time."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(
            all_rows, tuple(list(column) for column in zip(*rows, strict=True))
        )
    else:
        connection.exec_driver_sql(one_row, list(rows))
