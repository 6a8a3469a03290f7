"""Purchase, early withdrawal (full and partial), maturity and rollover through the services,
each against figures worked out by hand. The demand rate is 0.30% (conftest); the clock starts
on 2026-03-02 09:30 Beijing time.

Hand calculations (interest rounded half-up to the fen once per line):
- 10,000 CNY for 1 year at 1.50%: 1,000,000 x 0.015 = 15,000 fen.
- early on 2026-09-15 (197 days from 2026-03-02) at 0.30%: 1,000,000 x 0.003 x 197/360
  = 1,641.67 -> 1,642 fen.
- returned 10 days after maturity: 15,000 + 1,000,000 x 0.003 x 10/360 (83.33 -> 83) = 15,083.
- 3 months at 1.15%: 1,000,000 x 0.0115 x 3/12 = 2,875; renewed 1,002,875 at 1.00% (posted
  2026-05-01) for 3 months: 2,507.1875 -> 2,507; principal then 1,005,382.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from deposits_support import STAFF, MakeProduct
from holding_support import balance, holding_balance, open_funded_account, set_account_status
from sqlalchemy import delete, event, select, update

from greenbank.accounts.models import AccountStatus
from greenbank.bootstrap import Container
from greenbank.clock import FixedClock
from greenbank.deposits import catalogue
from greenbank.deposits.domain import BelowMinimum, Term, percent
from greenbank.deposits.holdings_models import (
    DepositHolding,
    HoldingPayout,
    HoldingStatus,
    MaturityOption,
    PayoutKind,
)
from greenbank.deposits.maturity import run_maturity
from greenbank.deposits.purchase import purchase
from greenbank.deposits.settlement_writes import BatchAlreadyPosted
from greenbank.deposits.withdrawal import withdraw, withdrawal_quote
from greenbank.errors import GreenbankError
from greenbank.ledger import commands, fast_path

CNY = 100


def at(day: date) -> datetime:
    """10:00 Beijing time on ``day``."""
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)


def buy(c: Container, customer: str, code: str, amount: int, key: str = "k1", **kw: object):  # type: ignore[no-untyped-def]
    return purchase(
        uow=c.uow,
        clock=c.clock,
        customer_id=customer,
        product_code=code,
        amount_fen=amount,
        idempotency_key=key,
        **kw,  # type: ignore[arg-type]
    )


def test_purchase_debits_the_balance_and_opens_the_holding(
    container: Container, make_product: MakeProduct
) -> None:
    make_product("TD-1Y", rate="1.50")
    customer = open_funded_account(container, 20_000 * CNY)
    result = buy(container, customer, "TD-1Y", 10_000 * CNY)
    h = result.holding
    assert (h.value_date, h.maturity_date, str(h.rate)) == (
        date(2026, 3, 2),
        date(2027, 3, 2),
        "0.015",
    )
    assert h.maturity_option is MaturityOption.ROLLOVER  # the product's first option
    assert balance(container, customer) == 10_000 * CNY
    assert holding_balance(container, h.id) == 10_000 * CNY
    again = buy(container, customer, "TD-1Y", 10_000 * CNY)
    assert again.replayed and again.holding.id == h.id
    assert balance(container, customer) == 10_000 * CNY
    with pytest.raises(GreenbankError) as err:
        buy(container, customer, "TD-1Y", 5_000 * CNY)  # same key, another request
    assert err.value.code == "idempotency_key_reused"
    assert commands.verify_ledger(uow_factory=container.uow).ok


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("poor", "insufficient_funds"),
        ("frozen", "account_not_active"),
        ("restricted", "account_not_active"),
        ("no_option", "maturity_option_not_allowed"),
        ("quota", "quota_exhausted"),
    ],
)
def test_refused_purchases_leave_no_trace(
    container: Container, make_product: MakeProduct, setup: str, code: str
) -> None:
    product = make_product(
        "TD-1Y", rollover_allowed=setup != "no_option", total_quota_fen=50 * CNY * 1000
    )
    customer = open_funded_account(container, 100 * CNY if setup == "poor" else 100_000 * CNY)
    if setup in ("frozen", "restricted"):
        set_account_status(container, customer, AccountStatus(setup))
    amount = 60_000 * CNY if setup == "quota" else 1_000 * CNY
    option = MaturityOption.ROLLOVER if setup == "no_option" else None
    with pytest.raises(GreenbankError) as err:
        buy(container, customer, "TD-1Y", amount, maturity_option=option)
    assert err.value.code == code
    listing = catalogue.public_product(uow=container.uow, clock=container.clock, code="TD-1Y")
    assert listing.product.quota_used_fen == 0 == product.quota_used_fen
    assert balance(container, customer) == (100 if setup == "poor" else 100_000) * CNY


def test_full_early_withdrawal_pays_the_demand_rate(
    container: Container, clock: FixedClock, make_product: MakeProduct
) -> None:
    make_product("TD-1Y", rate="1.50")
    customer = open_funded_account(container, 10_000 * CNY)
    holding = buy(container, customer, "TD-1Y", 10_000 * CNY).holding
    clock.set(at(date(2026, 9, 15)))
    quote = withdrawal_quote(
        uow=container.uow, clock=clock, customer_id=customer, holding_id=holding.id, amount_fen=None
    )
    assert (quote.kind.value, quote.payout.interest_fen) == ("full_early", 1_642)
    args = {"uow": container.uow, "clock": clock, "customer_id": customer}
    done = withdraw(**args, holding_id=holding.id, amount_fen=None, idempotency_key="w1")
    assert (done.payout.kind, done.payout.interest_fen, done.payout.principal_fen) == (
        PayoutKind.FULL_EARLY,
        1_642,
        1_000_000,
    )
    assert done.holding.status is HoldingStatus.CLOSED
    assert balance(container, customer) == 1_001_642
    replay = withdraw(**args, holding_id=holding.id, amount_fen=None, idempotency_key="w1")
    assert replay.replayed and replay.payout.id == done.payout.id
    with pytest.raises(GreenbankError) as err:
        withdraw(**args, holding_id=holding.id, amount_fen=None, idempotency_key="w2")
    assert err.value.code == "holding_closed"
    assert balance(container, customer) == 1_001_642
    assert commands.verify_ledger(uow_factory=container.uow).ok


def test_partial_withdrawal_once_and_the_rest_keeps_its_terms(
    container: Container, clock: FixedClock, make_product: MakeProduct
) -> None:
    make_product("TD-1Y", rate="1.50")
    customer = open_funded_account(container, 50_000 * CNY)
    holding = buy(container, customer, "TD-1Y", 50_000 * CNY).holding
    clock.set(at(date(2026, 9, 15)))
    args = {"uow": container.uow, "clock": clock, "customer_id": customer}
    done = withdraw(**args, holding_id=holding.id, amount_fen=1_000_000, idempotency_key="p1")
    assert (done.payout.kind, done.payout.interest_fen, done.payout.remaining_fen) == (
        PayoutKind.PARTIAL_EARLY,
        1_642,
        4_000_000,
    )
    assert balance(container, customer) == 1_001_642
    assert holding_balance(container, holding.id) == 4_000_000
    with pytest.raises(GreenbankError) as err:
        withdraw(**args, holding_id=holding.id, amount_fen=100_000, idempotency_key="p2")
    assert err.value.code == "partial_withdrawal_already_used"
    # the rest matures on the original date at the original rate: 4,000,000 x 1.5% = 60,000
    clock.set(at(date(2027, 3, 2)))
    make_product("TD-XX", rate="1.00")  # a later product; posting rates never touches holdings
    report = run_maturity(uow_factory=container.uow, clock=clock, on=date(2027, 3, 2))
    assert (report.rolled_over, report.returned) == (1, 0)
    with container.uow() as unit:
        rolled = unit.session.scalars(
            select(HoldingPayout).where(HoldingPayout.kind == PayoutKind.ROLLOVER)
        ).one()
        assert (rolled.interest_fen, rolled.remaining_fen) == (60_000, 4_060_000)


def test_partial_below_minimum_is_refused_or_closes(
    container: Container, clock: FixedClock, make_product: MakeProduct
) -> None:
    make_product("TD-R", rate="1.50")
    make_product("TD-C", rate="1.50", below_minimum=BelowMinimum.CLOSE)
    customer = open_funded_account(container, 200 * CNY)
    refuse = buy(container, customer, "TD-R", 100 * CNY, key="a").holding
    close = buy(container, customer, "TD-C", 100 * CNY, key="b").holding
    clock.set(at(date(2026, 9, 15)))
    args = {"uow": container.uow, "clock": clock, "customer_id": customer}
    with pytest.raises(GreenbankError) as err:
        withdraw(**args, holding_id=refuse.id, amount_fen=6_000, idempotency_key="x")
    assert err.value.code == "remaining_below_minimum"
    done = withdraw(**args, holding_id=close.id, amount_fen=6_000, idempotency_key="y")
    # closed in full: 10,000 x 0.003 x 197/360 = 16.42 -> 16 fen
    assert (done.payout.kind, done.payout.principal_fen, done.payout.interest_fen) == (
        PayoutKind.FULL_EARLY,
        10_000,
        16,
    )
    assert balance(container, customer) == 10_016


def test_maturity_returns_late_with_demand_interest_and_is_idempotent(
    container: Container, clock: FixedClock, make_product: MakeProduct
) -> None:
    make_product("TD-1Y", rate="1.50")
    customer = open_funded_account(container, 10_000 * CNY)
    option = MaturityOption.RETURN_TO_BALANCE
    holding = buy(container, customer, "TD-1Y", 10_000 * CNY, maturity_option=option).holding
    clock.set(at(date(2027, 3, 12)))
    on_time = run_maturity(uow_factory=container.uow, clock=clock, on=date(2027, 3, 1))
    assert on_time.processed == 0  # nothing due yet on the 1st
    late = run_maturity(uow_factory=container.uow, clock=clock, on=date(2027, 3, 12))
    assert (late.returned, late.failures) == (1, [])
    assert balance(container, customer) == 1_015_083
    assert holding_balance(container, holding.id) == 0
    again = run_maturity(uow_factory=container.uow, clock=clock, on=date(2027, 3, 12))
    assert again.processed == 0
    assert balance(container, customer) == 1_015_083
    with pytest.raises(GreenbankError) as err:
        run_maturity(uow_factory=container.uow, clock=clock, on=date(2027, 3, 13))
    assert err.value.code == "maturity_date_in_future"
    assert commands.verify_ledger(uow_factory=container.uow).ok


def test_a_batch_already_in_the_ledger_stops_the_run_and_writes_nothing(
    container: Container, clock: FixedClock, make_product: MakeProduct
) -> None:
    """A holding put back as due after it was settled (outside the job) matches the batch
    entry already posted: the run stops instead of closing it against that money again."""
    make_product("TD-1Y", rate="1.50")
    customer = open_funded_account(container, 10_000 * CNY)
    option = MaturityOption.RETURN_TO_BALANCE
    holding = buy(container, customer, "TD-1Y", 10_000 * CNY, maturity_option=option).holding
    clock.set(at(holding.maturity_date))
    run_maturity(uow_factory=container.uow, clock=clock, on=holding.maturity_date)
    assert balance(container, customer) == 1_015_000
    with container.uow() as unit:  # as it was before the run
        unit.session.execute(
            update(DepositHolding)
            .where(DepositHolding.id == holding.id)
            .values(principal_fen=10_000 * CNY, status=HoldingStatus.ACTIVE, closed_at=None)
        )
        unit.session.execute(delete(HoldingPayout))
        unit.commit()
    with pytest.raises(BatchAlreadyPosted, match="already settled this batch"):
        run_maturity(uow_factory=container.uow, clock=clock, on=holding.maturity_date)
    with container.uow() as unit:
        assert unit.session.scalars(select(HoldingPayout)).all() == []
        assert unit.session.get_one(DepositHolding, holding.id).status is HoldingStatus.ACTIVE
    assert balance(container, customer) == 1_015_000  # paid once
    assert commands.verify_ledger(uow_factory=container.uow).ok


def test_a_batch_posts_its_entries_after_its_other_writes(
    container: Container,
    clock: FixedClock,
    make_product: MakeProduct,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Posting locks the interest-expense balance row, which every batch shares, until commit:
    a batch writes its holdings, payouts and event first, so another runner waits only for its
    commit (statements seen on the ledger's portable path, which goes through SQLAlchemy)."""
    monkeypatch.setattr(fast_path, "ENABLED", False)
    make_product("TD-1Y", rate="1.50")
    customer = open_funded_account(container, 20_000 * CNY)
    buy(container, customer, "TD-1Y", 10_000 * CNY, key="rolls")
    option = MaturityOption.RETURN_TO_BALANCE
    due = buy(container, customer, "TD-1Y", 10_000 * CNY, key="back", maturity_option=option)
    clock.set(at(due.holding.maturity_date))
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(" ".join(args[2].split()))  # (conn, cursor, statement, ...)

    event.listen(container.engine, "before_cursor_execute", record)
    try:
        report = run_maturity(uow_factory=container.uow, clock=clock, on=due.holding.maturity_date)
    finally:
        event.remove(container.engine, "before_cursor_execute", record)
    assert (report.rolled_over, report.returned) == (1, 1)
    writes = [
        n
        for n, sql in enumerate(seen)
        if sql.startswith(
            ("UPDATE deposit_holdings", "INSERT INTO deposit_payouts", "INSERT INTO bus_outbox")
        )
    ]
    ledger = [n for n, sql in enumerate(seen) if "ledger_" in sql]
    assert len(writes) >= 4 and ledger, seen
    assert max(writes) < min(ledger), seen


