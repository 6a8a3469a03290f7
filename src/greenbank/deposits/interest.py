"""The interest engine: pure functions from a holding, dates and posted rates to fen.

Each interest line (one principal, one rate, one period) is computed exactly and rounded half-up
to the fen once, at the end; tax is a second, separate calculation on the rounded interest, also
rounded once. Rules (docs/domain-rules.md, 储蓄管理条例): the opening rate holds for the whole term
(Art. 26), simple interest; early withdrawal earns the demand rate posted on the withdrawal day,
actual/360, and one partial withdrawal is allowed (Art. 24); days past maturity earn that day's
demand rate, actual/360 (Art. 25); automatic rollover renews principal + interest for the same
term at the rate posted on the maturity date (Art. 18).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Context, Decimal
from typing import Final, Protocol

from greenbank.deposits.domain import (
    BelowMinimum,
    DayCount,
    Term,
    breakdown,
    check_rate,
    days_held,
    maturity_date,
)
from greenbank.errors import Conflict, ValidationFailed
from greenbank.money import round_fen

# Enough digits that principal x rate x days / 360 is exact or, when it does not terminate, still
# decides the half-up rounding correctly: the single rounding is round_fen's. The arithmetic
# runs in this context's methods: a localcontext() per line cost more than the sums.
_EXACT = Context(prec=60)


class InvalidPrincipal(ValidationFailed):
    code = "invalid_principal"
    title = "Principal must be a positive number of fen"


class InvalidWithdrawalAmount(ValidationFailed):
    code = "invalid_withdrawal_amount"
    title = "A partial withdrawal takes more than nothing and at most the principal"


class RemainingBelowMinimum(ValidationFailed):
    code = "remaining_below_minimum"
    title = "The rest would fall below the product minimum; withdraw in full instead"


class PartialWithdrawalAlreadyUsed(Conflict):
    code = "partial_withdrawal_already_used"
    title = "This deposit has already had its one partial withdrawal"


class NotBeforeMaturity(Conflict):
    code = "not_before_maturity"
    title = "The deposit has matured; this is not an early withdrawal"


class NotYetMatured(Conflict):
    code = "not_yet_matured"
    title = "The deposit has not matured yet"


class TaxPolicy(Protocol):
    """Tax on interest paid on ``paid_on``, in fen; the hook for a change in tax law."""

    def __call__(self, interest_fen: int, *, paid_on: date) -> int: ...


@dataclass(frozen=True, slots=True)
class FlatRateTax:
    """A flat rate on the interest, rounded half-up once (20% was the rate before 2007)."""

    rate: Decimal

    def __post_init__(self) -> None:
        check_rate(self.rate)

    def __call__(self, interest_fen: int, *, paid_on: date) -> int:
        return round_fen(Decimal(interest_fen) * self.rate)


# Interest on savings deposits has been exempt since 2008-10-09 (财税〔2008〕132号).
NO_INTEREST_TAX: Final[TaxPolicy] = FlatRateTax(Decimal(0))


@dataclass(frozen=True, slots=True)
class InterestLine:
    """One interest calculation, as a receipt prints it."""

    principal_fen: int
    annual_rate: Decimal
    start: date
    end: date
    day_count: DayCount
    interest_fen: int

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def interest_line(
    principal_fen: int, annual_rate: Decimal, start: date, end: date, day_count: DayCount
) -> InterestLine:
    """Simple interest on [start, end) under ``day_count``, rounded half-up once."""
    if principal_fen < 0:
        raise InvalidPrincipal(principal_fen=principal_fen)
    check_rate(annual_rate)
    days = days_held(start, end)
    if day_count is DayCount.YEARS_MONTHS_DAYS:
        # years x rate + months x rate/12 + days x rate/360, all over one denominator of 360
        parts = breakdown(start, end)
        units, per_year = 360 * parts.years + 30 * parts.months + parts.days, 360
    else:
        units, per_year = days, 360 if day_count is DayCount.ACTUAL_360 else 365
    product = _EXACT.multiply(_EXACT.multiply(Decimal(principal_fen), annual_rate), units)
    exact = _EXACT.divide(product, per_year)
    return InterestLine(principal_fen, annual_rate, start, end, day_count, round_fen(exact))


def term_interest(
    principal_fen: int,
    annual_rate: Decimal,
    value_date: date,
    end_date: date,
    convention: DayCount = DayCount.YEARS_MONTHS_DAYS,
) -> int:
    """Interest in fen from ``value_date`` to ``end_date`` (算头不算尾), rounded once."""
    return interest_line(principal_fen, annual_rate, value_date, end_date, convention).interest_fen


@dataclass(frozen=True, slots=True)
class Holding:
    """The contract terms of one deposit, fixed at opening (rate, value date, term, day count)."""

    principal_fen: int
    annual_rate: Decimal
    value_date: date
    term: Term
    day_count: DayCount = DayCount.YEARS_MONTHS_DAYS
    partial_withdrawn: bool = False

    def __post_init__(self) -> None:
        if self.principal_fen <= 0:
            raise InvalidPrincipal(principal_fen=self.principal_fen)
        check_rate(self.annual_rate)

    @property
    def maturity(self) -> date:
        return maturity_date(self.value_date, self.term)

    def line_to(self, end: date) -> InterestLine:
        """Interest at the contract rate and day count from the value date to ``end``."""
        return interest_line(
            self.principal_fen, self.annual_rate, self.value_date, end, self.day_count
        )


@dataclass(frozen=True, slots=True)
class Payout:
    """Money leaving a deposit: principal returned plus interest lines, less tax."""

    principal_fen: int
    lines: tuple[InterestLine, ...]
    tax_fen: int
    value_date: date
    paid_on: date

    @property
    def interest_fen(self) -> int:
        return sum(line.interest_fen for line in self.lines)

    @property
    def net_fen(self) -> int:
        """What is credited: principal + interest - tax."""
        return self.principal_fen + self.interest_fen - self.tax_fen

    @property
    def days(self) -> int:
        return (self.paid_on - self.value_date).days


def _payout(
    principal_fen: int, lines: list[InterestLine], value_date: date, on: date, tax: TaxPolicy
) -> Payout:
    interest = sum(line.interest_fen for line in lines)
    return Payout(principal_fen, tuple(lines), tax(interest, paid_on=on), value_date, on)


def _demand_line(principal_fen: int, demand_rate: Decimal, start: date, end: date) -> InterestLine:
    return interest_line(principal_fen, demand_rate, start, end, DayCount.ACTUAL_360)


def _require_early(holding: Holding, on: date) -> None:
    days_held(holding.value_date, on)
    if on >= holding.maturity:
        raise NotBeforeMaturity(maturity=holding.maturity.isoformat())


def full_early_withdrawal(
    holding: Holding, *, on: date, demand_rate: Decimal, tax: TaxPolicy = NO_INTEREST_TAX
) -> Payout:
    """Close before maturity: all interest at the demand rate posted on ``on``, actual/360."""
    _require_early(holding, on)
    line = _demand_line(holding.principal_fen, demand_rate, holding.value_date, on)
    return _payout(holding.principal_fen, [line], holding.value_date, on, tax)


@dataclass(frozen=True, slots=True)
class PartialOutcome:
    """The payout, and the rest still on deposit (None when the request closed the deposit)."""

    payout: Payout
    remaining: Holding | None

    @property
    def closed(self) -> bool:
        return self.remaining is None


def partial_early_withdrawal(
    holding: Holding,
    *,
    amount_fen: int,
    on: date,
    demand_rate: Decimal,
    minimum_fen: int,
    below_minimum: BelowMinimum = BelowMinimum.REFUSE,
    tax: TaxPolicy = NO_INTEREST_TAX,
) -> PartialOutcome:
    """Withdraw part early, once: that part earns the demand rate; the rest keeps its terms.

    If the rest would fall below ``minimum_fen`` the deposit must close instead: ``REFUSE``
    raises RemainingBelowMinimum, ``CLOSE`` pays out as a full early withdrawal.
    """
    _require_early(holding, on)
    if holding.partial_withdrawn:
        raise PartialWithdrawalAlreadyUsed()
    if not 0 < amount_fen <= holding.principal_fen:
        raise InvalidWithdrawalAmount(amount_fen=amount_fen, principal_fen=holding.principal_fen)
    rest = holding.principal_fen - amount_fen
    if rest < minimum_fen:
        if below_minimum is BelowMinimum.REFUSE:
            raise RemainingBelowMinimum(remaining_fen=rest, minimum_fen=minimum_fen)
        payout = full_early_withdrawal(holding, on=on, demand_rate=demand_rate, tax=tax)
        return PartialOutcome(payout, None)
    line = _demand_line(amount_fen, demand_rate, holding.value_date, on)
    payout = _payout(amount_fen, [line], holding.value_date, on, tax)
    return PartialOutcome(payout, replace(holding, principal_fen=rest, partial_withdrawn=True))


def maturity_payout(
    holding: Holding, *, on: date, demand_rate: Decimal, tax: TaxPolicy = NO_INTEREST_TAX
) -> Payout:
    """Close on or after maturity: term interest, plus the demand rate posted on ``on`` for the
    days past maturity (actual/360). ``demand_rate`` is unused when ``on`` is the maturity date."""
    if on < holding.maturity:
        raise NotYetMatured(maturity=holding.maturity.isoformat())
    lines = [holding.line_to(holding.maturity)]
    if on > holding.maturity:
        lines.append(_demand_line(holding.principal_fen, demand_rate, holding.maturity, on))
    return _payout(holding.principal_fen, lines, holding.value_date, on, tax)


@dataclass(frozen=True, slots=True)
class RolloverStep:
    """One automatic renewal: ``matured`` paid ``payout`` on its maturity, all into ``renewed``."""

    matured: Holding
    payout: Payout
    renewed: Holding


@dataclass(frozen=True, slots=True)
class RolloverChain:
    steps: tuple[RolloverStep, ...]
    current: Holding  # the holding in force after the last renewal (the input if none)


def rollover(
    holding: Holding,
    *,
    until: date,
    rate_on: Callable[[date], Decimal],
    tax: TaxPolicy = NO_INTEREST_TAX,
) -> RolloverChain:
    """Every automatic renewal with a maturity on or before ``until`` (catch-up maturity runs).

    Each renewal starts on the maturity date, for the same term and day count, with principal +
    interest - tax, at ``rate_on(maturity date)``; the renewed deposit may be partly withdrawn
    again, as it is a new deposit.
    """
    steps: list[RolloverStep] = []
    current = holding
    while current.maturity <= until:
        maturity = current.maturity
        payout = _payout(
            current.principal_fen, [current.line_to(maturity)], current.value_date, maturity, tax
        )
        renewed = replace(
            current,
            principal_fen=payout.net_fen,
            annual_rate=rate_on(maturity),
            value_date=maturity,
            partial_withdrawn=False,
        )
        steps.append(RolloverStep(current, payout, renewed))
        current = renewed
    return RolloverChain(tuple(steps), current)


def accrued_interest(holding: Holding, on: date) -> int:
    """Interest accrued by ``on`` at the contract rate under the holding's own day count
    (default years/months/days), capped at maturity. For display only: withdrawing early pays
    the demand rate instead (full_early_withdrawal)."""
    return holding.line_to(min(on, holding.maturity)).interest_fen


def expected_interest(holding: Holding) -> int:
    """Interest at maturity if held to term at the contract rate, before tax."""
    return holding.line_to(holding.maturity).interest_fen
