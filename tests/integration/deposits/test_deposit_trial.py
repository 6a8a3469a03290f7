"""Trial calculations against posted rates, with hand-computed figures (rules: domain-rules.md)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from deposits_support import STAFF, MakeProduct

from greenbank.bootstrap import Container
from greenbank.clock import FixedClock
from greenbank.deposits import catalogue
from greenbank.deposits.catalogue import reserve_quota
from greenbank.deposits.domain import BelowMinimum, percent
from greenbank.deposits.interest import maturity_payout
from greenbank.deposits.trial import Trial, WithdrawalKind, trial
from greenbank.errors import GreenbankError

TODAY = date(2026, 3, 2)  # the fixture clock's business date
YUAN = 100


def _trial(container: Container, amount_fen: int, **kwargs: object) -> Trial:
    return trial(
        uow=container.uow, clock=container.clock, code="TD-1Y", amount_fen=amount_fen, **kwargs
    )  # type: ignore[arg-type]


def test_purchase_trial_is_the_worked_example(
    container: Container, make_product: MakeProduct
) -> None:
    make_product(rate="1.50")
    result = _trial(container, 10_000 * YUAN)
    assert result.holding.value_date == TODAY
    assert result.holding.maturity == date(2027, 3, 2)
    assert result.holding.annual_rate == Decimal("0.0150")
    assert result.expected_interest_fen == 15_000  # 10,000 x 1.50% = 150.00
    assert result.withdrawal is None


def test_full_early_withdrawal_is_the_worked_example(
    container: Container, make_product: MakeProduct
) -> None:
    make_product(rate="1.50")
    on = TODAY + timedelta(days=320)
    result = _trial(container, 50_000 * YUAN, withdraw_on=on)
    assert result.withdrawal is not None
    assert result.withdrawal.kind is WithdrawalKind.FULL_EARLY
    assert result.withdrawal.demand_rate == Decimal("0.0030")
    # 5,000,000 fen x 0.30% x 320 / 360 = 13,333.33 fen -> 133.33 CNY
    assert result.withdrawal.payout.interest_fen == 13_333
    assert result.withdrawal.payout.net_fen == 5_013_333


def test_partial_early_withdrawal_keeps_the_rest_at_the_contract_rate(
    container: Container, make_product: MakeProduct
) -> None:
    make_product(rate="1.50")
    on = TODAY + timedelta(days=100)
    result = _trial(container, 50_000 * YUAN, withdraw_on=on, partial_amount_fen=10_000 * YUAN)
    w = result.withdrawal
    assert w is not None and w.kind is WithdrawalKind.PARTIAL_EARLY
    assert w.payout.interest_fen == 833  # 1,000,000 x 0.30% x 100/360 = 833.33
    assert w.remaining is not None and w.remaining.principal_fen == 40_000 * YUAN
    assert w.remaining_expected_interest_fen == 60_000  # 40,000 x 1.50% = 600.00


def test_partial_below_minimum_follows_the_product_rule(
    container: Container, make_product: MakeProduct
) -> None:
    make_product(rate="1.50", below_minimum=BelowMinimum.CLOSE)
    result = _trial(
        container, 100 * YUAN, withdraw_on=TODAY + timedelta(days=30), partial_amount_fen=60 * YUAN
    )
    assert result.withdrawal is not None
    assert result.withdrawal.kind is WithdrawalKind.FULL_EARLY
    assert result.withdrawal.payout.principal_fen == 100 * YUAN


def test_maturity_with_days_after_it(container: Container, make_product: MakeProduct) -> None:
    make_product(rate="1.50")
    result = _trial(container, 10_000 * YUAN, withdraw_on=date(2027, 4, 1))
    w = result.withdrawal
    assert w is not None and w.kind is WithdrawalKind.MATURITY
    # term 150.00 + 1,000,000 x 0.30% x 30/360 = 2.50 for 2027-03-02 .. 2027-04-01
    assert [line.interest_fen for line in w.payout.lines] == [15_000, 250]


def test_a_later_rate_change_leaves_the_earlier_contract_alone(
    container: Container, clock: FixedClock, make_product: MakeProduct
) -> None:
    product = make_product(rate="1.50")
    with container.uow() as unit:
        reservation = reserve_quota(unit.session, product.id, 10_000 * YUAN, 0, now=clock.now())
        unit.commit()
    catalogue.post_product_rate(
        uow=container.uow,
        clock=clock,
        actor=STAFF,
        code="TD-1Y",
        rate=percent("1.80"),
        effective_from=TODAY + timedelta(days=1),
    )
    assert _trial(container, 10_000 * YUAN).expected_interest_fen == 15_000  # still today's rate
    clock.advance(timedelta(days=1))
    later = _trial(container, 10_000 * YUAN)
    assert (later.holding.annual_rate, later.expected_interest_fen) == (Decimal("0.0180"), 18_000)
    # the holding opened yesterday keeps 1.50% to maturity
    payout = maturity_payout(reservation.holding, on=date(2027, 3, 2), demand_rate=Decimal(0))
    assert payout.interest_fen == 15_000


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"amount_fen": 4_900}, "amount_below_minimum"),
        ({"amount_fen": 5_050}, "amount_not_multiple_of_step"),
        ({"amount_fen": 10_000, "partial_amount_fen": 5_000}, "withdraw_on_required"),
        ({"amount_fen": 10_000, "withdraw_on": TODAY - timedelta(days=1)}, "invalid_period"),
        (
            {"amount_fen": 20_000, "withdraw_on": TODAY, "partial_amount_fen": 20_001},
            "invalid_withdrawal_amount",
        ),
        (
            {"amount_fen": 10_000, "withdraw_on": date(2027, 3, 2), "partial_amount_fen": 100},
            "not_before_maturity",
        ),
        (
            {"amount_fen": 10_000, "withdraw_on": TODAY, "partial_amount_fen": 5_001},
            "remaining_below_minimum",
        ),
    ],
)
def test_bad_trials_are_refused_with_their_code(
    container: Container, make_product: MakeProduct, kwargs: dict[str, object], code: str
) -> None:
    make_product(rate="1.50")
    with pytest.raises(GreenbankError) as caught:
        trial(uow=container.uow, clock=container.clock, code="TD-1Y", **kwargs)  # type: ignore[arg-type]
    assert caught.value.code == code


def test_partial_withdrawal_needs_the_product_to_allow_it(
    container: Container, make_product: MakeProduct
) -> None:
    make_product(rate="1.50", partial_withdrawal_allowed=False)
    with pytest.raises(GreenbankError) as caught:
        _trial(container, 10_000, withdraw_on=TODAY, partial_amount_fen=100)
    assert caught.value.code == "partial_withdrawal_not_allowed"
