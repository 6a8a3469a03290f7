"""The points mall: staff keep the catalogue; customers redeem points for items.

A redemption is one transaction — points retired, stock decremented, a coupon code assigned,
the order created — or nothing. Lock order: the customer's carbon account row (taken first by
``carbon_port.shopper``; it serialises one customer's redemptions, so the idempotency look-up
and the per-customer limit are exact), then the item row, taken last and briefly by the
conditional ``UPDATE ... SET stock = stock - q WHERE stock >= q``: concurrent buyers of the last
unit queue on that row and exactly one of them sees a row to update. Coupon codes are then taken
with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL); SQLite serialises writers anyway.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from greenbank.clock import Clock
from greenbank.db import UowFactory
from greenbank.ids import new_id
from greenbank.rewards import carbon_port
from greenbank.rewards.common import (
    IdempotencyKeyReused,
    RewardNotFound,
    check_key,
    command,
    fingerprint,
    read,
)
from greenbank.rewards.domain import (
    ItemInvalid,
    ItemKind,
    ItemStatus,
    ItemTerms,
    OrderStatus,
    OutOfStock,
    check_order_move,
    check_redemption,
    check_terms,
    clean_codes,
    initial_status,
)
from greenbank.rewards.models import CouponCode, Item, Order
from greenbank.rewards.schemas import (
    CodesImported,
    ItemChange,
    ItemIn,
    ItemOut,
    OrderMoveIn,
    OrderOut,
    RedeemIn,
)

ITEMS = cast(Table, Item.__table__)


def _terms(item: Item) -> ItemTerms:
    return ItemTerms(
        item.points_price, item.per_customer_limit, item.min_level, item.sale_from, item.sale_until
    )


def item_by_code(session: Session, code: str) -> Item:
    item = session.scalar(select(Item).where(Item.code == code))
    if item is None:
        raise RewardNotFound(f"no catalogue item {code!r}", item_code=code)
    return item


def create_item(*, uow: UowFactory, clock: Clock, spec: ItemIn, by: str) -> ItemOut:
    def work(session: Session) -> ItemOut:
        terms = ItemTerms(
            spec.points_price, spec.per_customer_limit, spec.min_level, spec.sale_from,
            spec.sale_until,
        )  # fmt: skip
        check_terms(terms, carbon_port.LEVELS)
        if session.scalar(select(Item.id).where(Item.code == spec.code)):
            raise ItemInvalid(f"item code {spec.code!r} is taken")
        now = clock.now()
        item = Item(
            **spec.model_dump(exclude={"stock", "kind"}),
            kind=spec.kind.value,
            stock=0 if spec.kind is ItemKind.COUPON else spec.stock,
            status=ItemStatus.ACTIVE.value,
            created_by=by,
            created_at=now,
            updated_at=now,
        )
        session.add(item)
        session.flush()
        return ItemOut.model_validate(item)

    return command(uow, clock, work, actor=by, action="rewards.item.create", subject=spec.code)


def change_item(
    *, uow: UowFactory, clock: Clock, code: str, change: ItemChange, by: str
) -> ItemOut:
    """Edit an item's terms, add stock or change its status (active / paused / retired)."""

    def work(session: Session) -> ItemOut:
        item = item_by_code(session, code)
        fields = change.model_dump(exclude_unset=True, exclude={"add_stock", "status"})
        for name, value in fields.items():
            setattr(item, name, value)
        check_terms(_terms(item), carbon_port.LEVELS)
        if change.status is not None:
            if change.status not in set(ItemStatus) or item.status == ItemStatus.RETIRED:
                raise ItemInvalid(f"status {item.status} -> {change.status} is not allowed")
            item.status = change.status
        if change.add_stock:
            if item.kind == ItemKind.COUPON:
                raise ItemInvalid("a coupon item's stock comes from imported codes")
            added = session.execute(
                update(ITEMS)
                .where(ITEMS.c.id == item.id, ITEMS.c.stock + change.add_stock >= 0)
                .values(stock=ITEMS.c.stock + change.add_stock)
            )
            if added.rowcount != 1:  # type: ignore[attr-defined]
                raise ItemInvalid("stock would go below zero")
            session.refresh(item)
        item.updated_at = clock.now()
        session.flush()
        return ItemOut.model_validate(item)

    return command(uow, clock, work, actor=by, action="rewards.item.change", subject=code)


