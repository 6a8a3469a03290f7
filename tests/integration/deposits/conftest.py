"""Fixtures for catalogue tests: a priced demand rate and a factory for products.

The clock stands at 2026-03-02 09:30 Beijing time, so today's business date is 2026-03-02.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from deposits_support import STAFF, MakeProduct

from greenbank.bootstrap import Container
from greenbank.deposits import catalogue
from greenbank.deposits.domain import ProductKind, Term, percent
from greenbank.deposits.models import Product, ProductSpec


@pytest.fixture
def demand(container: Container) -> None:
    catalogue.post_demand_rate(
        uow=container.uow, clock=container.clock, actor=STAFF, rate=percent("0.30")
    )


@pytest.fixture
def make_product(container: Container, demand: None) -> MakeProduct:
    """make_product(code, rate='1.50', publish=True, **spec overrides) -> the product."""

    def make(
        code: str = "TD-1Y", rate: str | None = "1.50", publish: bool = True, **overrides: Any
    ) -> Product:
        spec = ProductSpec(
            code=code,
            name=f"整存整取 {code}",
            kind=ProductKind.TIME_DEPOSIT,
            term=Term.Y1,
            minimum_fen=5_000,
            sale_start=container.clock.now() - timedelta(days=1),
        )
        spec = replace(spec, **overrides)
        product = catalogue.create_product(
            uow=container.uow, clock=container.clock, actor=STAFF, spec=spec
        )
        if rate is not None:
            catalogue.post_product_rate(
                uow=container.uow, clock=container.clock, actor=STAFF, code=code, rate=percent(rate)
            )
        if publish:
            product = catalogue.publish_product(
                uow=container.uow, clock=container.clock, actor=STAFF, code=code
            )
        return product

    return make
