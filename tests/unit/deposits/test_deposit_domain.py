"""Terms, products, amounts, maturity dates, period breakdown and posted rates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from greenbank.deposits.domain import (
    LARGE_CD_MINIMUM_FEN,
    TIME_DEPOSIT_MINIMUM_FEN,
    AmountAboveMaximum,
    AmountBelowMinimum,
    AmountNotMultipleOfStep,
    Breakdown,
    DepositProduct,
    DuplicateRatePosting,
    InvalidPeriod,
    InvalidProduct,
    InvalidRate,
    InvalidTerm,
    ProductKind,
    RateHistory,
    RateNotPosted,
    Term,
    TermNotOffered,
    add_months,
    breakdown,
    check_rate,
    days_held,
    maturity_date,
    percent,
    validate_amount,
)

TIME_DEPOSIT = DepositProduct(
    kind=ProductKind.TIME_DEPOSIT,
    terms=frozenset({Term.M3, Term.Y1}),
    minimum_fen=TIME_DEPOSIT_MINIMUM_FEN,
    step_fen=100,
)
LARGE_CD = DepositProduct(
    kind=ProductKind.LARGE_CD,
    terms=frozenset({Term.M1, Term.M18}),
    minimum_fen=LARGE_CD_MINIMUM_FEN,
    step_fen=1_000_000,  # 10,000 CNY steps
    maximum_fen=100_000_000,
)


def test_terms_are_months_with_short_labels() -> None:
    assert [t.months for t in Term] == [1, 3, 6, 9, 12, 18, 24, 36, 60]
    assert [t.label for t in Term] == ["1m", "3m", "6m", "9m", "1y", "18m", "2y", "3y", "5y"]
    assert Term.parse(" 1Y ") is Term.Y1
    assert Term.parse("18m") is Term.M18
    with pytest.raises(InvalidTerm) as exc:
        Term.parse("12m")  # a year is written 1y
    assert exc.value.code == "invalid_term"


def test_time_deposits_offer_the_six_classic_terms_and_cds_all_nine() -> None:
    assert {t.label for t in ProductKind.TIME_DEPOSIT.allowed_terms} == {
        "3m",
        "6m",
        "1y",
        "2y",
        "3y",
        "5y",
    }
    assert ProductKind.LARGE_CD.allowed_terms == frozenset(Term)
    TIME_DEPOSIT.require_term(Term.Y1)
    LARGE_CD.require_term(Term.M18)
    with pytest.raises(TermNotOffered) as exc:
        TIME_DEPOSIT.require_term(Term.M6)  # allowed for the kind, not offered by this product
    assert exc.value.code == "term_not_offered"


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"kind": ProductKind.TIME_DEPOSIT, "terms": frozenset()}, "at least one term"),
        ({"kind": ProductKind.TIME_DEPOSIT, "terms": frozenset({Term.M1})}, "does not offer 1m"),
        ({"kind": ProductKind.LARGE_CD, "minimum_fen": LARGE_CD_MINIMUM_FEN - 1}, "200,000"),
        ({"step_fen": 0}, "positive"),
        ({"minimum_fen": 0}, "positive"),
        ({"maximum_fen": TIME_DEPOSIT_MINIMUM_FEN - 1}, "maximum is below minimum"),
    ],
)
def test_inconsistent_products_are_refused(kwargs: dict[str, object], reason: str) -> None:
    settings: dict[str, object] = {
        "kind": ProductKind.TIME_DEPOSIT,
        "terms": frozenset({Term.Y1}),
        "minimum_fen": TIME_DEPOSIT_MINIMUM_FEN,
    }
    with pytest.raises(InvalidProduct, match=reason) as exc:
        DepositProduct(**{**settings, **kwargs})  # type: ignore[arg-type]
    assert exc.value.code == "invalid_product"


@pytest.mark.parametrize(
    ("product", "amount_fen", "error", "code"),
    [
        (TIME_DEPOSIT, 4_999, AmountBelowMinimum, "amount_below_minimum"),  # 49.99 < 50
        (TIME_DEPOSIT, 5_050, AmountNotMultipleOfStep, "amount_not_multiple_of_step"),  # 50.50
        (LARGE_CD, 19_999_900, AmountBelowMinimum, "amount_below_minimum"),
        (LARGE_CD, 20_500_000, AmountNotMultipleOfStep, "amount_not_multiple_of_step"),  # 205k
        (LARGE_CD, 101_000_000, AmountAboveMaximum, "amount_above_maximum"),
    ],
)
def test_amounts_outside_the_product_rules_are_refused_with_codes(
    product: DepositProduct, amount_fen: int, error: type[Exception], code: str
) -> None:
    with pytest.raises(error) as exc:
        product.validate_amount(amount_fen)
    assert getattr(exc.value, "code", None) == code


@pytest.mark.parametrize(
    ("product", "amount_fen"),
    [
        (TIME_DEPOSIT, 5_000),
        (TIME_DEPOSIT, 1_234_500),  # no maximum
        (LARGE_CD, 20_000_000),
        (LARGE_CD, 21_000_000),  # 200,000 + one 10,000 step
        (LARGE_CD, 100_000_000),
    ],
)
def test_amounts_within_the_product_rules_pass(product: DepositProduct, amount_fen: int) -> None:
    product.validate_amount(amount_fen)


def test_steps_count_from_the_minimum() -> None:
    # minimum 200 CNY, step 30 CNY: 230 is one step, 260 two; 240 is a multiple of 30 only
    # when counted from zero, so it is refused.
    validate_amount(23_000, minimum_fen=20_000, maximum_fen=None, step_fen=3_000)
    with pytest.raises(AmountNotMultipleOfStep):
        validate_amount(24_000, minimum_fen=20_000, maximum_fen=None, step_fen=3_000)


@pytest.mark.parametrize(
    ("value_date", "term", "maturity"),
    [
        (date(2024, 1, 15), Term.M1, date(2024, 2, 15)),
        (date(2024, 1, 31), Term.M1, date(2024, 2, 29)),  # leap February
        (date(2023, 1, 31), Term.M1, date(2023, 2, 28)),
        (date(2020, 2, 29), Term.Y1, date(2021, 2, 28)),
        (date(2024, 2, 29), Term.Y1, date(2025, 2, 28)),
        (date(2024, 2, 29), Term.Y2, date(2026, 2, 28)),
        (date(2024, 2, 29), Term.Y5, date(2029, 2, 28)),
        (date(2023, 8, 31), Term.M6, date(2024, 2, 29)),
        (date(2023, 5, 31), Term.M9, date(2024, 2, 29)),
        (date(2024, 3, 31), Term.M3, date(2024, 6, 30)),
        (date(2023, 12, 31), Term.M18, date(2025, 6, 30)),
        (date(2023, 11, 30), Term.M3, date(2024, 2, 29)),
        (date(2024, 12, 31), Term.Y3, date(2027, 12, 31)),
    ],
)
def test_maturity_is_the_same_day_or_the_months_last_day(
    value_date: date, term: Term, maturity: date
) -> None:
    assert maturity_date(value_date, term) == maturity


def test_add_months_crosses_years_both_ways() -> None:
    assert add_months(date(2023, 3, 31), 11) == date(2024, 2, 29)
    assert add_months(date(2024, 11, 30), 3) == date(2025, 2, 28)
    assert add_months(date(2024, 3, 31), -1) == date(2024, 2, 29)


def test_days_count_the_first_day_not_the_last() -> None:
    # 2021-03-01 .. 2022-01-15: Mar 31 + Apr 30 + May 31 + Jun 30 + Jul 31 + Aug 31 + Sep 30
    # + Oct 31 + Nov 30 + Dec 31 = 306, plus 14 days of January = 320
    assert days_held(date(2021, 3, 1), date(2022, 1, 15)) == 320
    assert days_held(date(2024, 5, 5), date(2024, 5, 5)) == 0
    assert days_held(date(2024, 5, 5), date(2024, 5, 6)) == 1
    with pytest.raises(InvalidPeriod) as exc:
        days_held(date(2024, 5, 6), date(2024, 5, 5))
    assert exc.value.code == "invalid_period"


@pytest.mark.parametrize(
    ("start", "end", "parts"),
    [
        (date(2024, 1, 1), date(2024, 7, 16), Breakdown(0, 6, 15)),
        (date(2024, 1, 31), date(2024, 2, 29), Breakdown(0, 1, 0)),
        (date(2024, 1, 31), date(2024, 2, 28), Breakdown(0, 0, 28)),
        # Mar 31 is not reached, so one month to Feb 29 plus 30 days
        (date(2024, 1, 31), date(2024, 3, 30), Breakdown(0, 1, 30)),
        (date(2023, 3, 31), date(2024, 2, 29), Breakdown(0, 11, 0)),
        (date(2023, 3, 31), date(2024, 3, 30), Breakdown(0, 11, 30)),
        (date(2020, 2, 29), date(2021, 2, 28), Breakdown(1, 0, 0)),
        (date(2023, 1, 10), date(2024, 2, 11), Breakdown(1, 1, 1)),
        (date(2019, 6, 30), date(2024, 6, 30), Breakdown(5, 0, 0)),
        (date(2024, 6, 30), date(2024, 6, 30), Breakdown(0, 0, 0)),
    ],
)
def test_breakdown_into_years_months_days(start: date, end: date, parts: Breakdown) -> None:
    assert breakdown(start, end) == parts


def test_breakdown_refuses_a_reversed_period() -> None:
    with pytest.raises(InvalidPeriod):
        breakdown(date(2024, 2, 1), date(2024, 1, 31))


def test_percent_and_rate_checks() -> None:
    assert percent("1.50") == Decimal("0.015")
    assert percent(" 0.3 ") == Decimal("0.003")
    for bad in ("abc", "-0.1", "100", "NaN"):
        with pytest.raises(InvalidRate) as exc:
            percent(bad)
        assert exc.value.code == "invalid_rate"
    with pytest.raises(InvalidRate):
        check_rate(Decimal("1.50"))  # a percentage passed where a fraction belongs
    assert check_rate(Decimal(0)) == 0


def test_rate_history_gives_the_latest_posting_on_or_before_the_day() -> None:
    history = RateHistory(
        [
            (date(2024, 7, 25), Decimal("0.0095")),
            (date(2023, 9, 1), Decimal("0.0125")),  # order of input does not matter
            (date(2024, 2, 1), Decimal("0.0115")),
            (date(2024, 2, 1), Decimal("0.0115")),  # an identical repeat is harmless
        ]
    )
    assert history(date(2023, 9, 1)) == Decimal("0.0125")
    assert history(date(2024, 1, 31)) == Decimal("0.0125")
    assert history(date(2024, 2, 1)) == Decimal("0.0115")
    assert history(date(2024, 7, 24)) == Decimal("0.0115")
    assert history(date(2030, 1, 1)) == Decimal("0.0095")
    with pytest.raises(RateNotPosted) as exc:
        history(date(2023, 8, 31))
    assert exc.value.code == "rate_not_posted"
    assert exc.value.status == 404


def test_rate_history_refuses_conflicting_and_invalid_postings() -> None:
    with pytest.raises(DuplicateRatePosting) as exc:
        RateHistory([(date(2024, 1, 1), Decimal("0.01")), (date(2024, 1, 1), Decimal("0.02"))])
    assert exc.value.code == "duplicate_rate_posting"
    with pytest.raises(InvalidRate):
        RateHistory([(date(2024, 1, 1), Decimal("1.5"))])
    with pytest.raises(RateNotPosted):
        RateHistory([])(date(2024, 1, 1))
