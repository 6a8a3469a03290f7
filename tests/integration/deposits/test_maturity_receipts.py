"""The maturity job issues the interest and maturity receipts of each settled holding, once.

Figures as in test_holding_service (demand rate 0.30%):
- 10,000 CNY for 1 year at 1.50%, returned 10 days late: interest 15,000 + 83 = 15,083 fen,
  principal 1,000,000 fen back to the balance.
- 10,000 CNY for 3 months at 1.15%, rolled over twice (the second time at 1.00%): interest
  2,875 + 2,507 = 5,382 fen; renewed principal 1,005,382 fen, value date 2026-09-02, maturity
  2026-12-02.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from deposits_support import STAFF, MakeProduct
from holding_support import open_funded_account
from sqlalchemy import select

from greenbank.bootstrap import Container
from greenbank.clock import FixedClock
from greenbank.deposits import catalogue
from greenbank.deposits.domain import Term, percent
from greenbank.deposits.holdings_models import MaturityOption
from greenbank.deposits.maturity import run_maturity
from greenbank.deposits.purchase import Receipting, purchase
from greenbank.receipts.models import Receipt

CNY = 100
RECEIPTING = Receipting("绿色银行", b"k" * 32)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)


def buy(c: Container, customer: str, code: str, option: MaturityOption | None = None) -> str:
    return purchase(
        uow=c.uow,
        clock=c.clock,
        customer_id=customer,
        product_code=code,
        amount_fen=10_000 * CNY,
        idempotency_key="k1",
        maturity_option=option,
    ).holding.id


def job_receipts(c: Container) -> list[Receipt]:
    with c.uow() as unit:
        query = (
            select(Receipt)
            .where(Receipt.source_type.in_(["deposit_interest", "deposit_maturity"]))
            .order_by(Receipt.source_type)
        )
        found = list(unit.session.scalars(query))
        unit.session.expunge_all()  # read after the unit of work ends
        return found


def test_a_late_return_issues_interest_and_maturity_receipts_once(
    container: Container, clock: FixedClock, make_product: MakeProduct
) -> None:
    make_product("TD-1Y", rate="1.50")
    customer = open_funded_account(container, 10_000 * CNY)
    holding = buy(container, customer, "TD-1Y", MaturityOption.RETURN_TO_BALANCE)
    clock.set(at(date(2027, 3, 12)))
    run = run_maturity(
        uow_factory=container.uow, clock=clock, on=date(2027, 3, 12), receipting=RECEIPTING
    )
    assert run.returned == 1
    interest, maturity = job_receipts(container)
    assert (interest.type, interest.source_id, interest.amount_fen) == (
        "interest",
        f"{holding}:0",
        15_083,
    )
    assert (interest.payer_name, interest.payer_is_org, interest.payee_bank) == (
        "绿色银行",
        True,
        "绿色银行",
    )
    assert (maturity.type, maturity.source_id, maturity.amount_fen) == (
        "maturity",
        f"{holding}:0",
        1_000_000,
    )
    assert (maturity.payer_bank, maturity.payee_bank) == ("绿色银行（定期）", "绿色银行")
    assert (maturity.value_date, maturity.maturity_date) == (date(2026, 3, 2), date(2027, 3, 2))
    assert interest.customer_id == maturity.customer_id == customer
    again = run_maturity(
        uow_factory=container.uow, clock=clock, on=date(2027, 3, 12), receipting=RECEIPTING
    )
    assert again.processed == 0
    assert len(job_receipts(container)) == 2


def test_a_rollover_chain_receipts_the_interest_and_the_renewed_deposit(
    container: Container, clock: FixedClock, make_product: MakeProduct
) -> None:
    make_product("TD-3M", rate="1.15", term=Term.M3)
    catalogue.post_product_rate(
        uow=container.uow,
        clock=clock,
        actor=STAFF,
        code="TD-3M",
        rate=percent("1.00"),
        effective_from=date(2026, 5, 1),
    )
    customer = open_funded_account(container, 10_000 * CNY)
    holding = buy(container, customer, "TD-3M")
    clock.set(at(date(2026, 9, 10)))
    run_maturity(
        uow_factory=container.uow, clock=clock, on=date(2026, 9, 10), receipting=RECEIPTING
    )
    interest, renewed = job_receipts(container)
    assert (interest.type, interest.amount_fen, interest.payee_bank) == (
        "interest",
        5_382,
        "绿色银行（定期）",
    )
    assert (renewed.type, renewed.source_id, renewed.amount_fen) == (
        "maturity",
        f"{holding}:0",
        1_005_382,
    )
    assert (renewed.value_date, renewed.maturity_date, Decimal(renewed.rate)) == (
        date(2026, 9, 2),
        date(2026, 12, 2),
        Decimal("0.01"),
    )
    clock.set(at(date(2026, 12, 2)))
    run_maturity(
        uow_factory=container.uow, clock=clock, on=date(2026, 12, 2), receipting=RECEIPTING
    )
    assert sorted(r.source_id for r in job_receipts(container)) == [
        f"{holding}:0",
        f"{holding}:0",
        f"{holding}:2",
        f"{holding}:2",
    ]


def test_without_receipting_the_job_issues_no_receipt(
    container: Container, clock: FixedClock, make_product: MakeProduct
) -> None:
    make_product("TD-1Y", rate="1.50")
    customer = open_funded_account(container, 10_000 * CNY)
    buy(container, customer, "TD-1Y", MaturityOption.RETURN_TO_BALANCE)
    clock.set(at(date(2027, 3, 2)))
    assert run_maturity(uow_factory=container.uow, clock=clock, on=date(2027, 3, 2)).returned == 1
    assert job_receipts(container) == []
