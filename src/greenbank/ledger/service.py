"""The ledger's steps for other domains: they run INSIDE the caller's transaction.

Every function here takes the caller's open ``Session`` first and never commits, so a deposit
purchase can debit the Class II balance, credit the holding, insert its holding row and write
its outbox event in one transaction. Commands that own a transaction (CLI, tests, scripts) are
in ``greenbank.ledger.commands``. Other domains move money only through this module.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.clock import Clock, business_date
from greenbank.ledger import domain, fast_path
from greenbank.ledger.accounts import (
    CARD_CLEARING,
    CHART_OF_ACCOUNTS,
    INTEREST_EXPENSE,
    INTEREST_PAYABLE,
    MARKETING_EXPENSE,
    POINTS_LIABILITY,
    close_account,
    customer_account_code,
    ensure_chart_of_accounts,
    get_account,
    holding_account_code,
    open_account,
    open_customer_account,
    open_holding_account,
    reopen_account,
)
from greenbank.ledger.domain import EntryCode, EntrySpec, PostingSpec
from greenbank.ledger.errors import AlreadyReversed, EntryNotFound, InvalidEntry
from greenbank.ledger.holds import expire_holds, get_hold, hold, post_hold, void_hold
from greenbank.ledger.posting import (
    ENTRIES,
    find_entry_id,
    insert_entry,
    load_entry,
    lock_and_check,
    new_entry,
    replay,
)
from greenbank.ledger.queries import balance, balance_as_of, get_entry, statement
from greenbank.ledger.schemas import EntryOut
from greenbank.ledger.verify import VerifyReport, verify_ledger


def post_entry(session: Session, *, clock: Clock, spec: EntrySpec) -> EntryOut:
    """Append a balanced entry. A retried key returns the first entry (``replayed=True``)."""
    draft = draft_entry(spec, clock=clock)
    return post_draft(session, spec=spec, draft=draft, fingerprint=domain.entry_fingerprint(spec))


def draft_entry(spec: EntrySpec, *, clock: Clock) -> EntryOut:
    """The draft of a checked entry, with the id it will be posted under (``post_draft``), for a
    caller whose other rows name the entry before it is posted."""
    domain.check_shape(spec)
    return new_entry(spec, clock.now())


def reverse_entry(
    session: Session, *, clock: Clock, entry_id: str, idempotency_key: str, reason: str
) -> EntryOut:
    """Post the mirror image of an entry, linked to it. An entry is reversed at most once."""
    domain.check_key(idempotency_key)
    fingerprint = domain.fingerprint("reversal", entry_id=entry_id, reason=reason)
    conn = session.connection()
    found = find_entry_id(conn, idempotency_key)
    if found is not None:
        return replay(conn, found, fingerprint, idempotency_key)
    original = load_entry(conn, entry_id)
    if original is None:
        raise EntryNotFound(f"no ledger entry {entry_id}", entry_id=entry_id)
    if original.reverses_entry_id is not None:
        raise InvalidEntry("a reversal can not be reversed; post a new entry instead")
    if conn.scalar(select(ENTRIES.c.id).where(ENTRIES.c.reverses_entry_id == entry_id)):
        raise AlreadyReversed(f"entry {entry_id} was already reversed", entry_id=entry_id)
    legs = [PostingSpec(p.account, p.amount_fen) for p in original.postings]
    spec = EntrySpec(
        code=EntryCode.REVERSAL,
        idempotency_key=idempotency_key,
        postings=domain.mirror(legs),
        value_date=business_date(clock.now()),
        description=reason,
        metadata={"reverses": entry_id, "reversed_code": original.code},
        currency=original.currency,
    )
    draft = new_entry(spec, clock.now(), entry_id)
    return post_draft(session, spec=spec, draft=draft, fingerprint=fingerprint)


def post_draft(session: Session, *, spec: EntrySpec, draft: EntryOut, fingerprint: str) -> EntryOut:
    """Append an entry already drafted (``posting.new_entry``) from a checked spec, with its
    fingerprint. ``post_entry`` and ``reverse_entry`` draft here; ``commands.post_entry`` hands
    its draft over when its one-statement attempt declined, so both attempts share one id."""
    conn = session.connection()
    if fast_path.applies(conn) and fast_path.post(conn, draft, fingerprint=fingerprint):
        return draft
    # The portable path; on PostgreSQL it handles whatever the fast path declined.
    found = find_entry_id(conn, spec.idempotency_key)
    if found is not None:
        return replay(conn, found, fingerprint, spec.idempotency_key)
    accounts = lock_and_check(conn, spec, draft.posted_at)
    entry = insert_entry(conn, draft, fingerprint=fingerprint, accounts=accounts)
    if entry is not None:
        return entry
    # Lost a race: a concurrent transaction committed the same key (or reversed the same entry).
    winner = find_entry_id(conn, spec.idempotency_key)
    if winner is None:
        reverses = draft.reverses_entry_id
        raise AlreadyReversed(f"entry {reverses} was already reversed", entry_id=reverses)
    return replay(conn, winner, fingerprint, spec.idempotency_key)


__all__ = [
    "CARD_CLEARING",
    "CHART_OF_ACCOUNTS",
    "INTEREST_EXPENSE",
    "INTEREST_PAYABLE",
    "MARKETING_EXPENSE",
    "POINTS_LIABILITY",
    "EntryCode",
    "EntrySpec",
    "PostingSpec",
    "VerifyReport",
    "balance",
    "balance_as_of",
    "close_account",
    "customer_account_code",
    "draft_entry",
    "ensure_chart_of_accounts",
    "expire_holds",
    "get_account",
    "get_entry",
    "get_hold",
    "hold",
    "holding_account_code",
    "open_account",
    "open_customer_account",
    "open_holding_account",
    "post_draft",
    "post_entry",
    "post_hold",
    "reopen_account",
    "reverse_entry",
    "statement",
    "verify_ledger",
    "void_hold",
]
