"""Invariants of the interest engine, checked against an exact Fraction reference."""

from __future__ import annotations

import calendar
import math
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from greenbank.deposits.domain import (
    BelowMinimum,
    DayCount,
    Term,
    add_months,
    breakdown,
    maturity_date,
)
from greenbank.deposits.interest import (
    FlatRateTax,
    Holding,
    RemainingBelowMinimum,
    accrued_interest,
    expected_interest,
    full_early_withdrawal,
    maturity_payout,
    partial_early_withdrawal,
    rollover,
    term_interest,
)

dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
spans = st.integers(min_value=0, max_value=3_700)  # up to ten years
rates = st.decimals(min_value=0, max_value=Decimal("0.2"), places=6)
principals = st.integers(min_value=0, max_value=10**12)
conventions = st.sampled_from(DayCount)
terms = st.sampled_from(Term)
taxes = st.sampled_from([FlatRateTax(Decimal(0)), FlatRateTax(Decimal("0.2"))])


def _half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2))


def _anniversary(start: date, months: int) -> date:
    year = start.year + (start.month - 1 + months) // 12
    month = (start.month - 1 + months) % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def _reference_interest(
    principal: int, rate: Decimal, start: date, end: date, convention: DayCount
) -> int:
    """Exact rational arithmetic; whole months found by walking anniversaries one by one."""
    if convention is DayCount.YEARS_MONTHS_DAYS:
        months = 0
        while _anniversary(start, months + 1) <= end:
            months += 1
        leftover = (end - _anniversary(start, months)).days
        year_fraction = Fraction(months, 12) + Fraction(leftover, 360)
    else:
        basis = 360 if convention is DayCount.ACTUAL_360 else 365
        year_fraction = Fraction((end - start).days, basis)
    return _half_up(principal * Fraction(rate) * year_fraction)


@given(principals, rates, dates, spans, conventions)
def test_interest_is_exact_then_rounded_once_and_never_negative(
    principal: int, rate: Decimal, start: date, span: int, convention: DayCount
) -> None:
    end = start + timedelta(days=span)
    interest = term_interest(principal, rate, start, end, convention)
    assert interest == _reference_interest(principal, rate, start, end, convention)
    assert interest >= 0


@given(principals, rates, dates, spans, spans, conventions)
def test_interest_does_not_decrease_with_more_days(
    principal: int, rate: Decimal, start: date, a: int, b: int, convention: DayCount
) -> None:
    short, long = sorted((a, b))
    assert term_interest(
        principal, rate, start, start + timedelta(days=short), convention
    ) <= term_interest(principal, rate, start, start + timedelta(days=long), convention)


@given(principals, principals, rates, dates, spans, conventions)
def test_interest_does_not_decrease_with_more_principal(
    p: int, q: int, rate: Decimal, start: date, span: int, convention: DayCount
) -> None:
    small, large = sorted((p, q))
    end = start + timedelta(days=span)
    assert term_interest(small, rate, start, end, convention) <= term_interest(
        large, rate, start, end, convention
    )


@given(dates, terms)
def test_maturity_is_after_the_value_date_on_no_later_day_of_month(
    value_date: date, term: Term
) -> None:
    maturity = maturity_date(value_date, term)
    assert maturity > value_date
    assert maturity.day <= value_date.day
    elapsed = (maturity.year - value_date.year) * 12 + maturity.month - value_date.month
    assert elapsed == term.months
    # a whole term is exactly the term's months, no leftover days
    parts = breakdown(value_date, maturity)
    assert (parts.total_months, parts.days) == (term.months, 0)


@given(dates, spans)
def test_breakdown_takes_the_most_whole_months(start: date, span: int) -> None:
    end = start + timedelta(days=span)
    parts = breakdown(start, end)
    assert 0 <= parts.months < 12
    assert 0 <= parts.days <= 30
    assert add_months(start, parts.total_months) + timedelta(days=parts.days) == end
    assert add_months(start, parts.total_months + 1) > end


