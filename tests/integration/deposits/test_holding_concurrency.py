"""Real concurrent buyers on PostgreSQL: never oversell a quota, never double-debit or overdraw.

Threads start together behind a barrier, each with its own unit of work (its own connection).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest
from deposits_support import MakeProduct
from holding_support import balance, open_funded_account
from sqlalchemy import func, select

from greenbank.bootstrap import Container
from greenbank.clock import FixedClock
from greenbank.deposits.holdings_models import (
    DepositHolding,
    HoldingPayout,
    HoldingStatus,
    MaturityOption,
    MaturityRun,
)
from greenbank.deposits.maturity import MaturityReport, _record_run, _run_row, run_maturity
from greenbank.deposits.models import Product
from greenbank.deposits.purchase import purchase
from greenbank.deposits.withdrawal import withdraw
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


@pytest.mark.postgres_only
def test_concurrent_maturity_runs_and_withdrawals_settle_each_holding_once(
    container: Container, make_product: MakeProduct
) -> None:
    make_product("TD-1Y")
    customers = [open_funded_account(container, 20 * SLICE) for _ in range(4)]
    holdings = []
    for n in range(40):
        option = list(MaturityOption)[n % 2]
        result = purchase(
            uow=container.uow,
            clock=container.clock,
            customer_id=customers[n % 4],
            product_code="TD-1Y",
            amount_fen=SLICE,
            idempotency_key=f"k{n}",
            maturity_option=option,
        )
        holdings.append(result.holding)
    clock = container.clock
    assert isinstance(clock, FixedClock)
    clock.set(datetime(2027, 3, 2, 2, tzinfo=UTC))

    def work(i: int) -> None:
        if i < 3:
            run_maturity(uow_factory=container.uow, clock=clock, on=date(2027, 3, 2), batch_size=7)
        else:
            h = holdings[i]  # racing customers withdraw at maturity themselves
            withdraw(
                uow=container.uow,
                clock=clock,
                customer_id=h.customer_id,
                holding_id=h.id,
                amount_fen=None,
                idempotency_key="w",
            )

    outcomes = race(8, work)
    assert set(outcomes) <= {"ok", "holding_closed"}
    withdrawn = {h.id for h in holdings[3:8]}
    with container.uow() as unit:
        payouts = unit.session.scalars(select(HoldingPayout)).all()
        rows = unit.session.scalars(select(DepositHolding)).all()
        settled = Counter(p.holding_id for p in payouts if p.kind.value in ("rollover", "maturity"))
        early = Counter(p.holding_id for p in payouts if p.kind.value == "full_early")
        # the maturity is settled exactly once, by a runner or by the customer's withdrawal;
        # a rolled-over deposit withdrawn the same day is then closed early (0 days, 0 interest)
        assert settled == Counter({h.id: 1 for h in holdings})
        assert set(early) <= withdrawn and all(n == 1 for n in early.values())
        for h in rows:
            closed = h.maturity_option is MaturityOption.RETURN_TO_BALANCE or h.id in withdrawn
            assert (h.status is HoldingStatus.CLOSED) == closed
        on_deposit = sum(h.principal_fen for h in rows if h.status is HoldingStatus.ACTIVE)
    # 1y at 1.50% on 100 CNY = 150 fen per holding, rolled or paid
    total = sum(balance(container, c) for c in customers)
    assert total + on_deposit == 4 * 20 * SLICE + 40 * 150
    assert commands.verify_ledger(uow_factory=container.uow).ok


@pytest.mark.postgres_only
def test_two_runs_recording_the_same_day_add_to_one_row(container: Container) -> None:
    """The second run finds no row while the first's is uncommitted: its INSERT waits, then
    yields to the first one's row, which both runs add to (it used to fail on the UNIQUE)."""
    day = date(2027, 3, 2)
    recorded = threading.Event()

    def second() -> None:
        report = MaturityReport(day, processed=2, returned=2)
        _record_run(container.uow, container.clock, report)
        recorded.set()

    with container.uow() as first:
        run = _run_row(first.session, day, container.clock.now())
        run.runs, run.processed, run.rolled_over = 1, 3, 3
        first.flush()  # the row is written, not yet committed
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(second)
            assert not recorded.wait(0.5)  # held by the first run's uncommitted row
            first.commit()
            waiting.result(timeout=30)
    with container.uow() as unit:
        rows = unit.session.scalars(select(MaturityRun)).all()
        assert [(r.runs, r.processed, r.rolled_over, r.returned) for r in rows] == [(2, 5, 3, 2)]
