"""``verify_ledger``: recompute everything from the postings and compare (any database).

This is the third line of defence after the domain rules and PostgreSQL's deferred trigger: it
catches a balance row that drifted, an entry that does not sum to zero, a broken running
balance, an overdrawn guarded account or a hold total that disagrees with its holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, aliased

from greenbank.ledger.domain import AccountType, Guard, HoldState, natural
from greenbank.ledger.posting import ACCOUNTS, BALANCES, ENTRIES, HOLDS, POSTINGS

MAX_LISTED = 20


@dataclass(frozen=True)
class CheckResult:
    name: str
    description: str
    problems: tuple[str, ...]
    count: int

    @property
    def ok(self) -> bool:
        return self.count == 0


@dataclass(frozen=True)
class VerifyReport:
    checks: tuple[CheckResult, ...]
    accounts: int
    entries: int
    postings: int

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


def _check(name: str, description: str, problems: Iterable[str]) -> CheckResult:
    found = list(problems)
    return CheckResult(name, description, tuple(found[:MAX_LISTED]), len(found))


def _per_account_totals() -> Any:
    return (
        select(POSTINGS.c.account_id, func.sum(POSTINGS.c.amount_fen).label("total"))
        .group_by(POSTINGS.c.account_id)
        .subquery()
    )


def _balances(conn: Connection) -> Iterable[str]:
    totals = _per_account_totals()
    rows = conn.execute(
        select(ACCOUNTS.c.code, BALANCES.c.posted_fen, func.coalesce(totals.c.total, 0))
        .select_from(ACCOUNTS)
        .outerjoin(BALANCES, BALANCES.c.account_id == ACCOUNTS.c.id)
        .outerjoin(totals, totals.c.account_id == ACCOUNTS.c.id)
    )
    for code, stored, total in rows:
        if stored is None:
            yield f"{code}: no balance row"
        elif stored != total:
            yield f"{code}: balance row {stored}, postings sum {total}"


def _entries(conn: Connection) -> Iterable[str]:
    rows = conn.execute(
        select(
            ENTRIES.c.id,
            func.coalesce(func.sum(POSTINGS.c.amount_fen), 0),
            func.count(POSTINGS.c.id),
        )
        .select_from(ENTRIES)
        .outerjoin(POSTINGS, POSTINGS.c.entry_id == ENTRIES.c.id)
        .group_by(ENTRIES.c.id)
        .having(
            or_(
                func.coalesce(func.sum(POSTINGS.c.amount_fen), 0) != 0,
                func.count(POSTINGS.c.id) < 2,
            )
        )
    )
    for entry_id, total, legs in rows:
        yield f"entry {entry_id}: {legs} postings summing to {total}"


def _trial_balance(conn: Connection) -> Iterable[str]:
    total = conn.scalar(select(func.coalesce(func.sum(POSTINGS.c.amount_fen), 0)))
    if total:
        yield f"all postings sum to {total}, not 0"


def _running_balances(conn: Connection) -> Iterable[str]:
    running = select(
        POSTINGS.c.id,
        POSTINGS.c.balance_after_fen,
        func.sum(POSTINGS.c.amount_fen)
        .over(partition_by=POSTINGS.c.account_id, order_by=POSTINGS.c.id)
        .label("running"),
    ).subquery()
    rows = conn.execute(select(running).where(running.c.balance_after_fen != running.c.running))
    for posting_id, stored, recomputed in rows:
        yield f"posting {posting_id}: balance after {stored}, recomputed {recomputed}"


def _guards(conn: Connection) -> Iterable[str]:
    rows = conn.execute(
        select(ACCOUNTS.c.code, ACCOUNTS.c.type, BALANCES.c.posted_fen, BALANCES.c.held_fen)
        .join(BALANCES, BALANCES.c.account_id == ACCOUNTS.c.id)
        .where(ACCOUNTS.c.guard != Guard.NONE.value)
    )
    for code, kind, posted, held in rows:
        current = natural(AccountType(kind), posted)
        if current - held < 0:
            yield f"{code}: balance {current} minus held {held} is negative"


def _holds(conn: Connection) -> Iterable[str]:
    pending = (
        select(HOLDS.c.account_id, func.sum(HOLDS.c.amount_fen).label("held"))
        .where(HOLDS.c.state == HoldState.PENDING.value)
        .group_by(HOLDS.c.account_id)
        .subquery()
    )
    rows = conn.execute(
        select(ACCOUNTS.c.code, BALANCES.c.held_fen, func.coalesce(pending.c.held, 0))
        .join(BALANCES, BALANCES.c.account_id == ACCOUNTS.c.id)
        .outerjoin(pending, pending.c.account_id == ACCOUNTS.c.id)
        .where(BALANCES.c.held_fen != func.coalesce(pending.c.held, 0))
    )
    for code, stored, total in rows:
        yield f"{code}: held {stored}, pending holds sum {total}"
    posted = HOLDS.c.state == HoldState.POSTED.value
    mismatched = conn.execute(
        select(HOLDS.c.id, HOLDS.c.state).where(
            or_(
                and_(posted, HOLDS.c.entry_id.is_(None)),
                and_(~posted, HOLDS.c.entry_id.is_not(None)),
            )
        )
    )
    for hold_id, state in mismatched:
        yield f"hold {hold_id}: state {state} disagrees with its entry link"


def _reversals(conn: Connection) -> Iterable[str]:
    original = aliased(POSTINGS)
    rows = conn.execute(
        select(ENTRIES.c.id)
        .join(POSTINGS, POSTINGS.c.entry_id == ENTRIES.c.id)
        .outerjoin(
            original,
            and_(
                original.c.entry_id == ENTRIES.c.reverses_entry_id,
                original.c.account_id == POSTINGS.c.account_id,
            ),
        )
        .where(
            ENTRIES.c.reverses_entry_id.is_not(None),
            or_(original.c.id.is_(None), original.c.amount_fen != -POSTINGS.c.amount_fen),
        )
        .distinct()
    )
    for (entry_id,) in rows:
        yield f"reversal {entry_id} is not the mirror image of the entry it reverses"


CHECKS = (
    ("balances", "balance rows equal the sum of their postings", _balances),
    ("entries", "every entry has 2+ postings summing to zero", _entries),
    ("trial_balance", "all postings together sum to zero", _trial_balance),
    ("running_balances", "each posting's balance-after is the running sum", _running_balances),
    ("guards", "guarded accounts are not overdrawn (after holds)", _guards),
    ("holds", "held amounts equal pending holds; posted holds link their entry", _holds),
    ("reversals", "reversals mirror the entries they reverse", _reversals),
)


def verify_ledger(session: Session) -> VerifyReport:
    conn = session.connection()
    counts = [
        conn.scalar(select(func.count()).select_from(table)) or 0
        for table in (ACCOUNTS, ENTRIES, POSTINGS)
    ]
    return VerifyReport(
        checks=tuple(_check(name, text, fn(conn)) for name, text, fn in CHECKS),
        accounts=counts[0],
        entries=counts[1],
        postings=counts[2],
    )


__all__ = ["CheckResult", "VerifyReport", "verify_ledger"]
