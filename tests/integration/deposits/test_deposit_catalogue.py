"""The catalogue on every database: lifecycle, posted rates, quota reservation, demo seed."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from deposits_support import STAFF, MakeProduct
from sqlalchemy import func, select, text

from greenbank.audit.models import AuditLine
from greenbank.bootstrap import Container
from greenbank.clock import FixedClock
from greenbank.deposits import catalogue, seed
from greenbank.deposits.catalogue import reserve_quota
from greenbank.deposits.domain import ProductKind, Term, percent
from greenbank.deposits.models import (
    DEPOSIT_INSURANCE_STATEMENT,
    Product,
    ProductSpec,
    ProductStatus,
    RatePosting,
)
from greenbank.deposits.rates import demand_rates, product_rates
from greenbank.errors import GreenbankError

TODAY = date(2026, 3, 2)
YUAN = 100


def _status(container: Container, code: str, to: str) -> Product:
    change = {
        "published": catalogue.publish_product,
        "paused": catalogue.pause_product,
        "retired": catalogue.retire_product,
    }[to]
    return change(uow=container.uow, clock=container.clock, actor=STAFF, code=code)


def _audit(container: Container) -> list[tuple[str, str, str | None]]:
    with container.uow() as unit:
        lines = unit.session.scalars(select(AuditLine).order_by(AuditLine.at, AuditLine.id))
        return [(line.action, line.outcome, line.subject) for line in lines]


# --- lifecycle -----------------------------------------------------------------------------


def test_draft_publish_pause_publish_retire(
    container: Container, clock: FixedClock, make_product: MakeProduct
) -> None:
    product = make_product(publish=False)
    assert product.status is ProductStatus.DRAFT
    assert product.disclosure.endswith(DEPOSIT_INSURANCE_STATEMENT)
    assert "50万元" in product.disclosure
    for to in ("published", "paused", "published", "retired"):
        clock.advance(timedelta(seconds=1))  # audit lines are ordered by time
        assert _status(container, "TD-1Y", to).status.value == to
    actions = [a for a in _audit(container) if a[0].startswith("deposits.product")]
    assert actions == [
        ("deposits.product.create", "ok", "TD-1Y"),
        ("deposits.product.published", "ok", "TD-1Y"),
        ("deposits.product.paused", "ok", "TD-1Y"),
        ("deposits.product.published", "ok", "TD-1Y"),
        ("deposits.product.retired", "ok", "TD-1Y"),
    ]


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], "paused"),  # draft -> paused
        (["published"], "published"),
        (["published", "paused"], "paused"),
        (["retired"], "published"),
        (["published", "retired"], "paused"),
        (["published", "retired"], "retired"),
    ],
)
def test_illegal_transitions_are_refused_and_audited(
    container: Container, make_product: MakeProduct, path: list[str], illegal: str
) -> None:
    make_product(publish=False)
    for to in path:
        _status(container, "TD-1Y", to)
    before = (path or ["draft"])[-1]
    with pytest.raises(GreenbankError) as caught:
        _status(container, "TD-1Y", illegal)
    assert caught.value.code == "illegal_status_change"
    listing = catalogue.list_products(uow=container.uow, clock=container.clock)[0]
    assert listing.product.status.value == before
    assert _audit(container)[-1] == (f"deposits.product.{illegal}", "refused", "TD-1Y")


def test_publishing_needs_the_product_rate_and_the_demand_rate(
    container: Container, make_product: MakeProduct
) -> None:
    make_product(rate=None, publish=False)
    with pytest.raises(GreenbankError) as caught:
        _status(container, "TD-1Y", "published")
    assert caught.value.code == "product_not_priced"


def test_publishing_without_a_demand_rate_is_refused(container: Container) -> None:
    catalogue.create_product(
        uow=container.uow,
        clock=container.clock,
        actor=STAFF,
        spec=ProductSpec(
            code="TD-3M",
            name="3个月",
            kind=ProductKind.TIME_DEPOSIT,
            term=Term.M3,
            minimum_fen=5_000,
            sale_start=container.clock.now(),
        ),
    )
    catalogue.post_product_rate(
        uow=container.uow, clock=container.clock, actor=STAFF, code="TD-3M", rate=percent("1.15")
    )
    with pytest.raises(GreenbankError) as caught:
        _status(container, "TD-3M", "published")
    assert caught.value.code == "product_not_priced"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"term": Term.M9}, "invalid_product"),  # 9 months is a CD term only
        ({"kind": ProductKind.LARGE_CD, "minimum_fen": 100_000 * YUAN}, "invalid_product"),
        ({"code": "bad code"}, "invalid_product"),
        ({"total_quota_fen": 100}, "invalid_product"),
        ({"rollover_allowed": False, "return_to_balance_allowed": False}, "invalid_product"),
        ({"maximum_fen": 1_000}, "invalid_product"),
    ],
)
def test_inconsistent_products_are_refused(
    container: Container, make_product: MakeProduct, overrides: dict[str, object], code: str
) -> None:
    with pytest.raises(GreenbankError) as caught:
        make_product(publish=False, **overrides)
    assert caught.value.code == code
    assert catalogue.list_products(uow=container.uow, clock=container.clock) == []


def test_codes_are_unique(make_product: MakeProduct) -> None:
    make_product()
    with pytest.raises(GreenbankError) as caught:
        make_product()
    assert caught.value.code == "product_code_taken"


# --- rates ---------------------------------------------------------------------------------


def test_rate_history_answers_for_past_days(
    container: Container, clock: FixedClock, make_product: MakeProduct
) -> None:
    product = make_product(rate="1.50")
    post = catalogue.post_product_rate
    post(uow=container.uow, clock=clock, actor=STAFF, code="TD-1Y", rate=percent("1.80"),
         effective_from=TODAY + timedelta(days=10))  # fmt: skip
    clock.advance(timedelta(days=40))
    post(uow=container.uow, clock=clock, actor=STAFF, code="TD-1Y", rate=percent("1.25"))
    with container.uow() as unit:
        rates = product_rates(unit.session, product.id)
        demand = demand_rates(unit.session)
    assert rates(TODAY) == Decimal("0.0150")
    assert rates(TODAY + timedelta(days=9)) == Decimal("0.0150")
    assert rates(TODAY + timedelta(days=10)) == Decimal("0.0180")
    assert rates(TODAY + timedelta(days=39)) == Decimal("0.0180")
    assert rates(TODAY + timedelta(days=40)) == Decimal("0.0125")
    assert demand(TODAY + timedelta(days=40)) == Decimal("0.0030")
    with pytest.raises(GreenbankError) as caught:
        rates(TODAY - timedelta(days=1))
    assert caught.value.code == "rate_not_posted"


def test_rates_are_stored_as_exact_strings(container: Container, make_product: MakeProduct) -> None:
    make_product(rate="1.125")
    with container.uow() as unit:
        stored = unit.session.execute(
            text("SELECT rate FROM deposit_rates WHERE kind = 'product'")
        ).scalar_one()
    assert stored == "0.01125"


def test_backdated_and_conflicting_postings_are_refused(
    container: Container, make_product: MakeProduct
) -> None:
    make_product(rate="1.50")
    post = catalogue.post_product_rate
    with pytest.raises(GreenbankError) as caught:
        post(uow=container.uow, clock=container.clock, actor=STAFF, code="TD-1Y",
             rate=percent("1.40"), effective_from=TODAY - timedelta(days=1))  # fmt: skip
    assert caught.value.code == "rate_backdated"
    again = post(uow=container.uow, clock=container.clock, actor=STAFF, code="TD-1Y",
                 rate=percent("1.50"))  # fmt: skip
    assert again.rate == Decimal("0.0150")
    with pytest.raises(GreenbankError) as caught:
        post(uow=container.uow, clock=container.clock, actor=STAFF, code="TD-1Y",
             rate=percent("1.60"))  # fmt: skip
    assert caught.value.code == "duplicate_rate_posting"
    with container.uow() as unit:
        count = unit.session.scalar(select(func.count()).select_from(RatePosting))
    assert count == 2  # the demand rate and the one product rate
    refused = [a for a in _audit(container) if a[1] == "refused"]
    assert refused == [("deposits.rate.post", "refused", "TD-1Y")] * 2


def test_a_retired_product_takes_no_new_rate(
    container: Container, make_product: MakeProduct
) -> None:
    make_product()
    _status(container, "TD-1Y", "retired")
    with pytest.raises(GreenbankError) as caught:
        catalogue.post_product_rate(
            uow=container.uow,
            clock=container.clock,
            actor=STAFF,
            code="TD-1Y",
            rate=Decimal("0.02"),
        )
    assert caught.value.code == "product_retired"


# --- reserve_quota -------------------------------------------------------------------------


def _reserve(container: Container, product: Product, amount_fen: int, held_fen: int = 0) -> None:
    with container.uow() as unit:
        reserve_quota(unit.session, product.id, amount_fen, held_fen, now=container.clock.now())
        unit.commit()


def _used(container: Container, product: Product) -> int:
    with container.uow() as unit:
        return unit.session.get_one(Product, product.id).quota_used_fen


def test_reserve_quota_returns_the_contract_and_uses_quota(
    container: Container, make_product: MakeProduct
) -> None:
    product = make_product(total_quota_fen=1_000_000 * YUAN)
    with container.uow() as unit:
        reservation = reserve_quota(
            unit.session, product.id, 10_000 * YUAN, 0, now=container.clock.now()
        )
        unit.commit()
    holding = reservation.holding
    assert (holding.principal_fen, holding.annual_rate) == (1_000_000, Decimal("0.0150"))
    assert (holding.value_date, holding.maturity) == (TODAY, date(2027, 3, 2))
    assert _used(container, product) == 1_000_000


def test_reserve_quota_stops_at_the_quota(container: Container, make_product: MakeProduct) -> None:
    product = make_product(total_quota_fen=300_000 * YUAN)
    _reserve(container, product, 200_000 * YUAN)
    with pytest.raises(GreenbankError) as caught:
        _reserve(container, product, 100_001 * YUAN)
    assert caught.value.code == "quota_exhausted"
    _reserve(container, product, 100_000 * YUAN)
    assert _used(container, product) == 300_000 * YUAN
    with pytest.raises(GreenbankError) as caught:
        _reserve(container, product, 50 * YUAN)
    assert caught.value.code == "quota_exhausted"


def test_reserve_quota_checks_the_customer_limit(
    container: Container, make_product: MakeProduct
) -> None:
    product = make_product(per_customer_limit_fen=500_000 * YUAN)
    _reserve(container, product, 100 * YUAN, held_fen=499_900 * YUAN)  # exactly the limit
    with pytest.raises(GreenbankError) as caught:
        _reserve(container, product, 100 * YUAN, held_fen=499_900 * YUAN + 1)
    assert caught.value.code == "customer_limit_exceeded"
    assert _used(container, product) == 100 * YUAN


@pytest.mark.parametrize("status", ["paused", "retired"])
def test_reserve_quota_needs_a_published_product(
    container: Container, make_product: MakeProduct, status: str
) -> None:
    product = make_product()
    _status(container, "TD-1Y", status)
    with pytest.raises(GreenbankError) as caught:
        _reserve(container, product, 100 * YUAN)
    assert caught.value.code == "product_not_on_sale"


def test_reserve_quota_needs_the_sale_window(
    container: Container, clock: FixedClock, make_product: MakeProduct
) -> None:
    now = clock.now()
    product = make_product(sale_start=now + timedelta(hours=1), sale_end=now + timedelta(days=7))
    with pytest.raises(GreenbankError) as caught:
        _reserve(container, product, 100 * YUAN)
    assert caught.value.code == "product_not_on_sale"
    clock.advance(timedelta(hours=1))
    _reserve(container, product, 100 * YUAN)
    clock.advance(timedelta(days=7))
    with pytest.raises(GreenbankError) as caught:
        _reserve(container, product, 100 * YUAN)
    assert caught.value.code == "product_not_on_sale"
    assert _used(container, product) == 100 * YUAN


def test_reserve_quota_checks_the_amount(container: Container, make_product: MakeProduct) -> None:
    product = make_product()
    with pytest.raises(GreenbankError) as caught:
        _reserve(container, product, 5_050)  # 50.50 CNY: not minimum + whole yuan
    assert caught.value.code == "amount_not_multiple_of_step"
    assert _used(container, product) == 0


# --- demo seed -----------------------------------------------------------------------------


def _counts(container: Container) -> tuple[int, int, int]:
    with container.uow() as unit:
        count = unit.session.scalar
        return (
            count(select(func.count()).select_from(Product)) or 0,
            count(select(func.count()).select_from(RatePosting)) or 0,
            count(select(func.count()).select_from(AuditLine)) or 0,
        )


def test_seed_is_idempotent(container: Container) -> None:
    first = seed.seed(container)
    assert len(first) == 1 + 6 * 3
    counts = _counts(container)
    assert counts[:2] == (6, 7)
    assert seed.seed(container) == ["deposit products already present"]
    assert _counts(container) == counts
    listings = catalogue.list_products(uow=container.uow, clock=container.clock, on_sale_only=True)
    assert [item.product.code for item in listings] == [
        "TD-3M", "TD-6M", "TD-1Y", "TD-2Y", "TD-3Y", "CD-3Y-2026-01"
    ]  # fmt: skip
    assert sum(item.product.green for item in listings) == 2
    assert all(Decimal("0.0115") <= (item.rate or 0) <= Decimal("0.0215") for item in listings)
