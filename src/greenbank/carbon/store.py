"""Set-based writes shared by ingestion and re-computation: account locks and totals.

Both lock the carbon-account rows of the customers they touch, in customer order (so they never
deadlock with each other), change the totals in memory, and write them back with one
executemany UPDATE.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from greenbank.carbon.models import ACCOUNTS, ENTRIES, EVENTS, REJECTIONS
from greenbank.carbon.pipeline import CounterKey, Usage
from greenbank.carbon.points import DEFAULT_MG_PER_POINT, award_points, level_for

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


def lock_accounts(session: Session, customers: Sequence[str]) -> dict[str, AccountTotals]:
    """Lock (``FOR UPDATE`` on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises) and read
    the accounts of ``customers``; customers without an account are absent."""
    accounts: dict[str, AccountTotals] = {}
    ordered = sorted(set(customers))
    for part in chunks(ordered):
        query = (
            select(
                ACCOUNTS.c.customer_id,
                ACCOUNTS.c.lifetime_mg,
                ACCOUNTS.c.carried_mg,
                ACCOUNTS.c.points_earned,
                ACCOUNTS.c.points_balance,
            )
            .where(ACCOUNTS.c.customer_id.in_(part))
            .order_by(ACCOUNTS.c.customer_id)
            .with_for_update()
        )
        for customer, lifetime, carried, earned, balance in session.execute(query):
            accounts[customer] = AccountTotals(lifetime, carried, earned, balance)
    return accounts


def save_accounts(session: Session, accounts: Mapping[str, AccountTotals], now: datetime) -> None:
    rows = [
        {
            "b_customer": customer,
            "b_lifetime": totals.lifetime_mg,
            "b_carried": totals.carried_mg,
            "b_earned": totals.points_earned,
            "b_balance": totals.points_balance,
            "b_level": level_for(max(0, totals.lifetime_mg)).level.code,
            "b_now": now,
        }
        for customer, totals in accounts.items()
        if totals.changed
    ]
    if not rows:
        return
    session.execute(
        update(ACCOUNTS)
        .where(ACCOUNTS.c.customer_id == bindparam("b_customer"))
        .values(
            lifetime_mg=bindparam("b_lifetime"),
            carried_mg=bindparam("b_carried"),
            points_earned=bindparam("b_earned"),
            points_balance=bindparam("b_balance"),
            level=bindparam("b_level"),
            updated_at=bindparam("b_now"),
        ),
        rows,
        execution_options={"synchronize_session": False},
    )


def insert_rows(
    session: Session,
    events: list[dict[str, Any]],
    entries: list[dict[str, Any]],
    rejections: list[dict[str, Any]],
) -> None:
    """Core executemany inserts: the hot path creates no ORM objects."""
    for table, rows in (
        (EVENTS, events),
        (ENTRIES, entries),
        (REJECTIONS, rejections),
    ):
        if rows:
            session.execute(insert(table), rows)


def save_counters(
    session: Session, changed: Mapping[CounterKey, Usage], before: Mapping[CounterKey, Usage]
) -> None:
    """New counter values: an UPDATE for the counters that existed, an INSERT for the rest.

    Sent straight to the driver's executemany: the rows are plain ints and strings, and the
    ORM's per-row parameter processing was the largest cost of a batch after the pipeline.
    """
    updates: list[tuple[int, int, str, str, str]] = []
    inserts: list[tuple[str, str, str, int, int]] = []
    for key, usage in changed.items():
        if key in before:
            updates.append(
                (usage.events, usage.co2e_mg, key.customer_ref, key.scenario, key.window)
            )
        else:
            inserts.append(
                (key.customer_ref, key.scenario, key.window, usage.events, usage.co2e_mg)
            )
    if updates:
        _executemany(
            session,
            "UPDATE carbon_counters SET events = ?, co2e_mg = ? "
            "WHERE customer_id = ? AND scenario = ? AND period = ?",
            updates,
        )
    if inserts:
        _executemany(
            session,
            "INSERT INTO carbon_counters (customer_id, scenario, period, events, co2e_mg) "
            "VALUES (?, ?, ?, ?, ?)",
            inserts,
        )


def _executemany(session: Session, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """``sql`` in qmark style (SQLite's), rewritten for psycopg's ``%s``."""
    connection = session.connection()
    if connection.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    connection.exec_driver_sql(sql, list(rows))
