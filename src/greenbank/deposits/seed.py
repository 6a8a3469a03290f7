"""Demo catalogue: six products like Guangdong Nanyue Bank's online launch set, and a demand rate.

Rates are plausible 2026 figures for a regional bank, not any bank's actual board. Each step
(demand rate; per product: create, price, publish) runs only when missing, so the seed can run
again — also after an interrupted run — without changing anything.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from greenbank.bootstrap import Container
from greenbank.deposits import catalogue
from greenbank.deposits.domain import FEN_PER_YUAN, ProductKind, Term, percent
from greenbank.deposits.models import (
    DEMAND_SERIES,
    Product,
    ProductSpec,
    ProductStatus,
    RatePosting,
)

ACTOR = "demo-seed"
DEMAND_RATE = "0.10"
_YUAN = FEN_PER_YUAN
_TD_NOTE = "整存整取，50元起存，按1元递增。提前支取按支取日挂牌活期利率计息；可部分提前支取一次。"
_CD_NOTE = (
    "个人大额存单，20万元起存，以1万元递增，额度有限售完即止。提前支取按支取日挂牌活期利率计息。"
)


def _td(code: str, name: str, term: Term, *, green: bool, start: datetime) -> ProductSpec:
    return ProductSpec(
        code=code,
        name=name,
        kind=ProductKind.TIME_DEPOSIT,
        term=term,
        minimum_fen=50 * _YUAN,
        step_fen=_YUAN,
        sale_start=start,
        green=green,
        disclosure=_TD_NOTE,
    )


def launch_set(start: datetime) -> list[tuple[ProductSpec, str]]:
    """The six products with their rates in percent."""
    cd = ProductSpec(
        code="CD-3Y-2026-01",
        name="大额存单 3年（2026年第1期）",
        kind=ProductKind.LARGE_CD,
        term=Term.Y3,
        minimum_fen=200_000 * _YUAN,
        step_fen=10_000 * _YUAN,
        total_quota_fen=100_000_000 * _YUAN,
        per_customer_limit_fen=5_000_000 * _YUAN,
        sale_start=start,
        sale_end=start + timedelta(days=365),
        partial_withdrawal_allowed=False,
        rollover_allowed=False,
        disclosure=_CD_NOTE,
    )
    return [
        (_td("TD-3M", "整存整取 3个月", Term.M3, green=False, start=start), "1.15"),
        (_td("TD-6M", "整存整取 6个月", Term.M6, green=False, start=start), "1.35"),
        (_td("TD-1Y", "绿色整存整取 1年", Term.Y1, green=True, start=start), "1.50"),
        (_td("TD-2Y", "整存整取 2年", Term.Y2, green=False, start=start), "1.60"),
        (_td("TD-3Y", "绿色整存整取 3年", Term.Y3, green=True, start=start), "1.95"),
        (cd, "2.15"),
    ]


def _has_rate(container: Container, series: str) -> bool:
    query = select(RatePosting.id).where(RatePosting.series == series).limit(1)
    return catalogue.read(container.uow, lambda s: s.scalar(query) is not None)


def _find(container: Container, code: str) -> Product | None:
    query = select(Product).where(Product.code == code)
    return catalogue.read(container.uow, lambda s: s.scalar(query))


def seed(container: Container) -> list[str]:
    uow, clock = container.uow, container.clock
    done: list[str] = []
    if not _has_rate(container, DEMAND_SERIES):
        catalogue.post_demand_rate(uow=uow, clock=clock, actor=ACTOR, rate=percent(DEMAND_RATE))
        done.append(f"demand rate {DEMAND_RATE}%")
    for spec, rate in launch_set(clock.now()):
        product = _find(container, spec.code)
        if product is None:
            product = catalogue.create_product(uow=uow, clock=clock, actor=ACTOR, spec=spec)
            done.append(f"product {spec.code} {spec.name}")
        if not _has_rate(container, product.id):
            catalogue.post_product_rate(
                uow=uow, clock=clock, actor=ACTOR, code=spec.code, rate=percent(rate)
            )
            done.append(f"rate {spec.code} {rate}%")
        if product.status is ProductStatus.DRAFT:
            catalogue.publish_product(uow=uow, clock=clock, actor=ACTOR, code=spec.code)
            done.append(f"published {spec.code}")
    return done or ["deposit products already present"]
