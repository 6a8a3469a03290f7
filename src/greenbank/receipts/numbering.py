"""Gapless receipt numbers: ``R`` + series letter + business day + 6-digit sequence, given out
as the last statements of the issuing transaction (ADR 0006).

``RP20260302000001`` is the first deposit-purchase receipt of 2 March 2026 (Beijing time). The
counter row of (series, day) is a row every posting of that series queues on: whoever updates it
holds its lock until commit. So ``issue_receipt`` only *registers* the receipt; a
``before_commit`` hook numbers every receipt the transaction registered — one
``UPDATE ... RETURNING`` per (series, day) taking as many numbers as it needs — and inserts the
rows in one statement (Core, not an ORM flush: the less Python runs while the lock is held, the
better). The lock is held for that UPDATE, one INSERT and the COMMIT, however long the business
work before it took. A rolled-back transaction (or savepoint)
numbers nothing, so the numbers of a day are 1..N with no gap and no duplicate.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import cast

from sqlalchemy import Table, bindparam, event, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from greenbank.db import insert_many
from greenbank.errors import Conflict
from greenbank.receipts.models import Receipt, ReceiptCounter
from greenbank.receipts.render import ReceiptType

SERIES: dict[ReceiptType, str] = {
    ReceiptType.TOP_UP: "T",
    ReceiptType.WITHDRAWAL: "W",
    ReceiptType.DEPOSIT_PURCHASE: "P",
    ReceiptType.EARLY_WITHDRAWAL: "E",
    ReceiptType.INTEREST: "I",
    ReceiptType.MATURITY: "M",
}
MAX_SEQUENCE = 999_999
RECEIPT_NO = re.compile(r"^R[A-Z]\d{8}\d{6}$")
_PENDING = "greenbank.receipts.unnumbered"
_RECEIPTS = cast(Table, Receipt.__table__)
_COUNTERS = cast(Table, ReceiptCounter.__table__)
# Built once, Core (not the ORM's bulk UPDATE): it runs holding the day's counter lock.
_BUMP = (
    update(_COUNTERS)
    .where(_COUNTERS.c.series == bindparam("c_series"))
    .where(_COUNTERS.c.business_date == bindparam("day"))
    .values(last_sequence=_COUNTERS.c.last_sequence + bindparam("count"))
    .returning(_COUNTERS.c.last_sequence)
)

# Fills in what depends on the number (receipt_no, sequence, verification code).
Finisher = Callable[[Receipt, int], None]


class ReceiptNumbersExhausted(Conflict):
    code = "receipt_numbers_exhausted"
    title = "No receipt numbers are left for this series today"


def format_receipt_no(receipt_type: ReceiptType, day: date, sequence: int) -> str:
    return f"R{SERIES[receipt_type]}{day:%Y%m%d}{sequence:06d}"


@dataclass(frozen=True, slots=True)
class _Unnumbered:
    receipt: Receipt
    finish: Finisher
    transaction: SessionTransaction  # the innermost transaction it was registered in


def number_at_commit(session: Session, receipt: Receipt, finish: Finisher) -> None:
    """Register ``receipt`` (not yet added to the session) to be numbered and inserted when the
    session commits; ``finish(receipt, sequence)`` completes it then."""
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:
        raise RuntimeError("issue receipts inside a transaction")
    session.info.setdefault(_PENDING, []).append(_Unnumbered(receipt, finish, transaction))


def unnumbered(session: Session) -> list[Receipt]:
    """Receipts registered in this session's transaction and not yet committed."""
    return [item.receipt for item in session.info.get(_PENDING, [])]


def take_sequences(session: Session, receipt_type: ReceiptType, day: date, count: int) -> int:
    """Take ``count`` consecutive numbers of (series, day) in the caller's transaction; the
    first of them."""
    series = SERIES[receipt_type]
    for _ in range(2):
        bumped = session.execute(_BUMP, {"c_series": series, "day": day, "count": count})
        last = bumped.scalar_one_or_none()
        if last is None:
            try:
                with session.begin_nested():  # the first receipts of the day in this series
                    session.execute(
                        insert(ReceiptCounter).values(
                            series=series, business_date=day, last_sequence=count
                        )
                    )
                last = count
            except IntegrityError:  # a concurrent transaction created it first: bump theirs
                continue
        if last > MAX_SEQUENCE:
            raise ReceiptNumbersExhausted(f"series {series} on {day} reached {MAX_SEQUENCE}")
        return int(last) - count + 1
    raise AssertionError("the counter row exists after a unique violation")  # pragma: no cover


@event.listens_for(Session, "before_commit")
def _number_before_commit(session: Session) -> None:
    pending: list[_Unnumbered] = session.info.pop(_PENDING, [])
    if not pending:
        return
    session.flush()  # the business rows first: the counter lock is taken after them
    groups: dict[tuple[ReceiptType, date], list[_Unnumbered]] = {}
    for item in pending:
        key = (ReceiptType(item.receipt.type), item.receipt.business_date)
        groups.setdefault(key, []).append(item)
    rows: list[dict[str, object]] = []
    # Counters in one order in every transaction, so two issuers never deadlock on them.
    for (receipt_type, day), items in sorted(
        groups.items(), key=lambda g: (SERIES[g[0][0]], g[0][1])
    ):
        first = take_sequences(session, receipt_type, day, len(items))
        for offset, item in enumerate(items):
            item.finish(item.receipt, first + offset)
            rows.append({c.key: getattr(item.receipt, c.key) for c in _RECEIPTS.columns})
    insert_many(session, _RECEIPTS, rows)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """Drop receipts registered in the transaction (or savepoint) just rolled back."""
    pending: list[_Unnumbered] | None = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [
            item for item in pending if not _within(item.transaction, previous_transaction)
        ]


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False
