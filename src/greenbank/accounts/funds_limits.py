"""The Class II non-bound limits (银发〔2018〕16号): 10,000 CNY a day, 200,000 CNY a year, per
direction, for money to or from accounts other than the bound card.

This product moves money only to and from the bound card, so the counters are off
(``FundsPolicy.non_bound_enabled``); they are here, tested, for the day the product widens.
Counting happens in the transaction that accepts the transfer, under a row lock, so two
concurrent requests can not both squeeze under the limit. A failed transfer gives its amount back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from greenbank.accounts.funds_errors import NonBoundLimitExceeded
from greenbank.accounts.funds_models import LimitCounter
from greenbank.accounts.funds_policy import FundsPolicy
from greenbank.clock import business_date


def periods(at: datetime) -> tuple[str, str]:
    """The day and year counters an instant falls in (Shanghai business calendar)."""
    day = business_date(at)
    return day.isoformat(), str(day.year)


def _counter(
    session: Session, customer_id: str, direction: str, period: str, at: datetime
) -> LimitCounter:
    stmt = (
        select(LimitCounter)
        .where(
            LimitCounter.customer_id == customer_id,
            LimitCounter.direction == direction,
            LimitCounter.period == period,
        )
        .with_for_update()
    )
    found = session.scalar(stmt)
    if found is not None:
        return found
    try:
        with session.begin_nested():
            session.add(
                LimitCounter(
                    customer_id=customer_id,
                    direction=direction,
                    period=period,
                    used_fen=0,
                    updated_at=at,
                )
            )
    except IntegrityError:  # a concurrent request created it first
        pass
    counter = session.scalar(stmt)
    assert counter is not None
    return counter


def charge(
    session: Session,
    *,
    policy: FundsPolicy,
    customer_id: str,
    direction: str,
    amount_fen: int,
    at: datetime,
) -> None:
    """Count a non-bound flow, or raise ``NonBoundLimitExceeded`` and count nothing."""
    day, year = periods(at)
    limits = ((day, policy.non_bound_daily_fen), (year, policy.non_bound_yearly_fen))
    counters = [(_counter(session, customer_id, direction, p, at), limit) for p, limit in limits]
    for counter, limit in counters:
        if counter.used_fen + amount_fen > limit:
            raise NonBoundLimitExceeded(
                f"{counter.period}: {counter.used_fen} of {limit} fen used, {amount_fen} asked",
                period=counter.period,
                used_fen=counter.used_fen,
                limit_fen=limit,
            )
    for counter, _limit in counters:
        counter.used_fen += amount_fen
        counter.updated_at = at


def refund(
    session: Session,
    *,
    customer_id: str,
    direction: str,
    amount_fen: int,
    requested_at: datetime,
    now: datetime,
) -> None:
    """Give a failed transfer's amount back to the periods it was counted in."""
    for period in periods(requested_at):
        counter = _counter(session, customer_id, direction, period, now)
        counter.used_fen = max(0, counter.used_fen - amount_fen)
        counter.updated_at = now


def used(session: Session, *, customer_id: str, direction: str, at: datetime) -> dict[str, int]:
    """How much is used in the day and year containing ``at`` (for display and tests)."""
    rows = session.scalars(
        select(LimitCounter).where(
            LimitCounter.customer_id == customer_id,
            LimitCounter.direction == direction,
            LimitCounter.period.in_(periods(at)),
        )
    )
    return {row.period: row.used_fen for row in rows}
