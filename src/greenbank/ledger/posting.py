"""The posting engine: lock balance rows, check the rules, append the entry, move the totals.

Everything runs on the caller's transaction (``session.connection()``) with Core statements:
this is the hot path of every money movement, so it keeps to a fixed handful of round trips:
look up the idempotency key, lock the balance rows (ordered by account id, so concurrent
writers never deadlock each other), insert the entry (``ON CONFLICT DO NOTHING`` settles a race
on the key), insert the postings in one statement and update the balances in one statement.
Nothing is written before every check has passed, so a refused command leaves no trace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import cache
from typing import Any, Literal, TypeAlias, cast

from sqlalchemy import Row, Table, bindparam, case, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from greenbank.clock import business_date
from greenbank.ids import new_id
from greenbank.ledger import domain
from greenbank.ledger.domain import (
    AccountFacts,
    AccountStatus,
    AccountType,
    EntrySpec,
    Guard,
    HoldState,
)
from greenbank.ledger.errors import IdempotencyKeyReused, InsufficientFunds
from greenbank.ledger.models import Account, Balance, Entry, Hold, Posting
from greenbank.ledger.schemas import EntryOut, PostingOut

ACCOUNTS = cast(Table, Account.__table__)
BALANCES = cast(Table, Balance.__table__)
ENTRIES = cast(Table, Entry.__table__)
POSTINGS = cast(Table, Posting.__table__)
HOLDS = cast(Table, Hold.__table__)

AnyRow: TypeAlias = Row[*tuple[Any, ...]]


# The hot path's statements are built once with bind parameters: building a statement per call
# costs more Python time than the database spends running it.
def _lock_statement(column: ColumnElement[Any]) -> Any:
    return (
        select(
            ACCOUNTS.c.id,
            ACCOUNTS.c.code,
            ACCOUNTS.c.type,
            ACCOUNTS.c.currency,
            ACCOUNTS.c.status,
            ACCOUNTS.c.guard,
            BALANCES.c.posted_fen,
            BALANCES.c.held_fen,
        )
        .join(BALANCES, BALANCES.c.account_id == ACCOUNTS.c.id)
        .where(column.in_(bindparam("keys", expanding=True)))
        .order_by(ACCOUNTS.c.id)
        .with_for_update(of=BALANCES)
    )


_LOCK_BY = {"code": _lock_statement(ACCOUNTS.c.code), "id": _lock_statement(ACCOUNTS.c.id)}
_FIND_KEY = select(ENTRIES.c.id, ENTRIES.c.fingerprint).where(
    ENTRIES.c.idempotency_key == bindparam("key")
)
_INSERT_ENTRY = {
    dialect.__name__.rsplit(".", 1)[-1]: dialect.insert(ENTRIES)
    .on_conflict_do_nothing()
    .returning(ENTRIES.c.id)
    for dialect in (postgresql, sqlite)
}
_INSERT_POSTINGS = insert(POSTINGS)


@cache
def _save_balances(accounts: int) -> Any:
    """One UPDATE for all of an entry's balance rows, whatever their number."""
    key = BALANCES.c.account_id
    ids = [bindparam(f"id_{i}", type_=key.type) for i in range(accounts)]
    return (
        update(BALANCES)
        .where(key.in_(ids))
        .values(
            posted_fen=case(*((key == ids[i], bindparam(f"p_{i}")) for i in range(accounts))),
            held_fen=case(*((key == ids[i], bindparam(f"h_{i}")) for i in range(accounts))),
        )
    )


def lock_accounts(
    conn: Connection, by: Literal["code", "id"], keys: Iterable[str]
) -> dict[str, AccountFacts]:
    """Read accounts with their balance rows locked, in account-id order; keyed by code."""
    rows = conn.execute(_LOCK_BY[by], {"keys": list(keys)})
    return {row.code: _facts(row) for row in rows}


def _facts(row: AnyRow) -> AccountFacts:
    return AccountFacts(
        id=row.id,
        code=row.code,
        type=AccountType(row.type),
        currency=row.currency,
        status=AccountStatus(row.status),
        guard=Guard(row.guard),
        posted_fen=row.posted_fen,
        held_fen=row.held_fen,
    )


def save_balances(conn: Connection, changed: Sequence[AccountFacts]) -> None:
    """Write new totals for locked accounts (the rows are ours until commit)."""
    if not changed:
        return
    params: dict[str, Any] = {}
    for i, facts in enumerate(changed):
        params.update({f"id_{i}": facts.id, f"p_{i}": facts.posted_fen, f"h_{i}": facts.held_fen})
    conn.execute(_save_balances(len(changed)), params)


def release_expired_holds(
    conn: Connection, facts: AccountFacts, now: datetime
) -> tuple[AccountFacts, int]:
    """Expire this (locked) account's pending holds whose time is up: (new facts, how many)."""
    expired = list(
        conn.execute(
            select(HOLDS.c.id, HOLDS.c.amount_fen).where(
                HOLDS.c.account_id == facts.id,
                HOLDS.c.state == HoldState.PENDING,
                HOLDS.c.expires_at <= now,
            )
        )
    )
    if not expired:
        return facts, 0
    conn.execute(
        update(HOLDS)
        .where(HOLDS.c.id.in_([row.id for row in expired]))
        .values(state=HoldState.EXPIRED, resolved_at=now)
    )
    updated = replace(facts, held_fen=facts.held_fen - sum(row.amount_fen for row in expired))
    save_balances(conn, [updated])
    return updated, len(expired)


