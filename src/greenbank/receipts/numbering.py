"""Gapless receipt numbers: ``R`` + series letter + business day + 6-digit sequence.

``RP20260302000001`` is the first deposit-purchase receipt of 2 March 2026 (Beijing time). The
counter row of (series, day) is incremented with ``UPDATE ... RETURNING`` inside the business
transaction that issues the receipt: on PostgreSQL the update holds the row lock until that
transaction ends, on SQLite the transaction runs under ``BEGIN IMMEDIATE``. A rolled-back
posting therefore hands its number back, and concurrent postings queue on the counter — the
numbers of a day are 1..N with no gap and no duplicate.
"""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from greenbank.errors import Conflict
from greenbank.receipts.models import ReceiptCounter
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


class ReceiptNumbersExhausted(Conflict):
    code = "receipt_numbers_exhausted"
    title = "No receipt numbers are left for this series today"


def format_receipt_no(receipt_type: ReceiptType, day: date, sequence: int) -> str:
    return f"R{SERIES[receipt_type]}{day:%Y%m%d}{sequence:06d}"


def next_sequence(session: Session, receipt_type: ReceiptType, day: date) -> int:
    """The next number of (series, day), taken in the caller's transaction."""
    series = SERIES[receipt_type]
    bump = (
        update(ReceiptCounter)
        .where(ReceiptCounter.series == series, ReceiptCounter.business_date == day)
        .values(last_sequence=ReceiptCounter.last_sequence + 1)
        .returning(ReceiptCounter.last_sequence)
    )
    for _ in range(2):
        sequence = session.execute(bump).scalar_one_or_none()
        if sequence is None:
            try:
                with session.begin_nested():  # first receipt of the day in this series
                    session.execute(
                        insert(ReceiptCounter).values(
                            series=series, business_date=day, last_sequence=1
                        )
                    )
                sequence = 1
            except IntegrityError:  # a concurrent transaction created it first: bump theirs
                continue
        if sequence > MAX_SEQUENCE:
            raise ReceiptNumbersExhausted(f"series {series} on {day} reached {MAX_SEQUENCE}")
        return int(sequence)
    raise AssertionError("the counter row exists after a unique violation")  # pragma: no cover
