"""Awarding points (e.g. for a right quiz answer): idempotent by key, positive, carbon untouched."""

from __future__ import annotations

import pytest
from carbon_db_support import event, open_with
from sqlalchemy import func, select

from greenbank.bootstrap import Container
from greenbank.carbon.errors import AccountNotOpen, BadPoints, PointsKeyReused
from greenbank.carbon.ingest import ingest_events
from greenbank.carbon.models import AWARD, CarbonAccount, Entry, PointsMove
from greenbank.carbon.spending import award_points, retire_points


def _award(container: Container, points: int, key: str, customer_id: str = "c1"):  # type: ignore[no-untyped-def]
    with container.uow() as uow:
        result = award_points(
            uow.session,
            customer_id=customer_id,
            points=points,
            idempotency_key=key,
            reason="quiz",
            clock=container.clock,
        )
        uow.commit()
    return result


def _account(container: Container) -> tuple[int, int, int, int]:
    with container.uow() as uow:
        account = uow.session.get_one(CarbonAccount, "c1")
        entries = uow.session.scalar(select(func.count()).select_from(Entry))
        return account.points_balance, account.points_earned, account.lifetime_mg, int(entries or 0)


def test_award_credits_once_per_key_and_never_touches_carbon(carbon: Container) -> None:
    open_with(carbon, "c1", scenarios=["online_deposit"])
    now = carbon.clock.now()
    ingest_events(carbon.uow, carbon.clock, [event("d1", "c1", "online_deposit", now)])
    balance, earned, lifetime_mg, entries = _account(carbon)
    assert (balance, earned) == (8, 8)  # 89 g -> 8 points

    first = _award(carbon, 5, "rewards:quiz:a1")
    assert (first.kind, first.points, first.balance_after, first.replayed) == (AWARD, 5, 13, False)
    again = _award(carbon, 5, "rewards:quiz:a1")
    assert (again.move_id, again.balance_after, again.replayed) == (first.move_id, 13, True)
    assert _account(carbon) == (13, 13, lifetime_mg, entries)  # the mg ledger is untouched

    with pytest.raises(PointsKeyReused):
        _award(carbon, 4, "rewards:quiz:a1")  # same key, other amount
    with carbon.uow() as uow:  # an award key is not a retirement key
        with pytest.raises(PointsKeyReused):
            retire_points(
                uow.session,
                customer_id="c1",
                points=5,
                idempotency_key="rewards:quiz:a1",
                reason="x",
                clock=carbon.clock,
            )
        moves = uow.session.scalars(select(PointsMove.kind).where(PointsMove.customer_id == "c1"))
        assert list(moves) == [AWARD]  # the statement shows the award under its own kind


@pytest.mark.parametrize("points", [0, -3, True, 2.5])
def test_award_refuses_points_that_are_not_positive_whole_numbers(
    carbon: Container, points: object
) -> None:
    open_with(carbon, "c1")
    with pytest.raises(BadPoints):
        _award(carbon, points, f"k{points}")  # type: ignore[arg-type]
    assert _account(carbon)[:2] == (0, 0)


def test_award_needs_a_carbon_account(carbon: Container) -> None:
    with pytest.raises(AccountNotOpen):
        _award(carbon, 5, "k1", customer_id="nobody")
