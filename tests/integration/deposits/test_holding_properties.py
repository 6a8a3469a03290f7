"""Property: any sequence of purchases, partial and full withdrawals, days passing and maturity
runs conserves money — balance + principal on deposit = funding + interest paid — interest is
never negative, every holding's ledger account equals its principal, and the ledger verifies.

Refused steps (insufficient funds, below minimum, second partial, ...) are part of the input:
they must leave no trace.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from deposits_support import MakeProduct
from holding_support import balance, holding_balance, open_funded_account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from greenbank.bootstrap import Container
from greenbank.clock import FixedClock, business_date
from greenbank.deposits.domain import BelowMinimum, Term
from greenbank.deposits.holdings_models import (
    DepositHolding,
    HoldingPayout,
    HoldingStatus,
    MaturityOption,
)
from greenbank.deposits.maturity import run_maturity
from greenbank.deposits.purchase import purchase
from greenbank.deposits.withdrawal import withdraw
from greenbank.errors import GreenbankError
from greenbank.ledger import commands

FUNDING = 50_000_00
PRODUCTS = ("P-3M", "P-6M", "P-1Y")

step = st.one_of(
    st.tuples(
        st.just("buy"),
        st.sampled_from(PRODUCTS),
        st.integers(50, 30_000),
        st.sampled_from(list(MaturityOption)),
    ),
    st.tuples(st.just("partial"), st.integers(0, 5), st.integers(1, 99)),
    st.tuples(st.just("full"), st.integers(0, 5)),
    st.tuples(st.just("wait"), st.integers(1, 200)),
    st.tuples(st.just("mature")),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=12))
def test_money_is_conserved(
    container: Container, clock: FixedClock, make_product: MakeProduct, steps: list[tuple]
) -> None:
    if not _products_made(container):
        make_product("P-3M", rate="1.15", term=Term.M3)
        make_product("P-6M", rate="1.35", term=Term.M6, below_minimum=BelowMinimum.CLOSE)
        make_product("P-1Y", rate="1.50")
    customer = open_funded_account(container, FUNDING)
    held: list[str] = []
    for n, action in enumerate(steps):
        with contextlib.suppress(GreenbankError):
            _apply(container, clock, customer, held, n, action)
    _check(container, customer, held)


def _products_made(container: Container) -> bool:
    from greenbank.deposits.models import Product

    with container.uow() as unit:
        return bool(unit.session.scalar(select(func.count()).select_from(Product)))


def _apply(
    c: Container, clock: FixedClock, customer: str, held: list[str], n: int, action: tuple
) -> None:
    kind = action[0]
    args = {"uow": c.uow, "clock": clock, "customer_id": customer}
    if kind == "buy":
        _, code, yuan, option = action
        result = purchase(
            **args,
            product_code=code,
            amount_fen=yuan * 100,
            idempotency_key=f"b{n}",
            maturity_option=option,
        )
        held.append(result.holding.id)
    elif kind in ("partial", "full") and held:
        holding_id = held[action[1] % len(held)]
        amount = None
        if kind == "partial":
            principal = _principal(c, holding_id)
            amount = max(1, principal * action[2] // 100)
        withdraw(**args, holding_id=holding_id, amount_fen=amount, idempotency_key=f"w{n}")
    elif kind == "wait":
        clock.advance(timedelta(days=action[1]))
    elif kind == "mature":
        run_maturity(uow_factory=c.uow, clock=clock, on=business_date(clock.now()))


def _principal(c: Container, holding_id: str) -> int:
    with c.uow() as unit:
        return unit.session.get_one(DepositHolding, holding_id).principal_fen


def _check(c: Container, customer: str, held: list[str]) -> None:
    with c.uow() as unit:
        holdings = unit.session.scalars(
            select(DepositHolding).where(DepositHolding.customer_id == customer)
        ).all()
        payouts = unit.session.scalars(
            select(HoldingPayout).where(HoldingPayout.customer_id == customer)
        ).all()
        on_deposit = sum(h.principal_fen for h in holdings if h.status is HoldingStatus.ACTIVE)
        principals = {h.id: h.principal_fen for h in holdings}
        assert all(h.principal_fen == 0 for h in holdings if h.status is HoldingStatus.CLOSED)
        assert all(p.interest_fen >= 0 and p.tax_fen == 0 for p in payouts)
        interest = sum(p.interest_fen for p in payouts)
    assert sorted(principals) == sorted(held)
    assert balance(c, customer) + on_deposit == FUNDING + interest
    for holding_id, principal in principals.items():
        assert holding_balance(c, holding_id) == principal
    assert commands.verify_ledger(uow_factory=c.uow).ok
