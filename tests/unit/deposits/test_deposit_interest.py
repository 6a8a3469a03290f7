"""Worked examples with the arithmetic written out; rates are illustrative, not posted rates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from greenbank.deposits.domain import (
    BelowMinimum,
    DayCount,
    InvalidPeriod,
    InvalidRate,
    RateHistory,
    RateNotPosted,
    Term,
)
from greenbank.deposits.interest import (
    NO_INTEREST_TAX,
    FlatRateTax,
    Holding,
    InvalidPrincipal,
    InvalidWithdrawalAmount,
    NotBeforeMaturity,
    NotYetMatured,
    PartialWithdrawalAlreadyUsed,
    RemainingBelowMinimum,
    accrued_interest,
    expected_interest,
    full_early_withdrawal,
    interest_line,
    maturity_payout,
    partial_early_withdrawal,
    rollover,
    term_interest,
)

YMD = DayCount.YEARS_MONTHS_DAYS
PRE_2007_TAX = FlatRateTax(Decimal("0.20"))


def test_one_year_at_150_bp() -> None:
    # 10,000 CNY = 1,000,000 fen x 1.50% x 1 year = 15,000 fen = 150.00 CNY
    assert (
        term_interest(1_000_000, Decimal("0.015"), date(2023, 6, 15), date(2024, 6, 15)) == 15_000
    )


def test_full_early_withdrawal_at_the_demand_rate_actual_360() -> None:
    # 50,000 CNY opened 2021-03-01 for 1 year, closed 2022-01-15 (320 days) at demand 0.30%:
    # 5,000,000 x 0.003 x 320 / 360 = 15,000 x 320 / 360 = 13,333.33 -> 13,333 fen = 133.33 CNY
    holding = Holding(5_000_000, Decimal("0.0175"), date(2021, 3, 1), Term.Y1)
    payout = full_early_withdrawal(holding, on=date(2022, 1, 15), demand_rate=Decimal("0.003"))
    assert payout.interest_fen == 13_333
    assert payout.principal_fen == 5_000_000
    assert payout.tax_fen == 0
    assert payout.net_fen == 5_013_333
    assert payout.days == 320
    (line,) = payout.lines
    assert (line.annual_rate, line.day_count, line.days) == (
        Decimal("0.003"),
        DayCount.ACTUAL_360,
        320,
    )


@pytest.mark.parametrize(
    ("principal_fen", "rate", "value_date", "term", "interest_fen"),
    [
        # 3m: 2,000,000 x 1.25% x 3/12 = 25,000 / 4 = 6,250 (Jan 31 matures Apr 30)
        (2_000_000, "0.0125", date(2024, 1, 31), Term.M3, 6_250),
        # 6m: 1,000,000 x 1.45% x 6/12 = 14,500 / 2 = 7,250 (Aug 31 matures Feb 29)
        (1_000_000, "0.0145", date(2023, 8, 31), Term.M6, 7_250),
        # 2y: 10,000,000 x 1.75% x 2 = 350,000
        (10_000_000, "0.0175", date(2022, 5, 10), Term.Y2, 350_000),
        # 3y: 12,345,678 x 2.35% x 3 = 12,345,678 x 0.0705 = 870,370.299 -> 870,370
        (12_345_678, "0.0235", date(2021, 9, 1), Term.Y3, 870_370),
        # 5y, the 50 CNY minimum: 5,000 x 2.25% x 5 = 562.5 -> 563 (half-up)
        (5_000, "0.0225", date(2019, 12, 31), Term.Y5, 563),
    ],
)
def test_whole_terms(
    principal_fen: int, rate: str, value_date: date, term: Term, interest_fen: int
) -> None:
    holding = Holding(principal_fen, Decimal(rate), value_date, term)
    assert expected_interest(holding) == interest_fen
    payout = maturity_payout(holding, on=holding.maturity, demand_rate=Decimal("0.002"))
    assert payout.interest_fen == interest_fen
    assert len(payout.lines) == 1  # no days past maturity, no demand line


def test_day_count_conventions_differ_on_leftover_days() -> None:
    # 2024-01-01 .. 2024-07-16 is 6 months + 15 days, or 197 actual days
    # (31 + 29 + 31 + 30 + 31 + 30 + 15); 1,000,000 x 1.50% = 15,000 a year:
    # years/months/days: 15,000 x (6 x 30 + 15) / 360 = 15,000 x 195 / 360 = 8,125
    # actual/360: 15,000 x 197 / 360 = 8,208.33 -> 8,208
    # actual/365: 15,000 x 197 / 365 = 8,095.89 -> 8,096
    start, end, rate = date(2024, 1, 1), date(2024, 7, 16), Decimal("0.015")
    assert term_interest(1_000_000, rate, start, end, YMD) == 8_125
    assert term_interest(1_000_000, rate, start, end, DayCount.ACTUAL_360) == 8_208
    assert term_interest(1_000_000, rate, start, end, DayCount.ACTUAL_365) == 8_096


def test_leap_years() -> None:
    rate = Decimal("0.015")
    # value 2024-02-29 for 1y matures 2025-02-28: one whole year (365 days) -> 15,000 under
    # years/months/days and actual/365, but 15,000 x 365 / 360 = 15,208.33 -> 15,208 actual/360
    holding = Holding(1_000_000, rate, date(2024, 2, 29), Term.Y1)
    assert holding.maturity == date(2025, 2, 28)
    assert expected_interest(holding) == 15_000
    leap_year = (date(2024, 2, 29), date(2025, 2, 28))
    assert term_interest(1_000_000, rate, *leap_year, DayCount.ACTUAL_365) == 15_000
    assert term_interest(1_000_000, rate, *leap_year, DayCount.ACTUAL_360) == 15_208
    # 2023-03-01 .. 2024-03-01 spans Feb 29: 366 days; actual/365 gives
    # 15,000 x 366 / 365 = 15,041.10 -> 15,041, years/months/days still one year = 15,000
    assert term_interest(1_000_000, rate, date(2023, 3, 1), date(2024, 3, 1)) == 15_000
    assert (
        term_interest(1_000_000, rate, date(2023, 3, 1), date(2024, 3, 1), DayCount.ACTUAL_365)
        == 15_041
    )
    # 2023-03-31 + 11m = 2024-02-29: 11 whole months = 15,000 x 11 / 12 = 13,750
    assert term_interest(1_000_000, rate, date(2023, 3, 31), date(2024, 2, 29)) == 13_750
    # 2023-03-31 .. 2024-03-30: 11 months + 30 days = 360 units = exactly one year's 15,000
    assert term_interest(1_000_000, rate, date(2023, 3, 31), date(2024, 3, 30)) == 15_000


def test_rounding_happens_once_not_per_part() -> None:
    # 10,000.34 CNY at 1.50% from 2023-01-10 to 2024-02-11 = 1 year + 1 month + 1 day.
    # Once: 1,000,034 x 0.015 = 15,000.51 a year; x (360 + 30 + 1) / 360 = 16,292.22 -> 16,292.
    # Per part it would be 15,000.51 -> 15,001, 1,250.04 -> 1,250, 41.67 -> 42: 16,293 (wrong).
    assert term_interest(1_000_034, Decimal("0.015"), date(2023, 1, 10), date(2024, 2, 11)) == (
        16_292
    )


def test_interest_line_refuses_bad_input() -> None:
    with pytest.raises(InvalidPrincipal) as exc:
        interest_line(-1, Decimal("0.01"), date(2024, 1, 1), date(2024, 2, 1), YMD)
    assert exc.value.code == "invalid_principal"
    with pytest.raises(InvalidRate):
        interest_line(100, Decimal("-0.01"), date(2024, 1, 1), date(2024, 2, 1), YMD)
    with pytest.raises(InvalidPeriod):
        interest_line(100, Decimal("0.01"), date(2024, 2, 1), date(2024, 1, 1), YMD)
    with pytest.raises(InvalidPrincipal):
        Holding(0, Decimal("0.01"), date(2024, 1, 1), Term.Y1)


# One deposit used by the partial-withdrawal examples: 100,000 CNY for 1y at 1.65%, value date
# 2024-01-10. 2024-01-10 .. 2024-04-20 is 22 (Jan 10-31) + 29 + 31 + 19 = 101 actual days.
PARTIAL = Holding(10_000_000, Decimal("0.0165"), date(2024, 1, 10), Term.Y1)
DEMAND = Decimal("0.002")


def test_partial_early_withdrawal_then_the_rest_to_maturity() -> None:
    # 30,000 out on 2024-04-20 at demand 0.20%: 3,000,000 x 0.002 x 101 / 360 = 1,683.33 -> 1,683
    outcome = partial_early_withdrawal(
        PARTIAL, amount_fen=3_000_000, on=date(2024, 4, 20), demand_rate=DEMAND, minimum_fen=5_000
    )
    assert not outcome.closed
    assert outcome.payout.principal_fen == 3_000_000
    assert outcome.payout.interest_fen == 1_683
    assert outcome.payout.net_fen == 3_001_683
    assert outcome.payout.days == 101
    # the rest keeps rate, value date and maturity: 7,000,000 x 1.65% x 1 = 115,500
    rest = outcome.remaining
    assert rest is not None
    assert (rest.principal_fen, rest.annual_rate, rest.value_date, rest.maturity) == (
        7_000_000,
        Decimal("0.0165"),
        date(2024, 1, 10),
        date(2025, 1, 10),
    )
    assert rest.partial_withdrawn
    final = maturity_payout(rest, on=rest.maturity, demand_rate=DEMAND)
    assert final.interest_fen == 115_500
    assert outcome.payout.principal_fen + final.principal_fen == PARTIAL.principal_fen
    # only one partial withdrawal per deposit
    with pytest.raises(PartialWithdrawalAlreadyUsed) as exc:
        partial_early_withdrawal(
            rest, amount_fen=100_000, on=date(2024, 5, 1), demand_rate=DEMAND, minimum_fen=5_000
        )
    assert exc.value.code == "partial_withdrawal_already_used"


def test_partial_leaving_less_than_the_minimum_is_refused_or_closes() -> None:
    # 100 CNY deposit, 60 CNY out would leave 40 CNY < 50 CNY minimum
    small = Holding(10_000, Decimal("0.0165"), date(2024, 1, 10), Term.Y1)
    request = {"amount_fen": 6_000, "on": date(2024, 4, 20), "demand_rate": DEMAND}
    with pytest.raises(RemainingBelowMinimum) as exc:
        partial_early_withdrawal(small, minimum_fen=5_000, **request)  # type: ignore[arg-type]
    assert exc.value.code == "remaining_below_minimum"
    # CLOSE converts it to a full early withdrawal: 10,000 x 0.002 x 101 / 360 = 5.61 -> 6 fen
    outcome = partial_early_withdrawal(
        small,
        minimum_fen=5_000,
        below_minimum=BelowMinimum.CLOSE,
        **request,  # type: ignore[arg-type]
    )
    assert outcome.closed
    assert outcome.remaining is None
    assert (outcome.payout.principal_fen, outcome.payout.interest_fen) == (10_000, 6)


@pytest.mark.parametrize("amount_fen", [0, -1, 10_000_001])
def test_partial_amount_must_be_some_of_the_principal(amount_fen: int) -> None:
    with pytest.raises(InvalidWithdrawalAmount) as exc:
        partial_early_withdrawal(
            PARTIAL, amount_fen=amount_fen, on=date(2024, 4, 20), demand_rate=DEMAND, minimum_fen=1
        )
    assert exc.value.code == "invalid_withdrawal_amount"


def test_early_withdrawal_must_be_between_value_date_and_maturity() -> None:
    with pytest.raises(NotBeforeMaturity) as exc:
        full_early_withdrawal(PARTIAL, on=date(2025, 1, 10), demand_rate=DEMAND)
    assert exc.value.code == "not_before_maturity"
    with pytest.raises(NotBeforeMaturity):
        partial_early_withdrawal(
            PARTIAL, amount_fen=1, on=date(2025, 2, 1), demand_rate=DEMAND, minimum_fen=1
        )
    with pytest.raises(InvalidPeriod):
        full_early_withdrawal(PARTIAL, on=date(2024, 1, 9), demand_rate=DEMAND)
    # the same day it opened: no days, no interest
    assert full_early_withdrawal(PARTIAL, on=date(2024, 1, 10), demand_rate=DEMAND).net_fen == (
        10_000_000
    )


def test_after_maturity_extra_days_earn_the_demand_rate() -> None:
    # 10,000 CNY 1y at 1.50% from 2023-06-15, collected 2024-07-15 (30 days late) at demand 0.20%:
    # term 1,000,000 x 0.015 = 15,000; extra 1,000,000 x 0.002 x 30 / 360 = 166.67 -> 167
    holding = Holding(1_000_000, Decimal("0.015"), date(2023, 6, 15), Term.Y1)
    payout = maturity_payout(holding, on=date(2024, 7, 15), demand_rate=DEMAND)
    term, extra = payout.lines
    assert (term.interest_fen, term.annual_rate, term.end) == (
        15_000,
        Decimal("0.015"),
        holding.maturity,
    )
    assert (extra.interest_fen, extra.days, extra.day_count) == (167, 30, DayCount.ACTUAL_360)
    assert payout.interest_fen == 15_167
    assert payout.net_fen == 1_015_167
    assert payout.days == 396
    with pytest.raises(NotYetMatured) as exc:
        maturity_payout(holding, on=date(2024, 6, 14), demand_rate=DEMAND)
    assert exc.value.code == "not_yet_matured"


RATES_3M = RateHistory(
    [
        (date(2023, 9, 1), Decimal("0.0125")),
        (date(2024, 2, 1), Decimal("0.0115")),
        (date(2024, 5, 1), Decimal("0.0105")),
        (date(2024, 7, 25), Decimal("0.0095")),
    ]
)


def test_rollover_chain_for_a_catch_up_run() -> None:
    # 10,000 CNY for 3m at 1.25% from 2023-11-30:
    # 1) matures 2024-02-29: 1,000,000 x 0.0125 / 4 = 3,125; renews 1,003,125 at 1.15%
    # 2) matures 2024-05-29: 1,003,125 x 0.0115 / 4 = 2,883.98 -> 2,884; renews 1,006,009 at 1.05%
    # 3) matures 2024-08-29: 1,006,009 x 0.0105 / 4 = 2,640.77 -> 2,641; renews 1,008,650 at 0.95%
    # the next maturity, 2024-11-29, is after the run date 2024-09-30
    holding = Holding(1_000_000, Decimal("0.0125"), date(2023, 11, 30), Term.M3)
    chain = rollover(holding, until=date(2024, 9, 30), rate_on=RATES_3M)
    assert [s.payout.interest_fen for s in chain.steps] == [3_125, 2_884, 2_641]
    assert [s.renewed.value_date for s in chain.steps] == [
        date(2024, 2, 29),
        date(2024, 5, 29),  # a new deposit dated the 29th, so the 30th is not restored
        date(2024, 8, 29),
    ]
    assert [s.renewed.principal_fen for s in chain.steps] == [1_003_125, 1_006_009, 1_008_650]
    assert chain.steps[0].matured is holding
    assert chain.current == chain.steps[-1].renewed
    assert (chain.current.annual_rate, chain.current.maturity) == (
        Decimal("0.0095"),
        date(2024, 11, 29),
    )


def test_rollover_reopens_partial_withdrawal_and_rolls_net_of_tax() -> None:
    # 1,000,000 x 1.25% / 4 = 3,125 interest, 20% tax = 625, so 1,002,500 rolls over
    holding = Holding(
        1_000_000, Decimal("0.0125"), date(2023, 11, 30), Term.M3, partial_withdrawn=True
    )
    chain = rollover(holding, until=date(2024, 2, 29), rate_on=RATES_3M, tax=PRE_2007_TAX)
    (step,) = chain.steps
    assert (step.payout.tax_fen, step.renewed.principal_fen) == (625, 1_002_500)
    assert not chain.current.partial_withdrawn


def test_rollover_before_maturity_does_nothing_and_missing_rates_surface() -> None:
    holding = Holding(1_000_000, Decimal("0.0125"), date(2023, 11, 30), Term.M3)
    chain = rollover(holding, until=date(2024, 2, 28), rate_on=RATES_3M)
    assert chain.steps == ()
    assert chain.current is holding
    with pytest.raises(RateNotPosted):
        rollover(holding, until=date(2024, 3, 1), rate_on=RateHistory([]))


def test_accrued_and_expected_interest_for_the_holdings_view() -> None:
    # contract rate, years/months/days: 2024-01-10 .. 2024-04-20 is 3 months + 10 days:
    # 10,000,000 x 0.0165 x (3 x 30 + 10) / 360 = 165,000 x 100 / 360 = 45,833.33 -> 45,833
    assert accrued_interest(PARTIAL, date(2024, 4, 20)) == 45_833
    assert accrued_interest(PARTIAL, date(2024, 1, 10)) == 0
    # capped at maturity: 10,000,000 x 0.0165 = 165,000
    assert accrued_interest(PARTIAL, date(2026, 1, 1)) == expected_interest(PARTIAL) == 165_000


def test_tax_hook() -> None:
    assert NO_INTEREST_TAX(13_333, paid_on=date(2022, 1, 15)) == 0
    # 20%: 13,333 x 0.20 = 2,666.6 -> 2,667; net 5,000,000 + 13,333 - 2,667 = 5,010,666
    holding = Holding(5_000_000, Decimal("0.0175"), date(2021, 3, 1), Term.Y1)
    payout = full_early_withdrawal(
        holding, on=date(2022, 1, 15), demand_rate=Decimal("0.003"), tax=PRE_2007_TAX
    )
    assert (payout.interest_fen, payout.tax_fen, payout.net_fen) == (13_333, 2_667, 5_010_666)
    # half-up on an exact half: 13,330 x 5% = 666.5 -> 667
    assert FlatRateTax(Decimal("0.05"))(13_330, paid_on=date(2008, 1, 1)) == 667
    # tax is on the total interest of a payout: 20% of (15,000 + 167) = 3,033.4 -> 3,033
    late = Holding(1_000_000, Decimal("0.015"), date(2023, 6, 15), Term.Y1)
    paid = maturity_payout(late, on=date(2024, 7, 15), demand_rate=DEMAND, tax=PRE_2007_TAX)
    assert paid.tax_fen == 3_033
    with pytest.raises(InvalidRate):
        FlatRateTax(Decimal("20"))