@st.composite
def partial_then_close(draw: st.DrawFn) -> tuple[Holding, int, date, date, BelowMinimum, int]:
    holding = Holding(
        draw(st.integers(min_value=5_000, max_value=10**10)),
        draw(rates),
        draw(dates),
        draw(terms),
        draw(conventions),
    )
    term_days = (holding.maturity - holding.value_date).days
    partial_on = holding.value_date + timedelta(days=draw(st.integers(0, term_days - 1)))
    close_on = partial_on + timedelta(days=draw(st.integers(0, 2 * term_days)))
    amount = draw(st.integers(min_value=1, max_value=holding.principal_fen))
    return (
        holding,
        amount,
        partial_on,
        close_on,
        draw(st.sampled_from(BelowMinimum)),
        draw(st.integers(min_value=1, max_value=5_000)),
    )


@given(partial_then_close(), rates, taxes)
def test_principal_is_conserved_across_partial_and_final_withdrawals(
    case: tuple[Holding, int, date, date, BelowMinimum, int], demand: Decimal, tax: FlatRateTax
) -> None:
    holding, amount, partial_on, close_on, policy, minimum = case
    try:
        outcome = partial_early_withdrawal(
            holding,
            amount_fen=amount,
            on=partial_on,
            demand_rate=demand,
            minimum_fen=minimum,
            below_minimum=policy,
            tax=tax,
        )
    except RemainingBelowMinimum:
        assert policy is BelowMinimum.REFUSE
        assert holding.principal_fen - amount < minimum
        return
    payouts = [outcome.payout]
    if outcome.remaining is not None:
        rest = outcome.remaining
        if close_on < rest.maturity:
            payouts.append(full_early_withdrawal(rest, on=close_on, demand_rate=demand, tax=tax))
        else:
            payouts.append(maturity_payout(rest, on=close_on, demand_rate=demand, tax=tax))
    assert sum(p.principal_fen for p in payouts) == holding.principal_fen
    for p in payouts:
        assert 0 <= p.tax_fen <= p.interest_fen
        assert p.net_fen == p.principal_fen + p.interest_fen - p.tax_fen


@given(
    st.integers(min_value=5_000, max_value=10**10),
    rates,
    dates,
    terms,
    st.one_of(st.none(), st.integers(0, 4_000)),
    rates,
    taxes,
)
def test_rollover_chain_is_continuous(
    principal: int,
    rate: Decimal,
    value_date: date,
    term: Term,
    span: int | None,
    renewal_rate: Decimal,
    tax: FlatRateTax,
) -> None:
    holding = Holding(principal, rate, value_date, term)
    # None: run exactly on the first maturity, the boundary a catch-up run must include
    until = holding.maturity if span is None else value_date + timedelta(days=span)
    chain = rollover(holding, until=until, rate_on=lambda _day: renewal_rate, tax=tax)
    previous = holding
    for step in chain.steps:
        assert step.matured == previous
        assert step.renewed.value_date == step.matured.maturity <= until
        assert step.renewed.term is term
        assert step.renewed.principal_fen == step.payout.net_fen >= step.matured.principal_fen
        previous = step.renewed
    assert chain.current == previous
    assert chain.current.maturity > until


@given(
    st.integers(min_value=5_000, max_value=10**10), rates, dates, terms, conventions, spans, spans
)
def test_accrued_interest_grows_to_the_expected_interest(
    principal: int, rate: Decimal, value_date: date, term: Term, day_count: DayCount, a: int, b: int
) -> None:
    holding = Holding(principal, rate, value_date, term, day_count)
    early, late = (value_date + timedelta(days=d) for d in sorted((a, b)))
    assert 0 <= accrued_interest(holding, early) <= accrued_interest(holding, late)
    assert accrued_interest(holding, late) <= expected_interest(holding)


@given(st.integers(min_value=0, max_value=10**12), st.decimals(0, Decimal("0.5"), places=4))
def test_flat_tax_is_rounded_half_up_once(interest: int, rate: Decimal) -> None:
    tax = FlatRateTax(rate)(interest, paid_on=date(2007, 1, 1))
    assert tax == _half_up(interest * Fraction(rate))
    assert 0 <= tax <= interest
