"""Running the AML rules over stored flows: daily totals, alerts for staff, the CSV report.

``run_daily`` is safe to run again for the same day (totals are recomputed, alerts are unique per
rule, subject and day), so a cron job, ``greenbank aml run`` and a staff button can all call it.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from greenbank.accounts.aml import (
    AlertCandidate,
    AlertRule,
    AmlRules,
    Flow,
    FlowDirection,
    FlowKind,
    daily_totals,
    screen,
)
from greenbank.accounts.funds_errors import AlertAlreadyResolved, AlertNotFound, ReasonRequired
from greenbank.accounts.funds_models import (
    AlertStatus,
    AmlAlert,
    AmlDailyAggregate,
    FundTransfer,
    TransferKind,
)
from greenbank.accounts.funds_schemas import AlertOut
from greenbank.accounts.models import Application
from greenbank.audit.service import record
from greenbank.clock import SHANGHAI, Clock, business_date
from greenbank.db import UowFactory
from greenbank.money import format_yuan


@dataclass(frozen=True)
class DailyRun:
    business_date: date
    customers: int
    flows: int
    alerts_created: int


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=SHANGHAI)


def raise_alert(
    session: Session,
    clock: Clock,
    *,
    rule: AlertRule,
    subject: str,
    customer_id: str | None,
    amount_fen: int,
    detail: dict[str, Any],
) -> bool:
    """Raise one alert now (outside the daily run), e.g. a reversal that found no money."""
    candidate = AlertCandidate(
        rule=rule,
        subject=subject,
        business_date=business_date(clock.now()),
        amount_fen=amount_fen,
        customer_id=customer_id,
        detail=detail,
    )
    return _insert(session, clock, candidate)


def _insert(session: Session, clock: Clock, candidate: AlertCandidate) -> bool:
    """True if the alert is new; a second screening of the same day finds it already there."""
    key = candidate.dedupe_key
    if session.scalar(select(AmlAlert.id).where(AmlAlert.dedupe_key == key)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(
                AmlAlert(
                    rule=candidate.rule.value,
                    subject=candidate.subject,
                    customer_id=candidate.customer_id,
                    business_date=candidate.business_date,
                    amount_fen=candidate.amount_fen,
                    detail=dict(candidate.detail),
                    dedupe_key=key,
                    status=AlertStatus.OPEN.value,
                    created_at=clock.now(),
                )
            )
    except IntegrityError:  # a concurrent run inserted it first
        return False
    return True


def settled_flows(session: Session, *, start: datetime, end: datetime) -> list[Flow]:
    """Every transfer that settled in [start, end), later reversals included (money did move)."""
    rows = session.scalars(
        select(FundTransfer).where(
            FundTransfer.settled_at.is_not(None),
            FundTransfer.settled_at >= start,
            FundTransfer.settled_at < end,
        )
    )
    return [
        Flow(
            customer_id=row.customer_id,
            direction=FlowDirection.IN if row.kind == TransferKind.TOP_UP else FlowDirection.OUT,
            kind=FlowKind.BOUND_CARD if row.card_id is not None else FlowKind.NON_BOUND,
            amount_fen=row.amount_fen,
            at=row.settled_at,
            reference=row.id,
        )
        for row in rows
        if row.settled_at is not None
    ]


def device_customers(session: Session, *, since: datetime) -> dict[str, list[str]]:
    """Device fingerprint hash -> customers whose account applications came from it."""
    rows = session.execute(
        select(Application.device_id, Application.customer_id).where(
            Application.device_id.is_not(None), Application.created_at >= since
        )
    )
    found: dict[str, list[str]] = defaultdict(list)
    for device, customer in rows:
        if device is not None:
            found[device].append(customer)
    return dict(found)


def run_daily(
    uow_factory: UowFactory, clock: Clock, rules: AmlRules, *, on: date, actor: str = "system"
) -> DailyRun:
    """Recompute the day's totals per customer and raise the day's alerts."""
    end = day_start(on + timedelta(days=1))
    lookback = max(rules.rapid_window, rules.near_window, timedelta(days=1))
    with uow_factory() as uow:
        session = uow.session
        flows = settled_flows(session, start=end - timedelta(days=1) - lookback, end=end)
        devices = device_customers(session, since=end - rules.device_window)
        totals = [t for t in daily_totals(flows) if t.business_date == on]
        session.execute(delete(AmlDailyAggregate).where(AmlDailyAggregate.business_date == on))
        now = clock.now()
        session.add_all(
            AmlDailyAggregate(
                customer_id=t.customer_id,
                business_date=on,
                in_fen=t.in_fen,
                out_fen=t.out_fen,
                in_count=t.in_count,
                out_count=t.out_count,
                computed_at=now,
            )
            for t in totals
        )
        created = sum(
            _insert(session, clock, c) for c in screen(flows, on=on, rules=rules, devices=devices)
        )
        run = DailyRun(on, len(totals), sum(t.in_count + t.out_count for t in totals), created)
        record(
            session,
            clock,
            actor=actor,
            action="aml.run_daily",
            subject=on.isoformat(),
            customers=run.customers,
            flows=run.flows,
            alerts_created=created,
        )
        uow.commit()
    return run


def _out(row: AmlAlert) -> AlertOut:
    return AlertOut.model_validate(row, from_attributes=True)


def list_alerts(
    uow_factory: UowFactory,
    *,
    status: AlertStatus | None = None,
    on: date | None = None,
    customer_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AlertOut]:
    stmt = select(AmlAlert).order_by(AmlAlert.created_at.desc(), AmlAlert.id.desc())
    if status is not None:
        stmt = stmt.where(AmlAlert.status == status.value)
    if on is not None:
        stmt = stmt.where(AmlAlert.business_date == on)
    if customer_id is not None:
        stmt = stmt.where(AmlAlert.customer_id == customer_id)
    with uow_factory() as uow:
        return [_out(r) for r in uow.session.scalars(stmt.limit(limit).offset(offset))]


def resolve_alert(
    uow_factory: UowFactory, clock: Clock, *, alert_id: str, actor: str, resolution: str
) -> AlertOut:
    """Close a case with the reviewer's conclusion (reported, false positive, ...); audited."""
    resolution = resolution.strip()
    if not 2 <= len(resolution) <= 500:
        raise ReasonRequired("a resolution of 2-500 characters is required")
    with uow_factory() as uow:
        stmt = select(AmlAlert).where(AmlAlert.id == alert_id).with_for_update()
        alert = uow.session.scalar(stmt)
        if alert is None:
            raise AlertNotFound(f"no alert {alert_id}", alert_id=alert_id)
        if alert.status == AlertStatus.RESOLVED:
            raise AlertAlreadyResolved(f"alert {alert_id} was resolved by {alert.resolved_by}")
        alert.status = AlertStatus.RESOLVED.value
        alert.resolved_at = clock.now()
        alert.resolved_by = actor
        alert.resolution = resolution
        record(
            uow.session,
            clock,
            actor=actor,
            action="aml.alert_resolved",
            subject=alert_id,
            rule=alert.rule,
            resolution=resolution,
        )
        uow.commit()
        return _out(alert)


