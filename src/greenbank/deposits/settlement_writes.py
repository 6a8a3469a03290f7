"""Writing a planned settlement batch (``settlement.plan``) in the caller's transaction: at most
two balanced ledger entries (``rollover`` and ``maturity``), one bulk update of the holdings, one
bulk insert of payout rows, one outbox event and, given a ``Receipting``, the receipts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
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
from greenbank.ledger.domain import EntryCode, EntrySpec, PostingSpec

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


def _post(
    session: Session, clock: Clock, code: str, on: date, legs: dict[str, int], expense: int
) -> str | None:
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
    return ledger.post_entry(session, clock=clock, spec=spec).id


def write(
    session: Session, clock: Clock, result: Settlement, receipting: Receipting | None = None
) -> list[str]:
    """Write a planned batch in the caller's transaction, its receipts last (they take the
    day's receipt counter); returns the ledger entry ids."""
    roll_entry = _post(
        session,
        clock,
        EntryCode.ROLLOVER,
        result.on,
        result.rollover_legs,
        result.rollover_interest,
    )
    return_entry = _post(
        session, clock, EntryCode.MATURITY, result.on, result.return_legs, result.return_interest
    )
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
    issue_settlement_receipts(
        session,
        clock,
        receipting,
        result.notes,
        roll_entry=roll_entry,
        return_entry=return_entry,
    )
    return entry_ids
