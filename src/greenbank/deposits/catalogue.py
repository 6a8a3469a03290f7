"""The deposit catalogue: products, their lifecycle (draft -> published <-> paused -> retired) and
the posted rates.

Staff actions (create, post a rate, publish, pause, retire) each own one unit of work and leave an
audit line, also when refused. The session-level helpers (``product_by_code``, ``lock_product``,
``product_rates``, ``demand_rates``, ``opening_holding``, ``reserve_quota``) run inside the
caller's transaction, so the purchase service can lock a product, check it and use its quota in
the same commit as the balance debit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from greenbank.audit.service import record
from greenbank.clock import Clock, business_date
from greenbank.db import UowFactory
from greenbank.deposits.domain import (
    FEN_PER_YUAN,
    BelowMinimum,
    DayCount,
    DuplicateRatePosting,
    InvalidProduct,
    ProductKind,
    RateHistory,
    RateNotPosted,
    Term,
    check_rate,
)
from greenbank.deposits.interest import Holding
from greenbank.deposits.models import (
    DEMAND_SERIES,
    Product,
    ProductStatus,
    RateKind,
    RatePosting,
)
from greenbank.errors import Conflict, GreenbankError, NotFound, ValidationFailed

T = TypeVar("T")

# 存款保险条例 (国务院令第660号) Art. 5: the statement every product page shows.
DEPOSIT_INSURANCE_STATEMENT = (
    "存款保险提示：本行已参加存款保险。依照《存款保险条例》，同一存款人在同一家投保机构所有"
    "被保险存款账户的存款本金和利息合并计算的资金数额在最高偿付限额（人民币50万元）以内的，"
    "实行全额偿付；超出最高偿付限额的部分，依法从投保机构清算财产中受偿。"
)

_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{1,39}")

TRANSITIONS: dict[ProductStatus, frozenset[ProductStatus]] = {
    ProductStatus.DRAFT: frozenset({ProductStatus.PUBLISHED, ProductStatus.RETIRED}),
    ProductStatus.PUBLISHED: frozenset({ProductStatus.PAUSED, ProductStatus.RETIRED}),
    ProductStatus.PAUSED: frozenset({ProductStatus.PUBLISHED, ProductStatus.RETIRED}),
    ProductStatus.RETIRED: frozenset(),
}


class ProductNotFound(NotFound):
    code = "product_not_found"
    title = "No such deposit product"


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


class RateBackdated(ValidationFailed):
    code = "rate_backdated"
    title = "A rate takes effect today or later; past days keep the rates posted for them"


class ProductNotOnSale(Conflict):
    code = "product_not_on_sale"
    title = "The product is not on sale now"


class QuotaExhausted(Conflict):
    code = "quota_exhausted"
    title = "The product's remaining quota is smaller than the amount"


class CustomerLimitExceeded(Conflict):
    code = "customer_limit_exceeded"
    title = "The amount would take the customer over the product's per-customer limit"


@dataclass(frozen=True, kw_only=True)
class ProductSpec:
    """What staff set when creating a product; amounts are fen, ``None`` limits mean no limit."""

    code: str
    name: str
    kind: ProductKind
    term: Term
    minimum_fen: int
    sale_start: datetime
    step_fen: int = FEN_PER_YUAN
    maximum_fen: int | None = None
    total_quota_fen: int | None = None
    per_customer_limit_fen: int | None = None
    sale_end: datetime | None = None
    partial_withdrawal_allowed: bool = True
    below_minimum: BelowMinimum = BelowMinimum.REFUSE
    rollover_allowed: bool = True
    return_to_balance_allowed: bool = True
    day_count: DayCount = DayCount.YEARS_MONTHS_DAYS
    green: bool = False
    disclosure: str = ""


@dataclass(frozen=True, slots=True)
class Listing:
    """A product as customers see it: its rate in force today (None before the first one)."""

    product: Product
    rate: Decimal | None
    on_sale: bool


@dataclass(frozen=True, slots=True)
class Reservation:
    """Quota taken for a purchase; ``holding`` is the contract (rate posted on the value date)."""

    product: Product
    holding: Holding


def with_insurance_statement(text: str) -> str:
    """Disclosure text that always ends with the deposit-insurance statement."""
    text = text.strip()
    if DEPOSIT_INSURANCE_STATEMENT in text:
        return text
    return f"{text}\n\n{DEPOSIT_INSURANCE_STATEMENT}" if text else DEPOSIT_INSURANCE_STATEMENT


def _check_spec(spec: ProductSpec) -> None:
    if not _CODE.fullmatch(spec.code):
        raise InvalidProduct("code is 2-40 of A-Z, 0-9 and '-', starting with a letter or digit")
    if not spec.name.strip():
        raise InvalidProduct("name is required")
    for limit in (spec.total_quota_fen, spec.per_customer_limit_fen):
        if limit is not None and limit < spec.minimum_fen:
            raise InvalidProduct("quota and per-customer limit are at least the minimum amount")
    if spec.sale_start.tzinfo is None or (spec.sale_end and spec.sale_end.tzinfo is None):
        raise InvalidProduct("sale window times must be timezone-aware")
    if spec.sale_end is not None and spec.sale_end <= spec.sale_start:
        raise InvalidProduct("the sale window ends before it starts")
    if not (spec.rollover_allowed or spec.return_to_balance_allowed):
        raise InvalidProduct("allow at least one maturity option")


def _staff_action(
    uow: UowFactory,
    clock: Clock,
    work: Callable[[Session], T],
    *,
    actor: str,
    action: str,
    subject: str,
    **detail: Any,
) -> T:
    """Run ``work`` in its own unit of work with an audit line; a refusal is audited on its own."""
    try:
        with uow() as unit:
            result = work(unit.session)
            record(unit.session, clock, actor=actor, action=action, subject=subject, **detail)
            unit.commit()
            return result
    except GreenbankError as err:
        with uow() as unit:
            record(
                unit.session,
                clock,
                actor=actor,
                action=action,
                outcome="refused",
                subject=subject,
                code=err.code,
                **detail,
            )
            unit.commit()
        raise


# --- session-level helpers (the caller owns the transaction) -------------------------------


def product_by_code(session: Session, code: str) -> Product:
    product = session.scalar(select(Product).where(Product.code == code))
    if product is None:
        raise ProductNotFound(f"no product {code!r}", product_code=code)
    return product


def visible_product(session: Session, code: str) -> Product:
    """A product customers may see: drafts are not public, so they are 'not found'."""
    product = product_by_code(session, code)
    if product.status is ProductStatus.DRAFT:
        raise ProductNotFound(f"no product {code!r}", product_code=code)
    return product


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


def _postings(session: Session, series: Iterable[str]) -> list[RatePosting]:
    query = select(RatePosting).where(RatePosting.series.in_(list(series)))
    return list(session.scalars(query.order_by(RatePosting.effective_from)))


def _history(postings: Iterable[RatePosting]) -> RateHistory:
    return RateHistory((p.effective_from, p.rate) for p in postings)


def product_rates(session: Session, product_id: str) -> RateHistory:
    """The product's posted rates: ``product_rates(s, pid)(day)`` is the rate in force on day."""
    return _history(_postings(session, [product_id]))