def import_codes(
    *, uow: UowFactory, clock: Clock, item_code: str, batch: str, codes: list[str], by: str
) -> CodesImported:
    """Add a supplier's codes to a coupon item; a code already imported refuses the batch."""
    cleaned = clean_codes(codes)

    def work(session: Session) -> CodesImported:
        item = item_by_code(session, item_code)
        if item.kind != ItemKind.COUPON:
            raise ItemInvalid("codes are imported into coupon items only")
        known = set(
            session.scalars(
                select(CouponCode.code).where(
                    CouponCode.item_id == item.id, CouponCode.code.in_(cleaned)
                )
            )
        )
        if known:
            raise ItemInvalid("some codes were imported before", repeated=sorted(known)[:10])
        now = clock.now()
        session.add_all(
            CouponCode(item_id=item.id, code=c, batch=batch, imported_at=now) for c in cleaned
        )
        session.execute(
            update(ITEMS)
            .where(ITEMS.c.id == item.id)
            .values(stock=ITEMS.c.stock + len(cleaned), updated_at=now)
        )
        session.flush()
        session.refresh(item)
        return CodesImported(item_code=item.code, imported=len(cleaned), stock=item.stock)

    return command(
        uow, clock, work, actor=by, action="rewards.codes.import", subject=item_code,
        batch=batch, count=len(cleaned),
    )  # fmt: skip


def list_items(*, uow: UowFactory, clock: Clock, on_sale_only: bool) -> list[ItemOut]:
    def work(session: Session) -> list[ItemOut]:
        query = select(Item).order_by(Item.points_price, Item.code)
        if on_sale_only:
            now = clock.now()
            query = query.where(
                Item.status == ItemStatus.ACTIVE,
                (Item.sale_from.is_(None)) | (Item.sale_from <= now),
                (Item.sale_until.is_(None)) | (Item.sale_until > now),
            )
        return [ItemOut.model_validate(i) for i in session.scalars(query)]

    return read(uow, work)


def _order_out(order: Order, item: Item, *, replayed: bool = False) -> OrderOut:
    return OrderOut.model_validate(
        {
            **{c: getattr(order, c) for c in OrderOut.model_fields if hasattr(order, c)},
            "item_code": item.code,
            "item_kind": item.kind,
            "replayed": replayed,
        }
    )


def _retire_key(order_id: str) -> str:
    return f"rewards:order:{order_id}"


