"""Reads: balances (current, available, as of a value date), statements, entries."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from greenbank.clock import Clock
from greenbank.ledger.domain import AccountType, HoldState, natural
from greenbank.ledger.errors import AccountNotFound, EntryNotFound, InvalidEntry
from greenbank.ledger.posting import (
    ACCOUNTS,
    BALANCES,
    ENTRIES,
    HOLDS,
    POSTINGS,
    AnyRow,
    load_entry,
)
from greenbank.ledger.schemas import BalanceOut, EntryOut, StatementLine, StatementPage

MAX_PAGE = 500


def _account_row(session: Session, code: str) -> AnyRow:
    row = (
        session.connection()
        .execute(
            select(
                ACCOUNTS.c.id,
                ACCOUNTS.c.code,
                ACCOUNTS.c.type,
                ACCOUNTS.c.currency,
                BALANCES.c.posted_fen,
                BALANCES.c.held_fen,
            )
            .join(BALANCES, BALANCES.c.account_id == ACCOUNTS.c.id)
            .where(ACCOUNTS.c.code == code)
        )
        .first()
    )
    if row is None:
        raise AccountNotFound(f"no ledger account {code!r}", account=code)
    return row


def balance(session: Session, *, clock: Clock, account: str) -> BalanceOut:
    """Current and available balance; holds past their expiry no longer count."""
    row = _account_row(session, account)
    held: int | None = 0
    if row.held_fen:
        held = session.connection().scalar(
            select(func.coalesce(func.sum(HOLDS.c.amount_fen), 0)).where(
                HOLDS.c.account_id == row.id,
                HOLDS.c.state == HoldState.PENDING,
                HOLDS.c.expires_at > clock.now(),
            )
        )
    current = natural(AccountType(row.type), row.posted_fen)
    return BalanceOut(
        account=row.code,
        type=AccountType(row.type),
        currency=row.currency,
        balance_fen=current,
        held_fen=int(held or 0),
        available_fen=current - int(held or 0),
    )


def balance_as_of(session: Session, *, account: str, on: date) -> int:
    """The natural balance from every posting with a value date on or before ``on``."""
    row = _account_row(session, account)
    raw = session.connection().scalar(
        select(func.coalesce(func.sum(POSTINGS.c.amount_fen), 0)).where(
            POSTINGS.c.account_id == row.id, POSTINGS.c.value_date <= on
        )
    )
    return natural(AccountType(row.type), int(raw or 0))


def statement(
    session: Session,
    *,
    account: str,
    limit: int = 50,
    cursor: str | None = None,
    newest_first: bool = True,
) -> StatementPage:
    """Postings of an account with the running balance, a page at a time (keyset cursor)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidEntry(f"limit must be 1-{MAX_PAGE}")
    row = _account_row(session, account)
    sign = AccountType(row.type).sign
    stmt = (
        select(
            POSTINGS.c.id,
            POSTINGS.c.entry_id,
            POSTINGS.c.amount_fen,
            POSTINGS.c.balance_after_fen,
            POSTINGS.c.value_date,
            ENTRIES.c.code,
            ENTRIES.c.posted_at,
            ENTRIES.c.description,
        )
        .join(ENTRIES, ENTRIES.c.id == POSTINGS.c.entry_id)
        .where(POSTINGS.c.account_id == row.id)
        .order_by(POSTINGS.c.id.desc() if newest_first else POSTINGS.c.id)
        .limit(limit + 1)
    )
    if cursor is not None:
        if not cursor.isdigit():
            raise InvalidEntry("cursor is not valid")
        after = int(cursor)
        stmt = stmt.where(POSTINGS.c.id < after if newest_first else POSTINGS.c.id > after)
    rows = list(session.connection().execute(stmt))
    more = len(rows) > limit
    lines = [
        StatementLine(
            posting_id=r.id,
            entry_id=r.entry_id,
            entry_code=r.code,
            value_date=r.value_date,
            posted_at=r.posted_at,
            description=r.description,
            amount_fen=sign * r.amount_fen,
            balance_after_fen=sign * r.balance_after_fen,
        )
        for r in rows[:limit]
    ]
    return StatementPage(
        account=row.code, lines=lines, next_cursor=str(lines[-1].posting_id) if more else None
    )


def get_entry(session: Session, entry_id: str) -> EntryOut:
    entry = load_entry(session.connection(), entry_id)
    if entry is None:
        raise EntryNotFound(f"no ledger entry {entry_id}", entry_id=entry_id)
    return entry