def demand_rates(session: Session) -> RateHistory:
    """The bank's demand rate by day (early withdrawals, days after maturity)."""
    return _history(_postings(session, [DEMAND_SERIES]))


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


def reserve_quota(
    session: Session,
    product_id: str,
    amount_fen: int,
    customer_total_fen: int,
    *,
    now: datetime,
) -> Reservation:
    """Lock the product, check the purchase and take ``amount_fen`` of its quota.

    ``customer_total_fen`` is what the customer already holds in this product; compute it while
    holding a lock that serialises the customer's purchases (the account row the debit locks).
    """
    product = lock_product(session, product_id)
    check_purchase(product, amount_fen=amount_fen, customer_total_fen=customer_total_fen, now=now)
    holding = opening_holding(session, product, amount_fen, business_date(now))
    product.quota_used_fen += amount_fen
    product.updated_at = now
    session.flush()
    return Reservation(product, holding)


# --- staff actions (each owns its unit of work) --------------------------------------------


def create_product(*, uow: UowFactory, clock: Clock, actor: str, spec: ProductSpec) -> Product:
    """A new product in draft, its disclosure ending with the deposit-insurance statement."""

    def work(session: Session) -> Product:
        _check_spec(spec)
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

    return _staff_action(
        uow, clock, work, actor=actor, action="deposits.product.create", subject=spec.code
    )