TOTALS_HEADER = ["business_date", "customer_id", "in_cny", "in_count", "out_cny", "out_count"]
ALERTS_HEADER = [
    "business_date",
    "alert_id",
    "rule",
    "subject",
    "customer_id",
    "amount_cny",
    "status",
    "resolved_by",
    "resolution",
    "detail",
]


def export_csv(
    uow_factory: UowFactory, *, on: date, what: Literal["alerts", "totals"] = "alerts"
) -> str:
    """The day's alerts (``what="alerts"``) or per-customer totals (``"totals"``) as CSV."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    with uow_factory() as uow:
        if what == "totals":
            writer.writerow(TOTALS_HEADER)
            rows = uow.session.scalars(
                select(AmlDailyAggregate)
                .where(AmlDailyAggregate.business_date == on)
                .order_by(AmlDailyAggregate.customer_id)
            )
            for t in rows:
                writer.writerow(
                    [
                        on.isoformat(),
                        t.customer_id,
                        format_yuan(t.in_fen, grouping=False),
                        t.in_count,
                        format_yuan(t.out_fen, grouping=False),
                        t.out_count,
                    ]
                )
            return out.getvalue()
        writer.writerow(ALERTS_HEADER)
        alerts = uow.session.scalars(
            select(AmlAlert)
            .where(AmlAlert.business_date == on)
            .order_by(AmlAlert.rule, AmlAlert.id)
        )
        for a in alerts:
            writer.writerow(
                [
                    on.isoformat(),
                    a.id,
                    a.rule,
                    a.subject,
                    a.customer_id or "",
                    format_yuan(a.amount_fen, grouping=False),
                    a.status,
                    a.resolved_by or "",
                    a.resolution or "",
                    json.dumps(a.detail, sort_keys=True, ensure_ascii=False),
                ]
            )
    return out.getvalue()
