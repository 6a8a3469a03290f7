"""The quota a purchase takes: the session-level helpers the purchase service runs inside its
own transaction, so it can check a product and use its quota in the same commit as the balance
debit (``lock_product``, ``opening_holding``, ``check_purchase``, ``take_quota``,
``reserve_quota``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from greenbank.clock import business_date
from greenbank.deposits.interest import Holding
from greenbank.deposits.models import Product, ProductStatus
from greenbank.deposits.rates import product_rates
from greenbank.errors import Conflict, NotFound


class ProductNotFound(NotFound):
    code = "product_not_found"
    title = "No such deposit product"


class ProductNotOnSale(Conflict):
    code = "product_not_on_sale"
    title = "The product is not on sale now"


class QuotaExhausted(Conflict):
    code = "quota_exhausted"
    title = "The product's remaining quota is smaller than the amount"


class CustomerLimitExceeded(Conflict):
    code = "customer_limit_exceeded"
    title = "The amount would take the customer over the product's per-customer limit"


@dataclass(frozen=True, slots=True)
class Reservation:
    """Quota taken for a purchase; ``holding`` is the contract (rate posted on the value date)."""

    product: Product
    holding: Holding


def lock_product(session: Session, product_id: str) -> Product:
    """The product row, locked FOR UPDATE on PostgreSQL (SQLite's BEGIN IMMEDIATE serialises)."""
    product = session.scalar(
        select(Product)
        .where(Product.id == product_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if product is None:
        raise ProductNotFound(f"no product {product_id!r}", product_id=product_id)
    return product


def opening_holding(
    session: Session, product: Product, amount_fen: int, value_date: date
) -> Holding:
    """The contract a purchase on ``value_date`` would get: the amount checked, the rate posted
    for that day fixed for the whole term (储蓄管理条例 Art. 26)."""
    product.settings.validate_amount(amount_fen)
    rate = product_rates(session, product.id)(value_date)
    return Holding(amount_fen, rate, value_date, product.term, product.day_count)


def check_purchase(
    product: Product, *, amount_fen: int, customer_total_fen: int, now: datetime
) -> None:
    """On sale, a valid amount, within the remaining quota and the customer's limit."""
    if not product.on_sale(now):
        raise ProductNotOnSale(product_code=product.code, status=product.status.value)
    product.settings.validate_amount(amount_fen)
    remaining = product.quota_remaining_fen
    if remaining is not None and amount_fen > remaining:
        raise QuotaExhausted(amount_fen=amount_fen, quota_remaining_fen=remaining)
    limit = product.per_customer_limit_fen
    if limit is not None and customer_total_fen + amount_fen > limit:
        raise CustomerLimitExceeded(
            amount_fen=amount_fen, customer_total_fen=customer_total_fen, limit_fen=limit
        )


def take_quota(
    session: Session, product_id: str, amount_fen: int, customer_total_fen: int, *, now: datetime
) -> None:
    """Take ``amount_fen`` of the product's quota in one conditional UPDATE.

    The product row is every buyer's hot row: the UPDATE locks it until commit, so a purchase
    calls this last (before the receipt) with the sale already checked on an unlocked read. The
    WHERE re-checks what can change under a buyer (status, quota, the customer's limit); sale
    window and amount rules are fixed at creation. When no row is taken, the locked row is
    checked again to raise the reason (``product_not_on_sale``, ``quota_exhausted``, ...).
    A ``Product`` already loaded in the session is not refreshed.
    """
    limit, quota = Product.per_customer_limit_fen, Product.total_quota_fen
    taken = session.execute(
        update(Product)
        .where(
            Product.id == product_id,
            Product.status == ProductStatus.PUBLISHED,
            or_(quota.is_(None), Product.quota_used_fen + amount_fen <= quota),
            or_(limit.is_(None), limit >= customer_total_fen + amount_fen),
        )
        .values(quota_used_fen=Product.quota_used_fen + amount_fen, updated_at=now)
        .returning(Product.id)
        .execution_options(synchronize_session=False)
    ).first()
    if taken is None:
        product = lock_product(session, product_id)
        check_purchase(
            product, amount_fen=amount_fen, customer_total_fen=customer_total_fen, now=now
        )
        raise AssertionError("the quota UPDATE matched no row of a purchasable product")


def reserve_quota(
    session: Session,
    product_id: str,
    amount_fen: int,
    customer_total_fen: int,
    *,
    now: datetime,
) -> Reservation:
    """Check the purchase, fix its contract and take ``amount_fen`` of the product's quota.

    ``customer_total_fen`` is what the customer already holds in this product; compute it while
    holding a lock that serialises the customer's purchases (the account row the debit locks).
    """
    product = session.get(Product, product_id)
    if product is None:
        raise ProductNotFound(f"no product {product_id!r}", product_id=product_id)
    check_purchase(product, amount_fen=amount_fen, customer_total_fen=customer_total_fen, now=now)
    holding = opening_holding(session, product, amount_fen, business_date(now))
    take_quota(session, product_id, amount_fen, customer_total_fen, now=now)
    session.expire(product, ["quota_used_fen", "updated_at"])
    return Reservation(product, holding)
