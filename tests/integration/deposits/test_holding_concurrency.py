"""Real concurrent buyers on PostgreSQL: never oversell a quota, never double-debit or overdraw.

Threads start together behind a barrier, each with its own unit of work (its own connection).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from deposits_support import MakeProduct
from holding_support import balance, open_funded_account
from sqlalchemy import func, select

from greenbank.bootstrap import Container
from greenbank.deposits.holdings_models import DepositHolding
from greenbank.deposits.models import Product
from greenbank.deposits.purchase import purchase
from greenbank.errors import GreenbankError
from greenbank.ledger import commands

SLICE = 10_000  # 100 CNY


def race(n: int, work: Callable[[int], None]) -> list[str]:
    start = threading.Barrier(n)

    def run(i: int) -> str:
        start.wait()
        try:
            work(i)
        except GreenbankError as err:
            return err.code
        return "ok"

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def _buy(c: Container, customer: str, key: str, amount: int = SLICE) -> None:
    purchase(
        uow=c.uow,
        clock=c.clock,
        customer_id=customer,
        product_code="TD-1Y",
        amount_fen=amount,
        idempotency_key=key,
    )


@pytest.mark.postgres_only
def test_many_customers_never_oversell_a_small_quota(
    container: Container, make_product: MakeProduct
) -> None:
    make_product("TD-1Y", total_quota_fen=5 * SLICE + 5_000)
    customers = [open_funded_account(container, 2 * SLICE) for _ in range(12)]
    outcomes = race(12, lambda i: _buy(container, customers[i], "k"))
    assert outcomes.count("ok") == 5
    assert set(outcomes) == {"ok", "quota_exhausted"}
    for customer, outcome in zip(customers, outcomes, strict=True):
        assert balance(container, customer) == (SLICE if outcome == "ok" else 2 * SLICE)
    with container.uow() as unit:
        used = unit.session.scalar(select(Product.quota_used_fen))
        holdings = unit.session.scalar(select(func.count()).select_from(DepositHolding))
    assert (used, holdings) == (5 * SLICE, 5)
    assert commands.verify_ledger(uow_factory=container.uow).ok


@pytest.mark.postgres_only
def test_one_customer_racing_purchases_never_overdraws(
    container: Container, make_product: MakeProduct
) -> None:
    make_product("TD-1Y")
    customer = open_funded_account(container, 3 * SLICE)
    outcomes = race(8, lambda i: _buy(container, customer, f"k{i}"))
    assert outcomes.count("ok") == 3
    assert set(outcomes) == {"ok", "insufficient_funds"}
    assert balance(container, customer) == 0
    assert commands.verify_ledger(uow_factory=container.uow).ok


@pytest.mark.postgres_only
def test_the_same_key_racing_buys_once(container: Container, make_product: MakeProduct) -> None:
    make_product("TD-1Y")
    customer = open_funded_account(container, 10 * SLICE)
    outcomes = race(6, lambda i: _buy(container, customer, "same"))
    assert outcomes == ["ok"] * 6
    assert balance(container, customer) == 9 * SLICE
    with container.uow() as unit:
        assert unit.session.scalar(select(func.count()).select_from(DepositHolding)) == 1
