"""Two-phase transfers (TigerBeetle's pending / post / void): reserve, then settle or release.

A pending hold lowers the account's *available* balance without posting anything. Every change
of a hold's state happens while its account's balance row is locked, so the row's ``held_fen``
always equals the sum of that account's pending holds.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from greenbank.clock import Clock
from greenbank.db import insert_ignoring_conflicts
from greenbank.ids import new_id
from greenbank.ledger import domain
from greenbank.ledger.domain import EntrySpec, HoldState
from greenbank.ledger.errors import (
    AccountNotFound,
    HoldExpired,
    HoldNotFound,
    HoldNotPending,
    IdempotencyKeyReused,
    InvalidEntry,
)
from greenbank.ledger.posting import (
    ACCOUNTS,
    HOLDS,
    AnyRow,
    find_entry_id,
    guard,
    insert_entry,
    lock_accounts,
    lock_and_check,
    new_entry,
    release_expired_holds,
    replay,
    save_balances,
)
from greenbank.ledger.schemas import EntryOut, HoldOut

_HOLD_COLUMNS = (*HOLDS.c, ACCOUNTS.c.code.label("account"))


def _read_hold(conn: Connection, *where: Any) -> AnyRow | None:
    stmt = select(*_HOLD_COLUMNS).join(ACCOUNTS, ACCOUNTS.c.id == HOLDS.c.account_id).where(*where)
    return conn.execute(stmt).first()


def _out(row: AnyRow, *, replayed: bool = False) -> HoldOut:
    return HoldOut.model_validate({**row._mapping, "replayed": replayed})


def get_hold(session: Session, hold_id: str) -> HoldOut:
    row = _read_hold(session.connection(), HOLDS.c.id == hold_id)
    if row is None:
        raise HoldNotFound(f"no hold {hold_id}", hold_id=hold_id)
    return _out(row)


def hold(
    session: Session,
    *,
    clock: Clock,
    account: str,
    amount_fen: int,
    idempotency_key: str,
    expires_at: datetime,
    description: str = "",
) -> HoldOut:
    """Reserve ``amount_fen`` on ``account`` until ``expires_at`` (refused if not available)."""
    domain.check_key(idempotency_key)
    if type(amount_fen) is not int or amount_fen <= 0:
        raise InvalidEntry("a hold needs a positive integer amount of fen")
    if expires_at.tzinfo is None:
        raise InvalidEntry("a hold needs a timezone-aware expiry")
    fingerprint = domain.fingerprint(
        "hold", account=account, amount=amount_fen, expires_at=expires_at, description=description
    )
    conn = session.connection()
    found = _read_hold(conn, HOLDS.c.idempotency_key == idempotency_key)
    if found is not None:
        return _replay_hold(found, fingerprint)
    now = clock.now()
    if expires_at <= now:  # checked after the key: a late retry still gets its first answer
        raise InvalidEntry("a hold needs an expiry in the future")
    facts = lock_accounts(conn, "code", [account]).get(account)
    if facts is None:
        raise AccountNotFound(f"no ledger account {account!r}", account=account)
    domain.check_open(facts)
    facts = guard(conn, facts, 0, now, held_delta=amount_fen)
    hold_id = new_id()
    inserted = conn.execute(
        insert_ignoring_conflicts(conn, HOLDS)
        .values(
            id=hold_id,
            account_id=facts.id,
            amount_fen=amount_fen,
            state=HoldState.PENDING.value,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            description=description,
            created_at=now,
            expires_at=expires_at,
        )
        .returning(HOLDS.c.id)
    ).first()
    if inserted is None:
        winner = _read_hold(conn, HOLDS.c.idempotency_key == idempotency_key)
        assert winner is not None
        return _replay_hold(winner, fingerprint)
    save_balances(conn, [replace(facts, held_fen=facts.held_fen + amount_fen)])
    return get_hold(session, hold_id)


def _replay_hold(row: AnyRow, fingerprint: str) -> HoldOut:
    if row.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            f"idempotency key {row.idempotency_key!r} was used for a different hold",
            hold_id=row.id,
        )
    return _out(row, replayed=True)


def post_hold(session: Session, *, clock: Clock, hold_id: str, spec: EntrySpec) -> EntryOut:
    """Settle a pending hold with an entry taking 1..held fen out of the held account.

    The whole hold is released (a partial post frees the rest), like TigerBeetle's post.
    """
    domain.check_shape(spec)
    fingerprint = domain.fingerprint(
        "hold_post", hold_id=hold_id, entry=domain.entry_fingerprint(spec)
    )
    conn = session.connection()
    found = find_entry_id(conn, spec.idempotency_key)
    if found is not None:
        return replay(conn, found, fingerprint, spec.idempotency_key)
    now = clock.now()
    held = _read_hold(conn, HOLDS.c.id == hold_id)
    if held is None:
        raise HoldNotFound(f"no hold {hold_id}", hold_id=hold_id)
    if held.account not in {leg.account for leg in spec.postings}:
        raise InvalidEntry(f"the entry must post to the held account {held.account}")
    _check_pending(held, now)
    accounts = lock_and_check(conn, spec, now, release={held.account: held.amount_fen})
    held = _read_hold(conn, HOLDS.c.id == hold_id)  # again, now under the account's lock
    assert held is not None
    _check_pending(held, now)
    delta = sum(leg.amount_fen for leg in spec.postings if leg.account == held.account)
    domain.check_hold_post(accounts[held.account], held.amount_fen, delta)
    entry = insert_entry(
        conn,
        new_entry(spec, now),
        fingerprint=fingerprint,
        accounts=accounts,
        release={held.account: held.amount_fen},
    )
    if entry is None:
        winner = find_entry_id(conn, spec.idempotency_key)
        assert winner is not None
        return replay(conn, winner, fingerprint, spec.idempotency_key)
    _resolve(conn, hold_id, HoldState.POSTED, now, entry_id=entry.id)
    return entry


def void_hold(session: Session, *, clock: Clock, hold_id: str) -> HoldOut:
    """Release a pending hold; voiding a voided hold returns it unchanged. An expired hold is
    already released and is refused with ``hold_expired``."""
    conn = session.connection()
    held = _read_hold(conn, HOLDS.c.id == hold_id)
    if held is None:
        raise HoldNotFound(f"no hold {hold_id}", hold_id=hold_id)
    facts = lock_accounts(conn, "id", [held.account_id])[held.account]
    held = _read_hold(conn, HOLDS.c.id == hold_id)
    assert held is not None
    if held.state == HoldState.VOIDED:
        return _out(held, replayed=True)
    now = clock.now()
    _check_pending(held, now)
    _resolve(conn, hold_id, HoldState.VOIDED, now)
    save_balances(conn, [replace(facts, held_fen=facts.held_fen - held.amount_fen)])
    return get_hold(session, hold_id)


def expire_holds(session: Session, *, clock: Clock) -> int:
    """Expire every pending hold whose time is up; returns how many were expired."""
    conn = session.connection()
    now = clock.now()
    account_ids = conn.scalars(
        select(HOLDS.c.account_id)
        .where(HOLDS.c.state == HoldState.PENDING, HOLDS.c.expires_at <= now)
        .distinct()
    ).all()
    if not account_ids:
        return 0
    expired = 0
    for facts in lock_accounts(conn, "id", account_ids).values():
        expired += release_expired_holds(conn, facts, now)[1]
    return expired


def _check_pending(row: AnyRow, now: datetime) -> None:
    """Only a pending hold within its time can be posted or voided (as in TigerBeetle)."""
    if row.state == HoldState.EXPIRED or (row.state == HoldState.PENDING and row.expires_at <= now):
        raise HoldExpired(f"hold {row.id} expired at {row.expires_at}", hold_id=row.id)
    if row.state != HoldState.PENDING:
        raise HoldNotPending(f"hold {row.id} is {row.state}", hold_id=row.id, state=row.state)


def _resolve(
    conn: Connection, hold_id: str, state: HoldState, now: datetime, entry_id: str | None = None
) -> None:
    conn.execute(
        update(HOLDS)
        .where(HOLDS.c.id == hold_id)
        .values(state=state.value, resolved_at=now, entry_id=entry_id)
    )