def redeem(
    *, uow: UowFactory, clock: Clock, customer_id: str, request: RedeemIn, idempotency_key: str
) -> OrderOut:
    """Exchange points for an item; a retried key returns the first order."""
    key = check_key(idempotency_key)
    print_ = fingerprint(**request.model_dump())

    def work(session: Session) -> OrderOut:
        shopper = carbon_port.shopper(session, customer_id)
        earlier = session.scalar(
            select(Order).where(Order.customer_id == customer_id, Order.idempotency_key == key)
        )
        if earlier is not None:
            if earlier.fingerprint != print_:
                raise IdempotencyKeyReused(order_id=earlier.id)
            return _order_out(earlier, session.get_one(Item, earlier.item_id), replayed=True)
        item = item_by_code(session, request.item_code)
        kind = ItemKind(item.kind)
        if kind is ItemKind.GIFT and not request.ship_to:
            raise ItemInvalid("a physical gift needs ship_to (a delivery address)")
        already = session.scalar(
            select(func.coalesce(func.sum(Order.quantity), 0)).where(
                Order.customer_id == customer_id,
                Order.item_id == item.id,
                Order.status != OrderStatus.CANCELLED,
            )
        )
        now = clock.now()
        points = check_redemption(
            _terms(item), kind=kind, status=item.status, now=now, shopper=shopper,
            levels=carbon_port.LEVELS, quantity=request.quantity, already=int(already or 0),
        )  # fmt: skip
        order_id = new_id()
        carbon_port.retire(
            session, clock, customer_id=customer_id, points=points, key=_retire_key(order_id),
            reason=f"rewards order {item.code} x{request.quantity}",
        )  # fmt: skip
        sold = session.execute(
            update(ITEMS)
            .where(ITEMS.c.id == item.id, ITEMS.c.stock >= request.quantity)
            .values(stock=ITEMS.c.stock - request.quantity, updated_at=now)
        )
        if sold.rowcount != 1:  # type: ignore[attr-defined]
            raise OutOfStock(item_code=item.code)
        code = _assign_code(session, item, order_id, now) if kind is ItemKind.COUPON else None
        order = Order(
            id=order_id, customer_id=customer_id, item_id=item.id, quantity=request.quantity,
            points=points, status=initial_status(kind).value, idempotency_key=key,
            fingerprint=print_, coupon_code=code, ship_to=request.ship_to, tracking_no=None,
            note=None, created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(order)
        session.flush()
        return _order_out(order, item)

    return command(
        uow, clock, work, actor=f"customer:{customer_id}", action="rewards.redeem",
        subject=request.item_code, quantity=request.quantity,
    )  # fmt: skip


def _assign_code(session: Session, item: Item, order_id: str, now: datetime) -> str:
    free = session.scalar(
        select(CouponCode)
        .where(CouponCode.item_id == item.id, CouponCode.order_id.is_(None))
        .order_by(CouponCode.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if free is None:  # stock and codes disagree: refuse rather than sell a code we do not have
        raise OutOfStock("no coupon code left", item_code=item.code)
    free.order_id = order_id
    free.assigned_at = now
    return free.code


def list_orders(
    *, uow: UowFactory, customer_id: str | None = None, status: str | None = None, limit: int = 100
) -> list[OrderOut]:
    def work(session: Session) -> list[OrderOut]:
        query = select(Order, Item).join(Item, Item.id == Order.item_id)
        if customer_id is not None:
            query = query.where(Order.customer_id == customer_id)
        if status is not None:
            query = query.where(Order.status == status)
        rows = session.execute(query.order_by(Order.id.desc()).limit(limit)).all()
        return [_order_out(order, item) for order, item in rows]

    return read(uow, work)


def move_order(
    *,
    uow: UowFactory,
    clock: Clock,
    order_id: str,
    move: OrderMoveIn,
    by: str,
    customer_id: str | None = None,
) -> OrderOut:
    """Ship, fulfil or cancel an order (a customer may only cancel their own). Cancelling
    returns the points and puts the stock back."""

    def work(session: Session) -> OrderOut:
        order = session.scalar(select(Order).where(Order.id == order_id).with_for_update())
        if order is None or (customer_id is not None and order.customer_id != customer_id):
            raise RewardNotFound(f"no order {order_id}")
        item = session.get_one(Item, order.item_id)
        target = move.status
        if customer_id is not None and target is not OrderStatus.CANCELLED:
            raise RewardNotFound("customers may only cancel their orders")
        check_order_move(ItemKind(item.kind), OrderStatus(order.status), target)
        now = clock.now()
        if target is OrderStatus.CANCELLED:
            carbon_port.give_back(
                session, clock, customer_id=order.customer_id,
                retire_key=_retire_key(order.id), reason=f"order {order.id} cancelled",
            )  # fmt: skip
            session.execute(
                update(ITEMS)
                .where(ITEMS.c.id == item.id)
                .values(stock=ITEMS.c.stock + order.quantity, updated_at=now)
            )
        order.status = target.value
        order.tracking_no = move.tracking_no or order.tracking_no
        order.note = move.note or order.note
        order.updated_at = now
        session.flush()
        return _order_out(order, item)

    return command(
        uow, clock, work, actor=by, action=f"rewards.order.{move.status.value}", subject=order_id
    )
