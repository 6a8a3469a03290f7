"""Everything rewards asks of the carbon account, in one place.

Points are the carbon account's: rewards retires them (redemptions, donations), returns them
(cancelled orders) and awards them (right quiz answers) through ``greenbank.carbon.spending``,
inside the rewards transaction and under the carbon account's row lock — which also serialises
one customer's redemptions.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.carbon.consent import account_of
from greenbank.carbon.models import CarbonAccount
from greenbank.carbon.points import DEFAULT_LEVELS
from greenbank.carbon.queries import summary_in
from greenbank.carbon.spending import (
    PointsMoveResult,
    award_points,
    retire_points,
    return_points,
)
from greenbank.clock import Clock
from greenbank.rewards.domain import Shopper, Snapshot

LEVELS: tuple[str, ...] = tuple(level.code for level in DEFAULT_LEVELS)


def shopper(session: Session, customer_id: str) -> Shopper:
    """The customer's level and balance; takes the carbon account lock (redemptions queue on it)."""
    account = account_of(session, customer_id, lock=True)
    return Shopper(account.level, account.points_balance)


def snapshot(session: Session, clock: Clock, customer_id: str) -> Snapshot:
    """What perk rules look at: level, lifetime reduction, points, this month's reduction."""
    summary = summary_in(session, clock, customer_id)
    return Snapshot(
        customer_id=customer_id,
        level=summary.level.level.code,
        lifetime_mg=summary.lifetime_mg,
        points_balance=summary.points_balance,
        points_earned=summary.points_earned,
        month_mg=summary.month_mg,
    )


def customer_ids(session: Session, *, after: str, limit: int) -> list[str]:
    """Carbon-account holders in id order, for the nightly perks run (keyset pagination).
    The one read of a carbon table here: the carbon account has no listing service yet."""
    query = (
        select(CarbonAccount.customer_id)
        .where(CarbonAccount.customer_id > after)
        .order_by(CarbonAccount.customer_id)
        .limit(limit)
    )
    return list(session.scalars(query))


def retire(
    session: Session, clock: Clock, *, customer_id: str, points: int, key: str, reason: str
) -> PointsMoveResult:
    return retire_points(
        session,
        customer_id=customer_id,
        points=points,
        idempotency_key=key,
        reason=reason,
        clock=clock,
    )


def award(
    session: Session, clock: Clock, *, customer_id: str, points: int, key: str, reason: str
) -> PointsMoveResult:
    return award_points(
        session,
        customer_id=customer_id,
        points=points,
        idempotency_key=key,
        reason=reason,
        clock=clock,
    )


def give_back(
    session: Session, clock: Clock, *, customer_id: str, retire_key: str, reason: str
) -> PointsMoveResult:
    return return_points(
        session,
        customer_id=customer_id,
        retire_key=retire_key,
        idempotency_key=f"{retire_key}:return",
        reason=reason,
        clock=clock,
    )
