"""What staff see: refused events and why, totals per scenario per day, anomalies, and the
reduction certificates issued and checked per day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from greenbank.carbon.models import Certificate, CertificateCheck, Entry, Rejection
from greenbank.carbon.pipeline import Reason
from greenbank.db import UowFactory
from greenbank.receipts.queries import count_checks


@dataclass(frozen=True)
class RejectionView:
    id: str
    received_at: datetime
    source: str | None
    source_event_id: str | None
    customer_id: str | None
    scenario: str | None
    reason: str
    detail: str
    payload: dict[str, Any]


def rejections(
    uow_factory: UowFactory,
    *,
    reason: str | None = None,
    source: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
    before: str | None = None,
) -> tuple[list[RejectionView], str | None]:
    """Newest first, filtered; ``before`` pages on (ids are time-ordered)."""
    with uow_factory() as uow:
        query = select(Rejection)
        if reason is not None:
            query = query.where(Rejection.reason == reason)
        if source is not None:
            query = query.where(Rejection.source == source)
        if since is not None:
            query = query.where(Rejection.received_at >= since)
        if before is not None:
            query = query.where(Rejection.id < before)
        rows = list(uow.session.scalars(query.order_by(Rejection.id.desc()).limit(limit + 1)))
        views = [
            RejectionView(
                r.id,
                r.received_at,
                r.source,
                r.source_event_id,
                r.customer_id,
                r.scenario,
                r.reason,
                r.detail,
                dict(r.payload),
            )
            for r in rows[:limit]
        ]
        return views, views[-1].id if len(rows) > limit else None


@dataclass(frozen=True)
class DayTotal:
    business_date: date
    scenario: str
    entries: int
    co2e_mg: int
    points: int


def totals_per_day(uow_factory: UowFactory, *, start: date, end: date) -> list[DayTotal]:
    """Credited and adjusted milligrams per scenario per business day, ``start``..``end``."""
    with uow_factory() as uow:
        rows = uow.session.execute(
            select(
                Entry.business_date,
                Entry.scenario,
                func.count(),
                func.sum(Entry.co2e_mg),
                func.sum(Entry.points),
            )
            .where(Entry.business_date >= start, Entry.business_date <= end)
            .group_by(Entry.business_date, Entry.scenario)
            .order_by(Entry.business_date, Entry.scenario)
        ).all()
        return [DayTotal(d, s, int(n), int(mg or 0), int(p or 0)) for d, s, n, mg, p in rows]


@dataclass(frozen=True)
class Anomaly:
    customer_id: str
    over_cap: int
    duplicates: int
    last_at: datetime


def anomalies(uow_factory: UowFactory, *, since: datetime, limit: int = 20) -> list[Anomaly]:
    """Customers refused most often for caps (then duplicates) since ``since``: abuse suspects."""
    over_cap = func.count().filter(Rejection.reason == Reason.OVER_CAP.value)
    duplicates = func.count().filter(Rejection.reason == Reason.DUPLICATE.value)
    with uow_factory() as uow:
        rows = uow.session.execute(
            select(Rejection.customer_id, over_cap, duplicates, func.max(Rejection.received_at))
            .where(
                Rejection.received_at >= since,
                Rejection.customer_id.is_not(None),
                Rejection.reason.in_([Reason.OVER_CAP.value, Reason.DUPLICATE.value]),
            )
            .group_by(Rejection.customer_id)
            .order_by(over_cap.desc(), duplicates.desc(), Rejection.customer_id)
            .limit(limit)
        ).all()
        return [Anomaly(str(c), int(o), int(d), at) for c, o, d, at in rows]


@dataclass
class CertificateDay:
    day: date
    issued: int = 0
    verified: int = 0  # checks by number + code or by upload that passed
    verification_failed: int = 0  # every other recorded check, failed downloads included
    downloads: int = 0  # original PDFs handed out (number and code matched)


def certificate_days(uow_factory: UowFactory, *, start: date, end: date) -> list[CertificateDay]:
    """Certificates issued and public checks per business day, oldest first; days without either
    are left out. Each recorded check counts once (attempts refused by the rate limit are not
    recorded), so verified + verification_failed + downloads is every check of the day."""
    days: dict[date, CertificateDay] = {}

    def day(d: date) -> CertificateDay:
        return days.setdefault(d, CertificateDay(d))

    with uow_factory() as uow:
        issued = uow.session.execute(
            select(Certificate.business_date, func.count())
            .where(Certificate.business_date.between(start, end))
            .group_by(Certificate.business_date)
        )
        for d, count in issued:
            day(d).issued += count
        checks = uow.session.execute(
            select(
                CertificateCheck.business_date,
                CertificateCheck.method,
                CertificateCheck.outcome,
                func.count(),
            )
            .where(CertificateCheck.business_date.between(start, end))
            .group_by(
                CertificateCheck.business_date, CertificateCheck.method, CertificateCheck.outcome
            )
        )
        for d, method, outcome, count in checks:
            count_checks(day(d), method, outcome, count)
    return [days[d] for d in sorted(days)]
