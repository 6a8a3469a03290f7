"""The deposit catalogue: products, their lifecycle (draft -> published <-> paused -> retired),
and the audited posting of rates; the quota a purchase takes is in ``quota``.

Staff actions (create, post a rate, publish, pause, retire) each own one unit of work and leave an
audit line, also when refused. The session-level look-ups (``product_by_code``,
``visible_product``; rate look-ups are in ``rates``) run inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from greenbank.audit.service import audited_command
from greenbank.clock import Clock, business_date
from greenbank.db import UowFactory
from greenbank.deposits.domain import ProductKind, RateNotPosted
from greenbank.deposits.models import (
    DEMAND_SERIES,
    Product,
    ProductSpec,
    ProductStatus,
    RatePosting,
    with_insurance_statement,
)
from greenbank.deposits.quota import ProductNotFound
from greenbank.deposits.quota import Reservation as Reservation
from greenbank.deposits.quota import reserve_quota as reserve_quota
from greenbank.deposits.rates import (
    demand_postings,
    demand_rates,
    post_rate,
    product_rate_histories,
    product_rates,
)
from greenbank.errors import Conflict

T = TypeVar("T")

TRANSITIONS: dict[ProductStatus, frozenset[ProductStatus]] = {
    ProductStatus.DRAFT: frozenset({ProductStatus.PUBLISHED, ProductStatus.RETIRED}),
    ProductStatus.PUBLISHED: frozenset({ProductStatus.PAUSED, ProductStatus.RETIRED}),
    ProductStatus.PAUSED: frozenset({ProductStatus.PUBLISHED, ProductStatus.RETIRED}),
    ProductStatus.RETIRED: frozenset(),
}


class ProductCodeTaken(Conflict):
    code = "product_code_taken"
    title = "Another product already has this code"


class IllegalStatusChange(Conflict):
    code = "illegal_status_change"
    title = "The product cannot move to this status from its current one"


class ProductRetired(Conflict):
    code = "product_retired"
    title = "The product is retired"


class ProductNotPriced(Conflict):
    code = "product_not_priced"
    title = "Post the product rate and the demand rate before publishing"


@dataclass(frozen=True, slots=True)
class Listing:
    """A product as customers see it: its rate in force today (None before the first one)."""

    product: Product
    rate: Decimal | None
    on_sale: bool


# --- session-level helpers (the caller owns the transaction) -------------------------------


_BY_CODE = select(Product).where(Product.code == bindparam("code"))  # built once: every purchase


def product_by_code(session: Session, code: str) -> Product:
    product = session.scalar(_BY_CODE, {"code": code})
    if product is None:
        raise ProductNotFound(f"no product {code!r}", product_code=code)
    return product


def visible_product(session: Session, code: str) -> Product:
    """A product customers may see: drafts are not public, so they are 'not found'."""
    product = product_by_code(session, code)
    if product.status is ProductStatus.DRAFT:
        raise ProductNotFound(f"no product {code!r}", product_code=code)
    return product


# --- staff actions (each owns its unit of work) --------------------------------------------


def create_product(*, uow: UowFactory, clock: Clock, actor: str, spec: ProductSpec) -> Product:
    """A new product in draft, its disclosure ending with the deposit-insurance statement."""

    def work(session: Session) -> Product:
        spec.check()
        if session.scalar(select(Product.id).where(Product.code == spec.code)):
            raise ProductCodeTaken(product_code=spec.code)
        now = clock.now()
        values = {f.name: getattr(spec, f.name) for f in fields(spec)}
        values["disclosure"] = with_insurance_statement(spec.disclosure)
        product = Product(
            **values, quota_used_fen=0, status=ProductStatus.DRAFT, created_at=now, updated_at=now
        )
        product.settings  # noqa: B018 - the pure product refuses inconsistent settings
        session.add(product)
        try:
            session.flush()
        except IntegrityError as err:
            raise ProductCodeTaken(product_code=spec.code) from err
        return product

    return audited_command(
        uow, clock, work, actor=actor, action="deposits.product.create", subject=spec.code
    )


def post_product_rate(
    *,
    uow: UowFactory,
    clock: Clock,
    actor: str,
    code: str,
    rate: Decimal,
    effective_from: date | None = None,
) -> RatePosting:
    """Post the product's rate from ``effective_from`` (default today; never a past day).

    Holdings keep the rate of their value date, so a new posting changes only later purchases.
    Posting the same rate for the same day again is a no-op.
    """
    return _post_audited(uow, clock, actor, code, rate, effective_from)


def post_demand_rate(
    *, uow: UowFactory, clock: Clock, actor: str, rate: Decimal, effective_from: date | None = None
) -> RatePosting:
    """Post the bank-wide demand rate from ``effective_from`` (default today; never a past day)."""
    return _post_audited(uow, clock, actor, None, rate, effective_from)


def _post_audited(
    uow: UowFactory,
    clock: Clock,
    actor: str,
    code: str | None,
    rate: Decimal,
    effective_from: date | None,
) -> RatePosting:
    def work(session: Session) -> RatePosting:
        product_id = None
        if code is not None:
            product = product_by_code(session, code)
            if product.status is ProductStatus.RETIRED:
                raise ProductRetired(product_code=code)
            product_id = product.id
        return post_rate(
            session,
            clock,
            actor=actor,
            product_id=product_id,
            rate=rate,
            effective_from=effective_from,
        )

    return audited_command(
        uow,
        clock,
        work,
        actor=actor,
        action="deposits.rate.post",
        subject=code or DEMAND_SERIES,
        rate=str(rate),
        effective_from=effective_from.isoformat() if effective_from else None,
    )


def _require_priced(session: Session, product: Product, today: date) -> None:
    first_sale_day = max(today, business_date(product.sale_start))
    try:
        product_rates(session, product.id)(first_sale_day)
        demand_rates(session)(today)
    except RateNotPosted as err:
        raise ProductNotPriced(err.detail, product_code=product.code) from err


def _change_status(
    *, uow: UowFactory, clock: Clock, actor: str, code: str, to: ProductStatus
) -> Product:
    def work(session: Session) -> Product:
        product = product_by_code(session, code)
        if to not in TRANSITIONS[product.status]:
            raise IllegalStatusChange(
                f"{product.status.value} -> {to.value} is not allowed",
                product_code=code,
                status=product.status.value,
                to=to.value,
            )
        if to is ProductStatus.PUBLISHED:
            _require_priced(session, product, business_date(clock.now()))
        product.status = to
        product.updated_at = clock.now()
        return product

    return audited_command(
        uow, clock, work, actor=actor, action=f"deposits.product.{to.value}", subject=code
    )


def publish_product(*, uow: UowFactory, clock: Clock, actor: str, code: str) -> Product:
    """Draft or paused -> published; needs the product rate and the demand rate posted."""
    return _change_status(uow=uow, clock=clock, actor=actor, code=code, to=ProductStatus.PUBLISHED)


def pause_product(*, uow: UowFactory, clock: Clock, actor: str, code: str) -> Product:
    """Published -> paused: no new purchases; holdings are untouched."""
    return _change_status(uow=uow, clock=clock, actor=actor, code=code, to=ProductStatus.PAUSED)


def retire_product(*, uow: UowFactory, clock: Clock, actor: str, code: str) -> Product:
    """Any status but retired -> retired, for good; holdings run to maturity."""
    return _change_status(uow=uow, clock=clock, actor=actor, code=code, to=ProductStatus.RETIRED)


# --- reads ---------------------------------------------------------------------------------


def read(uow: UowFactory, query: Callable[[Session], T]) -> T:
    """Run a read in its own unit of work. The rows it returns are detached first: the closing
    rollback would otherwise expire them before the caller reads their attributes."""
    with uow() as unit:
        result = query(unit.session)
        unit.session.expunge_all()
        return result


def _listings(session: Session, products: list[Product], now: datetime) -> list[Listing]:
    histories = product_rate_histories(session, [p.id for p in products])
    today = business_date(now)
    listings = []
    for product in products:
        try:
            rate: Decimal | None = histories[product.id](today)
        except RateNotPosted:
            rate = None
        listings.append(Listing(product, rate, product.on_sale(now)))
    return listings


def _catalogue_order(product: Product) -> tuple[bool, int, str]:
    """Time deposits before large CDs, then by term."""
    return (product.kind is not ProductKind.TIME_DEPOSIT, product.term.months, product.code)


def list_products(*, uow: UowFactory, clock: Clock, on_sale_only: bool = False) -> list[Listing]:
    """Every product (staff view), or only those customers can buy now, in catalogue order."""
    now = clock.now()

    def query(session: Session) -> list[Listing]:
        products = sorted(session.scalars(select(Product)), key=_catalogue_order)
        if on_sale_only:
            products = [p for p in products if p.on_sale(now)]
        return _listings(session, products, now)

    return read(uow, query)


def public_product(*, uow: UowFactory, clock: Clock, code: str) -> Listing:
    """One product as customers see it (paused and retired ones too, flagged not on sale)."""
    return read(uow, lambda s: _listings(s, [visible_product(s, code)], clock.now())[0])


def demand_rate_postings(*, uow: UowFactory) -> list[RatePosting]:
    """The demand-rate history, oldest first."""
    return read(uow, demand_postings)