def _post(
    session: Session,
    clock: Clock,
    *,
    actor: str,
    product: Product | None,
    rate: Decimal,
    effective_from: date | None,
) -> RatePosting:
    check_rate(rate)
    today = business_date(clock.now())
    day = effective_from or today
    if day < today:
        raise RateBackdated(effective_from=day.isoformat(), today=today.isoformat())
    series = product.id if product else DEMAND_SERIES
    existing = session.scalar(
        select(RatePosting).where(RatePosting.series == series, RatePosting.effective_from == day)
    )
    if existing is not None:
        if existing.rate != rate:
            raise DuplicateRatePosting(effective_from=day.isoformat(), posted=str(existing.rate))
        return existing
    posting = RatePosting(
        series=series,
        kind=RateKind.PRODUCT if product else RateKind.DEMAND,
        product_id=product.id if product else None,
        rate=rate,
        effective_from=day,
        posted_at=clock.now(),
        posted_by=actor,
    )
    session.add(posting)
    try:
        session.flush()
    except IntegrityError as err:
        raise DuplicateRatePosting(effective_from=day.isoformat()) from err
    return posting


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

    def work(session: Session) -> RatePosting:
        product = product_by_code(session, code)
        if product.status is ProductStatus.RETIRED:
            raise ProductRetired(product_code=code)
        return _post(
            session, clock, actor=actor, product=product, rate=rate, effective_from=effective_from
        )

    return _staff_action(
        uow,
        clock,
        work,
        actor=actor,
        action="deposits.rate.post",
        subject=code,
        rate=str(rate),
        effective_from=effective_from.isoformat() if effective_from else None,
    )


def post_demand_rate(
    *, uow: UowFactory, clock: Clock, actor: str, rate: Decimal, effective_from: date | None = None
) -> RatePosting:
    """Post the bank-wide demand rate from ``effective_from`` (default today)."""

    def work(session: Session) -> RatePosting:
        return _post(
            session, clock, actor=actor, product=None, rate=rate, effective_from=effective_from
        )

    return _staff_action(
        uow,
        clock,
        work,
        actor=actor,
        action="deposits.rate.post",
        subject=DEMAND_SERIES,
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

    return _staff_action(
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


def _listings(session: Session, products: list[Product], now: datetime) -> list[Listing]:
    postings = _postings(session, [p.id for p in products])
    today = business_date(now)
    listings = []
    for product in products:
        try:
            rate: Decimal | None = _history(p for p in postings if p.series == product.id)(today)
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
    with uow() as unit:
        products = sorted(unit.session.scalars(select(Product)), key=_catalogue_order)
        if on_sale_only:
            products = [p for p in products if p.on_sale(now)]
        return _listings(unit.session, products, now)


def public_product(*, uow: UowFactory, clock: Clock, code: str) -> Listing:
    """One product as customers see it (paused and retired ones too, flagged not on sale)."""
    with uow() as unit:
        product = visible_product(unit.session, code)
        return _listings(unit.session, [product], clock.now())[0]


def demand_rate_postings(*, uow: UowFactory) -> list[RatePosting]:
    """The demand-rate history, oldest first."""
    with uow() as unit:
        return _postings(unit.session, [DEMAND_SERIES])
