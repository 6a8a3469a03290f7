"""Pure rules for time-deposit products: terms, products, amounts, dates and posted rates.

Sources are in docs/domain-rules.md ("Time deposits"): maturity is the same day-of-month or the
month's last day; days are counted 算头不算尾 (the first day counts, the last does not); the rate
posted on the opening date holds for the whole term. Rates are annual rates as ``Decimal``
fractions (1.50% is ``Decimal("0.015")``; ``percent("1.50")`` converts), money is integer fen.
"""

from __future__ import annotations

import bisect
import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum

from greenbank.errors import Conflict, NotFound, ValidationFailed

FEN_PER_YUAN = 100
TIME_DEPOSIT_MINIMUM_FEN = 50 * FEN_PER_YUAN
LARGE_CD_MINIMUM_FEN = (
    200_000 * FEN_PER_YUAN
)  # individuals; the floor a CD product may not undercut


class InvalidTerm(ValidationFailed):
    code = "invalid_term"
    title = "Not a deposit term"


class TermNotOffered(ValidationFailed):
    code = "term_not_offered"
    title = "The product does not offer this term"


class InvalidProduct(ValidationFailed):
    code = "invalid_product"
    title = "The product settings are not consistent"


class InvalidRate(ValidationFailed):
    code = "invalid_rate"
    title = "Not a valid annual interest rate"


class InvalidPeriod(ValidationFailed):
    code = "invalid_period"
    title = "The period ends before it starts"


class AmountBelowMinimum(ValidationFailed):
    code = "amount_below_minimum"
    title = "Amount is below the product minimum"


class AmountAboveMaximum(ValidationFailed):
    code = "amount_above_maximum"
    title = "Amount is above the product maximum"


class AmountNotMultipleOfStep(ValidationFailed):
    code = "amount_not_multiple_of_step"
    title = "Amount is not the minimum plus a whole number of steps"


class DuplicateRatePosting(Conflict):
    code = "duplicate_rate_posting"
    title = "Two different rates are posted effective from the same day"


class RateNotPosted(NotFound):
    code = "rate_not_posted"
    title = "No rate was posted on or before this day"


class Term(Enum):
    """A deposit term, valued in months (years are 12 months: maturity uses the same rule)."""

    M1 = 1
    M3 = 3
    M6 = 6
    M9 = 9
    Y1 = 12
    M18 = 18
    Y2 = 24
    Y3 = 36
    Y5 = 60

    @property
    def months(self) -> int:
        return self.value

    @property
    def label(self) -> str:
        """'3m', '1y', '18m': whole years are written in years."""
        years, months = divmod(self.value, 12)
        return f"{years}y" if years and not months else f"{self.value}m"

    @classmethod
    def parse(cls, label: str) -> Term:
        for term in cls:
            if term.label == label.strip().lower():
                return term
        raise InvalidTerm(f"{label!r} is not one of {', '.join(t.label for t in cls)}")


class ProductKind(Enum):
    TIME_DEPOSIT = "time_deposit"  # 整存整取
    LARGE_CD = "large_cd"  # 大额存单

    @property
    def allowed_terms(self) -> frozenset[Term]:
        if self is ProductKind.TIME_DEPOSIT:
            return frozenset({Term.M3, Term.M6, Term.Y1, Term.Y2, Term.Y3, Term.Y5})
        return frozenset(Term)


class DayCount(Enum):
    """How a period is turned into a fraction of a year (a product setting).

    YEARS_MONTHS_DAYS is the formula banks publish for 整存整取 (domain rules): whole years at the
    annual rate, whole months at annual/12, leftover days at annual/360. Early withdrawal pays
    actual days / 360 at the demand rate (domain rules, Art. 24) whatever this setting says, and
    days past maturity use the same basis. ACTUAL_360 and ACTUAL_365 are alternative settings for
    the term interest; the domain rules name no bank that uses either for it.
    """

    YEARS_MONTHS_DAYS = "years_months_days"
    ACTUAL_360 = "actual_360"
    ACTUAL_365 = "actual_365"


class BelowMinimum(Enum):
    """What a partial withdrawal does when the rest would fall below the product minimum."""

    REFUSE = "refuse"  # raise RemainingBelowMinimum; the customer may then withdraw in full
    CLOSE = "close"  # convert the request into a full early withdrawal


