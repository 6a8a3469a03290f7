"""Carbon points moves: retired when the rewards side redeems them, returned on cancellation,
awarded for things that are not carbon (a right quiz answer), so they never touch the mg ledger.

All run in the caller's session (the rewards transaction), under the carbon-account row lock,
and carry an idempotency key with a UNIQUE constraint: a retry returns the first move, a key
reused for something else is refused, the balance never goes below zero (also a CHECK), and a
return never gives back more than its retirement took.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from greenbank.audit.service import record
from greenbank.carbon.consent import account_of
from greenbank.carbon.errors import BadPoints, InsufficientPoints, PointsKeyReused
from greenbank.carbon.models import AWARD, RETIRE, RETURN, PointsMove
from greenbank.clock import Clock
from greenbank.errors import NotFound


class RetirementNotFound(NotFound):
    code = "carbon_retirement_not_found"
    title = "No points retirement with this key for this customer"


@dataclass(frozen=True)
class PointsMoveResult:
    move_id: str
    customer_id: str
    kind: str  # retire | return | award
    points: int
    balance_after: int
    replayed: bool  # True when the key had been used already (nothing moved this time)


def retire_points(
    session: Session,
    *,
    customer_id: str,
    points: int,
    idempotency_key: str,
    reason: str,
    clock: Clock,
) -> PointsMoveResult:
    """Take ``points`` out of the customer's balance for good (a redemption)."""
    _check_points(points)
    account = account_of(session, customer_id, lock=True)
    earlier = _earlier(session, idempotency_key, customer_id, RETIRE, points)
    if earlier is not None:
        return _result(earlier, account.points_balance, replayed=True)
    if account.points_balance < points:
        raise InsufficientPoints(
            f"balance {account.points_balance} < {points}", balance=account.points_balance
        )
    account.points_balance -= points
    move = _move(session, clock, customer_id, RETIRE, points, idempotency_key, reason, None)
    return _result(move, account.points_balance, replayed=False)


def award_points(
    session: Session,
    *,
    customer_id: str,
    points: int,
    idempotency_key: str,
    reason: str,
    clock: Clock,
) -> PointsMoveResult:
    """Add ``points`` to the balance (and points earned) with no carbon behind them."""
    _check_points(points)
    account = account_of(session, customer_id, lock=True)
    earlier = _earlier(session, idempotency_key, customer_id, AWARD, points)
    if earlier is not None:
        return _result(earlier, account.points_balance, replayed=True)
    account.points_balance += points
    account.points_earned += points
    move = _move(session, clock, customer_id, AWARD, points, idempotency_key, reason, None)
    return _result(move, account.points_balance, replayed=False)


def return_points(
    session: Session,
    *,
    customer_id: str,
    retire_key: str,
    idempotency_key: str,
    reason: str,
    clock: Clock,
    points: int | None = None,
) -> PointsMoveResult:
    """Give back (part of) a retirement, e.g. a cancelled redemption; default: all that is left."""
    account = account_of(session, customer_id, lock=True)
    retired = session.scalar(
        select(PointsMove).where(
            PointsMove.idempotency_key == retire_key,
            PointsMove.kind == RETIRE,
            PointsMove.customer_id == customer_id,
        )
    )
    if retired is None:
        raise RetirementNotFound(f"no retirement {retire_key!r} for this customer")
    earlier = _earlier(session, idempotency_key, customer_id, RETURN, points, retire_key)
    if earlier is not None:
        return _result(earlier, account.points_balance, replayed=True)
    returned = session.scalar(
        select(func.coalesce(func.sum(PointsMove.points), 0)).where(
            PointsMove.retire_key == retire_key, PointsMove.kind == RETURN
        )
    )
    left = retired.points - int(returned or 0)
    amount = left if points is None else points
    _check_points(amount)
    if amount > left:
        raise BadPoints(f"only {left} points of {retire_key!r} are left to return")
    account.points_balance += amount
    move = _move(session, clock, customer_id, RETURN, amount, idempotency_key, reason, retire_key)
    return _result(move, account.points_balance, replayed=False)


def _check_points(points: int) -> None:
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise BadPoints(f"points must be a positive whole number, not {points!r}")


def _earlier(
    session: Session,
    key: str,
    customer_id: str,
    kind: str,
    points: int | None,
    retire_key: str | None = None,
) -> PointsMove | None:
    move = session.scalar(select(PointsMove).where(PointsMove.idempotency_key == key))
    if move is None:
        return None
    same = (
        move.customer_id == customer_id
        and move.kind == kind
        and (points is None or move.points == points)
        and move.retire_key == retire_key
    )
    if not same:
        raise PointsKeyReused(f"idempotency key {key!r} was used for another points move")
    return move


def _move(
    session: Session,
    clock: Clock,
    customer_id: str,
    kind: str,
    points: int,
    key: str,
    reason: str,
    retire_key: str | None,
) -> PointsMove:
    move = PointsMove(
        customer_id=customer_id,
        kind=kind,
        points=points,
        idempotency_key=key,
        retire_key=retire_key,
        reason=reason[:200],
        created_at=clock.now(),
    )
    session.add(move)
    session.flush()
    record(
        session,
        clock,
        actor="rewards",
        action=f"carbon.points.{kind}",
        subject=customer_id,
        points=points,
        idempotency_key=key,
    )
    return move


def _result(move: PointsMove, balance: int, *, replayed: bool) -> PointsMoveResult:
    return PointsMoveResult(
        move.id, move.customer_id, move.kind, move.points, balance, replayed=replayed
    )
