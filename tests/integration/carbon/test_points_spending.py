"""Retiring and returning points: idempotent, never below zero, never returned twice."""

from __future__ import annotations

import pytest
from carbon_db_support import event, open_with

from greenbank.bootstrap import Container
from greenbank.carbon.errors import BadPoints, InsufficientPoints, PointsKeyReused
from greenbank.carbon.ingest import ingest_events
from greenbank.carbon.spending import retire_points, return_points


def _with_points(container: Container) -> None:
    open_with(container, "c1", scenarios=["online_deposit"])
    now = container.clock.now()
    ingest_events(container.uow, container.clock, [event("d1", "c1", "online_deposit", now)])


def test_retire_is_idempotent_and_guards_the_balance(carbon: Container) -> None:
    _with_points(carbon)  # 89 g -> 8 points
    with carbon.uow() as uow:
        first = retire_points(
            uow.session,
            customer_id="c1",
            points=5,
            idempotency_key="r1",
            reason="gift",
            clock=carbon.clock,
        )
        uow.commit()
    assert (first.balance_after, first.replayed) == (3, False)
    with carbon.uow() as uow:
        again = retire_points(
            uow.session,
            customer_id="c1",
            points=5,
            idempotency_key="r1",
            reason="gift",
            clock=carbon.clock,
        )
        assert (again.move_id, again.balance_after, again.replayed) == (first.move_id, 3, True)
        with pytest.raises(PointsKeyReused):
            retire_points(
                uow.session,
                customer_id="c1",
                points=2,
                idempotency_key="r1",
                reason="gift",
                clock=carbon.clock,
            )
        with pytest.raises(InsufficientPoints):
            retire_points(
                uow.session,
                customer_id="c1",
                points=4,
                idempotency_key="r2",
                reason="gift",
                clock=carbon.clock,
            )
        with pytest.raises(BadPoints):
            retire_points(
                uow.session,
                customer_id="c1",
                points=0,
                idempotency_key="r3",
                reason="gift",
                clock=carbon.clock,
            )


def test_a_return_gives_back_at_most_what_was_retired(carbon: Container) -> None:
    _with_points(carbon)
    with carbon.uow() as uow:
        retire_points(
            uow.session,
            customer_id="c1",
            points=6,
            idempotency_key="r1",
            reason="gift",
            clock=carbon.clock,
        )
        part = return_points(
            uow.session,
            customer_id="c1",
            retire_key="r1",
            idempotency_key="b1",
            reason="cancelled",
            clock=carbon.clock,
            points=2,
        )
        rest = return_points(
            uow.session,
            customer_id="c1",
            retire_key="r1",
            idempotency_key="b2",
            reason="cancelled",
            clock=carbon.clock,
        )
        replay = return_points(
            uow.session,
            customer_id="c1",
            retire_key="r1",
            idempotency_key="b2",
            reason="cancelled",
            clock=carbon.clock,
        )
        assert (part.balance_after, rest.points, rest.balance_after) == (4, 4, 8)
        assert replay.replayed and replay.balance_after == 8
        with pytest.raises(BadPoints):
            return_points(
                uow.session,
                customer_id="c1",
                retire_key="r1",
                idempotency_key="b3",
                reason="cancelled",
                clock=carbon.clock,
            )