def guard(
    conn: Connection, facts: AccountFacts, delta_raw: int, now: datetime, *, held_delta: int = 0
) -> AccountFacts:
    """Check the guard; on a shortfall first release expired holds (they no longer count)."""
    try:
        domain.check_guard(facts, delta_raw, held_delta=held_delta)
    except InsufficientFunds:
        if facts.held_fen == 0:
            raise
        facts = release_expired_holds(conn, facts, now)[0]
        domain.check_guard(facts, delta_raw, held_delta=held_delta)
    return facts


def find_entry_id(conn: Connection, idempotency_key: str) -> tuple[str, str] | None:
    """(id, fingerprint) of the entry recorded under a key, if any."""
    row = conn.execute(_FIND_KEY, {"key": idempotency_key}).first()
    return (row.id, row.fingerprint) if row else None


def load_entry(conn: Connection, entry_id: str, *, replayed: bool = False) -> EntryOut | None:
    row = conn.execute(select(ENTRIES).where(ENTRIES.c.id == entry_id)).first()
    if row is None:
        return None
    legs = conn.execute(
        select(ACCOUNTS.c.code, POSTINGS.c.amount_fen)
        .join(ACCOUNTS, ACCOUNTS.c.id == POSTINGS.c.account_id)
        .where(POSTINGS.c.entry_id == entry_id)
        .order_by(POSTINGS.c.id)
    )
    return EntryOut(
        id=row.id,
        code=row.code,
        idempotency_key=row.idempotency_key,
        value_date=row.value_date,
        posted_at=row.posted_at,
        description=row.description,
        metadata=row.metadata,
        currency=row.currency,
        reverses_entry_id=row.reverses_entry_id,
        postings=[PostingOut(account=leg.code, amount_fen=leg.amount_fen) for leg in legs],
        replayed=replayed,
    )


def replay(conn: Connection, found: tuple[str, str], fingerprint: str, key: str) -> EntryOut:
    """The first result for a retried key, or a conflict when the key is reused differently."""
    entry_id, stored = found
    if stored != fingerprint:
        raise IdempotencyKeyReused(
            f"idempotency key {key!r} was used for a different entry", entry_id=entry_id
        )
    entry = load_entry(conn, entry_id, replayed=True)
    assert entry is not None  # the key row and the entry are the same row
    return entry


def lock_and_check(
    conn: Connection, spec: EntrySpec, now: datetime, *, release: Mapping[str, int] | None = None
) -> dict[str, AccountFacts]:
    """Lock the entry's accounts and apply every rule; ``release`` frees held fen per account."""
    accounts = lock_accounts(conn, "code", {leg.account for leg in spec.postings})
    domain.check_accounts(spec, accounts)
    release = release or {}
    for leg in spec.postings:
        held_delta = -release.get(leg.account, 0)
        accounts[leg.account] = guard(
            conn, accounts[leg.account], leg.amount_fen, now, held_delta=held_delta
        )
    return accounts


def insert_entry(
    conn: Connection,
    entry: EntryOut,
    *,
    fingerprint: str,
    accounts: Mapping[str, AccountFacts],
    release: Mapping[str, int] | None = None,
) -> EntryOut | None:
    """Append a drafted entry (``new_entry``) and its postings and move the totals; None if the
    key lost a race."""
    inserted = conn.execute(
        _INSERT_ENTRY[conn.dialect.name],
        {
            "id": entry.id,
            "code": entry.code,
            "idempotency_key": entry.idempotency_key,
            "fingerprint": fingerprint,
            "value_date": entry.value_date,
            "posted_at": entry.posted_at,
            "description": entry.description,
            "metadata": entry.metadata,
            "currency": entry.currency,
            "reverses_entry_id": entry.reverses_entry_id,
        },
    ).first()
    if inserted is None:
        return None
    release = release or {}
    rows, changed = [], []
    for leg in entry.postings:
        before = accounts[leg.account]
        after = replace(
            before,
            posted_fen=before.posted_fen + leg.amount_fen,
            held_fen=before.held_fen - release.get(leg.account, 0),
        )
        changed.append(after)
        rows.append(
            {
                "entry_id": entry.id,
                "account_id": before.id,
                "amount_fen": leg.amount_fen,
                "balance_after_fen": after.posted_fen,
                "value_date": entry.value_date,
            }
        )
    conn.execute(_INSERT_POSTINGS, rows)
    save_balances(conn, changed)
    return entry


def new_entry(spec: EntrySpec, now: datetime, reverses: str | None = None) -> EntryOut:
    """The draft of an entry about to be appended (a new id, the value date), made once per
    attempt so both paths write the same id; it is also the answer once written.

    Built without validation (``model_construct``) from a spec ``domain.check_shape`` passed:
    a maturity batch drafts entries of a thousand legs."""
    return EntryOut.model_construct(
        id=new_id(),
        code=spec.code,
        idempotency_key=spec.idempotency_key,
        value_date=spec.value_date or business_date(now),
        posted_at=now,
        description=spec.description,
        metadata=dict(spec.metadata),
        currency=spec.currency,
        reverses_entry_id=reverses,
        postings=[
            PostingOut.model_construct(account=leg.account, amount_fen=leg.amount_fen)
            for leg in spec.postings
        ],
        replayed=False,
    )
