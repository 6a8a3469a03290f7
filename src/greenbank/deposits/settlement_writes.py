"""Writing a planned settlement batch (``settlement.plan``) in the caller's transaction: at most
two balanced ledger entries (``rollover`` and ``maturity``), one bulk update of the holdings, one
bulk insert of payout rows, one outbox event and, given a ``Receipting``, the receipts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.orm import Session

from greenbank.bus import publish
from greenbank.clock import Clock
from greenbank.db import among, insert_many
from greenbank.deposits.events import MaturityBatchProcessed
from greenbank.deposits.holdings_models import (
    DepositHolding,
    HoldingPayout,
    HoldingStatus,
    PayoutKind,
)
from greenbank.deposits.maturity_receipts import issue_settlement_receipts
from greenbank.deposits.purchase import Receipting
from greenbank.ids import new_id
from greenbank.ledger import service as ledger
from greenbank.ledger.accounts import INTEREST_EXPENSE
from greenbank.ledger.domain import EntryCode, EntrySpec, PostingSpec, entry_fingerprint
from greenbank.ledger.schemas import EntryOut

if TYPE_CHECKING:
    from greenbank.deposits.settlement import Settlement

HOLDINGS = cast(Table, DepositHolding.__table__)
PAYOUTS = cast(Table, HoldingPayout.__table__)

_ROLL = (
    update(HOLDINGS)
    .where(HOLDINGS.c.id == bindparam("h_id"))
    .values(
        principal_fen=bindparam("principal_fen"),
        rate=bindparam("rate"),
        value_date=bindparam("value_date"),
        maturity_date=bindparam("maturity_date"),
        cycle=bindparam("cycle"),
        partial_withdrawn=False,
        updated_at=bindparam("updated_at"),
    )
)


def _batch_key(code: str, on: date, ids: Iterable[str]) -> str:
    digest = hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()
    return f"deposits:{code}:{on.isoformat()}:{digest}"


@dataclass(frozen=True, slots=True)
class _Entry:
    spec: EntrySpec
    draft: EntryOut


def _draft(clock: Clock, code: str, on: date, legs: dict[str, int], expense: int) -> _Entry | None:
    """One balanced entry for the batch: interest expense against the legs. None if empty."""
    postings = [PostingSpec(account, amount) for account, amount in legs.items() if amount]
    if expense:
        postings.append(PostingSpec(INTEREST_EXPENSE, expense))
    if len(postings) < 2:
        return None
    spec = EntrySpec(
        code=code,
        idempotency_key=_batch_key(code, on, legs),
        postings=tuple(postings),
        value_date=on,
        description="定期存款到期批量处理" if code == EntryCode.MATURITY else "定期存款自动转存",
        metadata={"business_date": on.isoformat(), "holdings": len(legs)},
    )
    return _Entry(spec, ledger.draft_entry(spec, clock=clock))


class BatchAlreadyPosted(RuntimeError):
    """A batch's ledger entry is already posted. Its key names exactly these holdings on this
    day, and settling them takes them out of the due set in the same commit, so the holdings
    were changed outside the job. The run stops (the batch rolls back whole) for someone to
    look: settling the holdings again, in the batch or one by one, could pay them twice."""


def _post(session: Session, entry: _Entry) -> None:
    fingerprint = entry_fingerprint(entry.spec)
    posted = ledger.post_draft(session, spec=entry.spec, draft=entry.draft, fingerprint=fingerprint)
    if posted.replayed:
        raise BatchAlreadyPosted(
            f"ledger entry {posted.id} already settled this batch ({entry.spec.idempotency_key})"
        )


def write(
    session: Session, clock: Clock, result: Settlement, receipting: Receipting | None = None
) -> list[str]:
    """Write a planned batch in the caller's transaction; returns the ledger entry ids.

    The entries are drafted first, so the payouts can name them, and posted last: posting locks
    the interest-expense balance row, which every batch shares, until commit, so another
    runner's batch waits only for this one's commit, not for its holding and payout writes.
    The receipts come after (they take the day's receipt counter at commit)."""
    roll = _draft(
        clock, EntryCode.ROLLOVER, result.on, result.rollover_legs, result.rollover_interest
    )
    back = _draft(clock, EntryCode.MATURITY, result.on, result.return_legs, result.return_interest)
    roll_entry = None if roll is None else roll.draft.id
    return_entry = None if back is None else back.draft.id
    for row in result.payouts:
        row["entry_id"] = roll_entry if row["kind"] is PayoutKind.ROLLOVER else return_entry
    if result.rolled:
        session.execute(_ROLL, result.rolled)
    if result.closed:  # one statement: the closed rows all get the same values
        session.execute(
            update(HOLDINGS)
            .where(among(session, HOLDINGS.c.id, result.closed))
            .values(
                principal_fen=0,
                status=HoldingStatus.CLOSED.value,
                updated_at=result.now,
                closed_at=result.now,
            )
        )
    if result.payouts:
        insert_many(session, PAYOUTS, result.payouts)
    entry_ids = [e for e in (roll_entry, return_entry) if e is not None]
    if result.events:
        publish(
            session,
            MaturityBatchProcessed(
                business_date=result.on, entry_ids=entry_ids, holdings=result.events
            ),
            aggregate_type="deposit_maturity_batch",
            aggregate_id=entry_ids[0] if entry_ids else new_id(),
            clock=clock,
        )
    session.flush()  # the outbox row, before the shared lock is taken
    for entry in (roll, back):
        if entry is not None:
            _post(session, entry)
    issue_settlement_receipts(
        session,
        clock,
        receipting,
        result.notes,
        roll_entry=roll_entry,
        return_entry=return_entry,
    )
    return entry_ids