@dataclass(frozen=True, slots=True)
class DepositProduct:
    """The settings of one product; amounts are fen. ``maximum_fen=None`` means no maximum."""

    kind: ProductKind
    terms: frozenset[Term]
    minimum_fen: int
    step_fen: int = FEN_PER_YUAN
    maximum_fen: int | None = None
    day_count: DayCount = DayCount.YEARS_MONTHS_DAYS
    below_minimum: BelowMinimum = BelowMinimum.REFUSE

    def __post_init__(self) -> None:
        if not self.terms:
            raise InvalidProduct("a product offers at least one term")
        if not self.terms <= self.kind.allowed_terms:
            extra = sorted(t.label for t in self.terms - self.kind.allowed_terms)
            raise InvalidProduct(f"{self.kind.value} does not offer {', '.join(extra)}")
        if self.minimum_fen <= 0 or self.step_fen <= 0:
            raise InvalidProduct("minimum and step must be positive")
        if self.kind is ProductKind.LARGE_CD and self.minimum_fen < LARGE_CD_MINIMUM_FEN:
            raise InvalidProduct("a large CD for individuals starts at 200,000 CNY")
        if self.maximum_fen is not None and self.maximum_fen < self.minimum_fen:
            raise InvalidProduct("maximum is below minimum")

    def require_term(self, term: Term) -> None:
        if term not in self.terms:
            raise TermNotOffered(f"{term.label} is not offered", term=term.label)

    def validate_amount(self, amount_fen: int) -> None:
        validate_amount(
            amount_fen,
            minimum_fen=self.minimum_fen,
            maximum_fen=self.maximum_fen,
            step_fen=self.step_fen,
        )


def validate_amount(
    amount_fen: int, *, minimum_fen: int, maximum_fen: int | None, step_fen: int
) -> None:
    """Check an opening amount: at least the minimum, at most the maximum, minimum + k x step.

    Steps count from the minimum (起存 200,000, 以 10,000 递增), which for a 50 CNY minimum and a
    1 CNY step is the same as whole yuan.
    """
    if amount_fen < minimum_fen:
        raise AmountBelowMinimum(amount_fen=amount_fen, minimum_fen=minimum_fen)
    if maximum_fen is not None and amount_fen > maximum_fen:
        raise AmountAboveMaximum(amount_fen=amount_fen, maximum_fen=maximum_fen)
    if (amount_fen - minimum_fen) % step_fen:
        raise AmountNotMultipleOfStep(amount_fen=amount_fen, step_fen=step_fen)


def percent(text: str) -> Decimal:
    """'1.50' (as posted, in percent) -> Decimal('0.0150'), the fraction the engine uses."""
    try:
        value = Decimal(text.strip()) / 100
    except InvalidOperation as exc:
        raise InvalidRate(f"{text!r} is not a percentage") from exc
    return check_rate(value)


def check_rate(rate: Decimal) -> Decimal:
    """Refuse non-finite, negative and >= 100% rates (the last catches percent/fraction mix-ups)."""
    if not rate.is_finite() or not Decimal(0) <= rate < Decimal(1):
        raise InvalidRate(f"{rate} is not an annual rate between 0 and 1", rate=str(rate))
    return rate


def add_months(start: date, months: int) -> date:
    """Same day-of-month ``months`` later; the month's last day when that day does not exist."""
    index = start.year * 12 + start.month - 1 + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(start.day, last))


def maturity_date(value_date: date, term: Term) -> date:
    """2024-01-31 + 1m -> 2024-02-29; 2020-02-29 + 1y -> 2021-02-28."""
    return add_months(value_date, term.months)


def days_held(start: date, end: date) -> int:
    """算头不算尾: the first day counts, the last does not, so it is the plain difference."""
    if end < start:
        raise InvalidPeriod(f"{end} is before {start}", start=start.isoformat())
    return (end - start).days


@dataclass(frozen=True, slots=True)
class Breakdown:
    """A period as whole years, whole months and leftover days (months < 12)."""

    years: int
    months: int
    days: int

    @property
    def total_months(self) -> int:
        return self.years * 12 + self.months


def breakdown(start: date, end: date) -> Breakdown:
    """Split [start, end) into the most whole months (counted like maturity) plus leftover days.

    Month anniversaries are always taken from ``start`` (not chained), so 2023-03-31 -> 2024-02-29
    is exactly 11 months and 2024-01-31 -> 2024-02-29 exactly one.
    """
    days_held(start, end)
    months = (end.year - start.year) * 12 + end.month - start.month
    if add_months(start, months) > end:
        months -= 1
    years, rest = divmod(months, 12)
    return Breakdown(years, rest, (end - add_months(start, months)).days)


class RateHistory:
    """Posted rates for one product and term; calling it gives the rate in force on a day.

    The rate on a day is the one with the latest ``effective_from`` on or before that day, so an
    instance can be passed wherever a ``rate_on(day) -> Decimal`` callable is expected.
    """

    __slots__ = ("_days", "_rates")

    def __init__(self, postings: Iterable[tuple[date, Decimal]]) -> None:
        merged: dict[date, Decimal] = {}
        for effective_from, rate in postings:
            check_rate(rate)
            if merged.setdefault(effective_from, rate) != rate:
                raise DuplicateRatePosting(effective_from=effective_from.isoformat())
        self._days = sorted(merged)
        self._rates = [merged[day] for day in self._days]

    def __call__(self, day: date) -> Decimal:
        index = bisect.bisect_right(self._days, day)
        if index == 0:
            raise RateNotPosted(f"no rate in force on {day}", day=day.isoformat())
        return self._rates[index - 1]
