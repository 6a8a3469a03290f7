"""Reading receipts: a customer's own, the staff's filtered list, and the per-day figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from greenbank.receipts.models import SEALED, Receipt, ReceiptVerification
from greenbank.receipts.render import ReceiptType
from greenbank.receipts.sealing import ReceiptNotFound


@dataclass(frozen=True)
class Page:
    items: list[Receipt]
    total: int
    page: int
    size: int


@dataclass(frozen=True)
class ReceiptFilter:
    type: ReceiptType | None = None
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    customer_id: str | None = None
    receipt_no: str | None = None  # a prefix: "RP20260302" lists one series and day


@dataclass
class DayFigures:
    day: date
    issued: int = 0
    sealed: int = 0
    verified: int = 0  # successful verifications (by code or by upload)
    verification_failed: int = 0
    downloads: int = 0
    issued_by_type: dict[str, int] = field(default_factory=dict)


def _page(session: Session, query: Select[Receipt], page: int, size: int) -> Page:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.scalars(
        query.order_by(Receipt.transaction_time.desc(), Receipt.receipt_no.desc())
        .limit(size)
        .offset((page - 1) * size)
    )
    return Page(list(rows), int(total or 0), page, size)


def customer_receipts(session: Session, customer_id: str, *, page: int, size: int) -> Page:
    return _page(session, select(Receipt).where(Receipt.customer_id == customer_id), page, size)


def customer_receipt(session: Session, customer_id: str, receipt_no: str) -> Receipt:
    """One of the customer's receipts; someone else's is as unknown as a missing one."""
    receipt = session.scalars(
        select(Receipt).where(
            Receipt.receipt_no == receipt_no.strip().upper(), Receipt.customer_id == customer_id
        )
    ).first()
    if receipt is None:
        raise ReceiptNotFound(f"you have no receipt {receipt_no}")
    return receipt


def list_receipts(session: Session, where: ReceiptFilter, *, page: int, size: int) -> Page:
    query = select(Receipt)
    if where.type is not None:
        query = query.where(Receipt.type == where.type.value)
    if where.status is not None:
        query = query.where(Receipt.status == where.status)
    if where.date_from is not None:
        query = query.where(Receipt.business_date >= where.date_from)
    if where.date_to is not None:
        query = query.where(Receipt.business_date <= where.date_to)
    if where.customer_id is not None:
        query = query.where(Receipt.customer_id == where.customer_id)
    if where.receipt_no:
        query = query.where(Receipt.receipt_no.startswith(where.receipt_no.strip().upper()))
    return _page(session, query, page, size)


def daily_figures(session: Session, date_from: date, date_to: date) -> list[DayFigures]:
    """Receipts issued / sealed and verifications per business day, oldest first."""
    days: dict[date, DayFigures] = {}

    def day(d: date) -> DayFigures:
        return days.setdefault(d, DayFigures(d))

    issued = session.execute(
        select(Receipt.business_date, Receipt.type, Receipt.status, func.count())
        .where(Receipt.business_date.between(date_from, date_to))
        .group_by(Receipt.business_date, Receipt.type, Receipt.status)
    )
    for d, kind, status, count in issued:
        figures = day(d)
        figures.issued += count
        figures.sealed += count if status == SEALED else 0
        figures.issued_by_type[kind] = figures.issued_by_type.get(kind, 0) + count
    checks = session.execute(
        select(
            ReceiptVerification.business_date,
            ReceiptVerification.method,
            ReceiptVerification.outcome,
            func.count(),
        )
        .where(ReceiptVerification.business_date.between(date_from, date_to))
        .group_by(
            ReceiptVerification.business_date,
            ReceiptVerification.method,
            ReceiptVerification.outcome,
        )
    )
    for d, method, outcome, count in checks:
        count_checks(day(d), method, outcome, count)
    return [days[d] for d in sorted(days)]


class CheckFigures(Protocol):
    verified: int
    verification_failed: int
    downloads: int


def count_checks(figures: CheckFigures, method: str, outcome: str, count: int) -> None:
    """Add one group of recorded public checks (receipts' or carbon certificates'): every check
    that failed, a download included, is a failed verification; a download that passed handed
    the original out; any other check that passed verified the document."""
    if outcome != "ok":
        figures.verification_failed += count
    elif method == "download":
        figures.downloads += count
    else:
        figures.verified += count
