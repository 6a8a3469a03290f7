"""The points mall on both databases: redemption is atomic and idempotent, orders move through
their states, cancelling gives the points and the stock back; the last unit has one winner."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from rewards_support import STAFF, carbon_customer, make_item, points_of
from sqlalchemy import func, select

from greenbank.bootstrap import Container
from greenbank.carbon.errors import InsufficientPoints
from greenbank.carbon.models import PointsMove
from greenbank.errors import GreenbankError
from greenbank.rewards import mall
from greenbank.rewards.common import IdempotencyKeyReused
from greenbank.rewards.domain import (
    CustomerLimitReached,
    IllegalOrderChange,
    ItemKind,
    LevelTooLow,
    NotOnSale,
    OrderStatus,
    OutOfStock,
)
from greenbank.rewards.models import CouponCode, Item, Order
from greenbank.rewards.schemas import ItemChange, OrderMoveIn, RedeemIn


def redeem(container: Container, customer: str, key: str, code: str, **extra: object):  # type: ignore[no-untyped-def]
    body = {"item_code": code, "ship_to": "广州市天河区 1 号", **extra}
    return mall.redeem(
        uow=container.uow,
        clock=container.clock,
        customer_id=customer,
        request=RedeemIn.model_validate(body),
        idempotency_key=key,
    )


def stock(container: Container, code: str) -> int:
    with container.uow() as unit:
        return unit.session.scalar(select(Item.stock).where(Item.code == code)) or 0


def test_redeem_retires_points_decrements_stock_and_replays(container: Container) -> None:
    make_item(container, "MUG", points_price=300, stock=2)
    customer = carbon_customer(container, 1_000)
    order = redeem(container, customer, "k1", "MUG", quantity=2)
    assert (order.points, order.status, order.replayed) == (600, OrderStatus.CREATED, False)
    assert points_of(container, customer) == 400 and stock(container, "MUG") == 0
    again = redeem(container, customer, "k1", "MUG", quantity=2)
    assert again.id == order.id and again.replayed
    assert points_of(container, customer) == 400  # nothing retired twice
    with pytest.raises(IdempotencyKeyReused):
        redeem(container, customer, "k1", "MUG", quantity=1)
    with pytest.raises(OutOfStock):
        redeem(container, customer, "k2", "MUG")
    assert points_of(container, customer) == 400  # the refused one retired nothing


def test_refusals_leave_no_trace(container: Container) -> None:
    make_item(container, "BAG", points_price=500, stock=5, per_customer_limit=1)
    make_item(container, "TREE", points_price=10, stock=5, min_level="leaf")
    customer = carbon_customer(container, 700)
    redeem(container, customer, "a", "BAG")
    with pytest.raises(CustomerLimitReached):
        redeem(container, customer, "b", "BAG")
    with pytest.raises(LevelTooLow):
        redeem(container, customer, "c", "TREE")
    other = carbon_customer(container, 100)
    with pytest.raises(InsufficientPoints):
        redeem(container, other, "d", "BAG")
    assert (points_of(container, customer), points_of(container, other)) == (200, 100)
    assert stock(container, "BAG") == 4
    with container.uow() as unit:
        assert unit.session.scalar(select(func.count()).select_from(Order)) == 1


def test_sale_window_and_pause(container: Container) -> None:
    now = container.clock.now()
    make_item(container, "LATER", sale_from=now + timedelta(days=1))
    customer = carbon_customer(container, 1_000)
    with pytest.raises(NotOnSale):
        redeem(container, customer, "a", "LATER")
    on_sale = mall.list_items(uow=container.uow, clock=container.clock, on_sale_only=True)
    assert [i.code for i in on_sale] == []
    mall.change_item(
        uow=container.uow,
        clock=container.clock,
        code="LATER",
        change=ItemChange(sale_from=now - timedelta(days=1), status="paused"),
        by=STAFF,
    )
    with pytest.raises(NotOnSale):
        redeem(container, customer, "b", "LATER")


def test_coupon_codes_are_assigned_once(container: Container) -> None:
    make_item(container, "COFFEE", kind=ItemKind.COUPON, points_price=50)
    imported = mall.import_codes(
        uow=container.uow,
        clock=container.clock,
        item_code="COFFEE",
        batch="supplier-2026-03",
        codes=["CAFE-0001", "CAFE-0002", ""],
        by=STAFF,
    )
    assert (imported.imported, imported.stock) == (2, 2)
    with pytest.raises(GreenbankError):  # a code imported twice refuses the whole batch
        mall.import_codes(
            uow=container.uow, clock=container.clock, item_code="COFFEE", batch="x",
            codes=["CAFE-0002", "CAFE-0003"], by=STAFF,
        )  # fmt: skip
    customer = carbon_customer(container, 1_000)
    first = redeem(container, customer, "a", "COFFEE")
    second = redeem(container, customer, "b", "COFFEE")
    assert first.status == OrderStatus.FULFILLED
    assert {first.coupon_code, second.coupon_code} == {"CAFE-0001", "CAFE-0002"}
    with pytest.raises(OutOfStock):
        redeem(container, customer, "c", "COFFEE")
    with container.uow() as unit:
        free = unit.session.scalar(
            select(func.count()).select_from(CouponCode).where(CouponCode.order_id.is_(None))
        )
    assert free == 0


def test_order_states_and_cancellation_returns_points(container: Container) -> None:
    make_item(container, "LAMP", points_price=200, stock=3)
    customer = carbon_customer(container, 1_000)
    shipped = redeem(container, customer, "a", "LAMP")
    cancelled = redeem(container, customer, "b", "LAMP")

    def move(order_id: str, status: OrderStatus, by: str = STAFF, **kw: str):  # type: ignore[no-untyped-def]
        return mall.move_order(
            uow=container.uow, clock=container.clock, order_id=order_id,
            move=OrderMoveIn(status=status, tracking_no="SF123"), by=by, **kw,
        )  # fmt: skip

    assert move(shipped.id, OrderStatus.SHIPPED).tracking_no == "SF123"
    with pytest.raises(IllegalOrderChange):
        move(shipped.id, OrderStatus.CANCELLED)
    assert move(shipped.id, OrderStatus.FULFILLED).status == OrderStatus.FULFILLED
    assert points_of(container, customer) == 600 and stock(container, "LAMP") == 1
    done = move(
        cancelled.id, OrderStatus.CANCELLED, by=f"customer:{customer}", customer_id=customer
    )
    assert done.status == OrderStatus.CANCELLED
    assert points_of(container, customer) == 800 and stock(container, "LAMP") == 2
    with pytest.raises(IllegalOrderChange):
        move(cancelled.id, OrderStatus.CANCELLED)
    assert points_of(container, customer) == 800
    with container.uow() as unit:
        kinds = unit.session.scalars(
            select(PointsMove.kind)
            .where(PointsMove.customer_id == customer)
            .order_by(PointsMove.id)
        ).all()
    assert kinds == ["retire", "retire", "return"]


@pytest.mark.postgres_only
def test_concurrent_redemptions_of_the_last_unit_have_one_winner(container: Container) -> None:
    make_item(container, "LAST", points_price=100, stock=1)
    customers = [carbon_customer(container, 500) for _ in range(12)]
    barrier = threading.Barrier(len(customers))
    outcomes: list[str] = []
    lock = threading.Lock()

    def buy(customer: str) -> None:
        barrier.wait()
        try:
            redeem(container, customer, "race", "LAST")
            result = "won"
        except OutOfStock:
            result = "out_of_stock"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=buy, args=(c,)) for c in customers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["out_of_stock"] * 11 + ["won"]
    assert stock(container, "LAST") == 0
    assert sum(points_of(container, c) for c in customers) == 12 * 500 - 100
    with container.uow() as unit:
        assert unit.session.scalar(select(func.count()).select_from(Order)) == 1