def test_catch_up_rollover_chain_uses_the_rate_posted_on_each_maturity(
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
    holding = buy(container, customer, "TD-3M", 10_000 * CNY).holding
    clock.set(at(date(2026, 9, 10)))
    report = run_maturity(uow_factory=container.uow, clock=clock, on=date(2026, 9, 10))
    assert (report.rolled_over, report.returned) == (1, 0)
    assert holding_balance(container, holding.id) == 1_005_382
    with container.uow() as unit:
        steps = unit.session.scalars(select(HoldingPayout).order_by(HoldingPayout.cycle)).all()
        current = unit.session.get_one(type(holding), holding.id)
        assert [(s.paid_on, s.interest_fen) for s in steps] == [
            (date(2026, 6, 2), 2_875),
            (date(2026, 9, 2), 2_507),
        ]
        assert (current.cycle, current.maturity_date, str(current.rate)) == (
            2,
            date(2026, 12, 2),
            "0.01",
        )
    # withdrawing the renewed deposit on 2026-09-10 is early: 8 days on 1,005,382 at 0.30%
    # = 67.02 -> 67 fen
    done = withdraw(
        uow=container.uow,
        clock=clock,
        customer_id=customer,
        holding_id=holding.id,
        amount_fen=None,
        idempotency_key="w",
    )
    assert (done.payout.principal_fen, done.payout.interest_fen) == (1_005_382, 67)
    assert balance(container, customer) == 1_005_449
    assert commands.verify_ledger(uow_factory=container.uow).ok


def test_withdrawal_after_a_missed_rollover_renews_first(
    container: Container, clock: FixedClock, make_product: MakeProduct
) -> None:
    make_product("TD-3M", rate="1.15", term=Term.M3)
    customer = open_funded_account(container, 10_000 * CNY)
    holding = buy(container, customer, "TD-3M", 10_000 * CNY).holding
    clock.set(at(date(2026, 6, 12)))  # matured 2026-06-02, the job has not run
    quote = withdrawal_quote(
        uow=container.uow, clock=clock, customer_id=customer, holding_id=holding.id, amount_fen=None
    )
    # renewed 1,002,875 on 2026-06-02, then 10 days early at 0.30%: 83.57 -> 84 fen
    assert (quote.kind.value, quote.payout.principal_fen, quote.payout.interest_fen) == (
        "full_early",
        1_002_875,
        84,
    )
    done = withdraw(
        uow=container.uow,
        clock=clock,
        customer_id=customer,
        holding_id=holding.id,
        amount_fen=None,
        idempotency_key="w",
    )
    assert done.payout.interest_fen == 84
    assert balance(container, customer) == 1_002_875 + 84


@pytest.mark.parametrize(
    ("opened", "term", "maturity", "interest"),
    [
        # month end: 2026-08-31 + 6 months is 2027-02-28; 6 months at 1.50% = 7,500
        (date(2026, 8, 31), Term.M6, date(2027, 2, 28), 7_500),
        # leap day: 2028-02-29 + 1 year is 2029-02-28; one whole year = 15,000
        (date(2028, 2, 29), Term.Y1, date(2029, 2, 28), 15_000),
    ],
)
def test_month_end_and_leap_day_maturities(
    container: Container,
    clock: FixedClock,
    make_product: MakeProduct,
    opened: date,
    term: Term,
    maturity: date,
    interest: int,
) -> None:
    make_product("TD-X", rate="1.50", term=term)
    customer = open_funded_account(container, 10_000 * CNY)
    clock.set(at(opened))
    holding = buy(
        container, customer, "TD-X", 10_000 * CNY, maturity_option=MaturityOption.RETURN_TO_BALANCE
    ).holding
    assert holding.maturity_date == maturity
    clock.set(at(maturity) + timedelta(hours=1))
    run_maturity(uow_factory=container.uow, clock=clock, on=maturity)
    assert balance(container, customer) == 1_000_000 + interest


def test_early_withdrawal_across_a_leap_february(
    container: Container, clock: FixedClock, make_product: MakeProduct
) -> None:
    make_product("TD-1Y", rate="1.50")
    customer = open_funded_account(container, 10_000 * CNY)
    clock.set(at(date(2027, 12, 1)))
    holding = buy(container, customer, "TD-1Y", 10_000 * CNY).holding
    clock.set(at(date(2028, 3, 1)))  # 91 days: 31 + 31 + 29
    done = withdraw(
        uow=container.uow,
        clock=clock,
        customer_id=customer,
        holding_id=holding.id,
        amount_fen=None,
        idempotency_key="w",
    )
    # 1,000,000 x 0.003 x 91/360 = 758.33 -> 758
    assert done.payout.interest_fen == 758
