"""HTTP shapes of the deposit catalogue and trial calculations.

Rates travel as strings, never JSON numbers (a float would lose the exact posted rate): a percent
for people ('1.50') and the fraction the engine uses ('0.015'). Money is integer fen.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from greenbank.deposits.catalogue import Listing
from greenbank.deposits.domain import ProductKind
from greenbank.deposits.interest import InterestLine
from greenbank.deposits.models import RatePosting
from greenbank.deposits.trial import Trial, WithdrawalTrial

KIND_NAMES = {ProductKind.TIME_DEPOSIT: "整存整取", ProductKind.LARGE_CD: "大额存单"}

_HUNDREDTH = Decimal("0.01")
Fen = Annotated[int, Field(ge=0, description="Amount in fen (1 CNY = 100 fen).")]


def rate_percent(rate: Decimal) -> str:
    """Decimal('0.015') -> '1.50'; at least two decimals, more only when posted with more."""
    value = rate * 100
    cents = value.quantize(_HUNDREDTH)
    return str(cents) if cents == value else format(value.normalize(), "f")


def rate_fraction(rate: Decimal) -> str:
    """Decimal('0.0150') -> '0.015'."""
    return format(rate.normalize(), "f")


class Rate(BaseModel):
    """An annual rate, exactly as posted."""

    percent: str = Field(description="Annual rate in percent.", examples=["1.50"])
    fraction: str = Field(description="The same rate as a fraction of 1.", examples=["0.015"])

    @classmethod
    def of(cls, rate: Decimal) -> Rate:
        return cls(percent=rate_percent(rate), fraction=rate_fraction(rate))


class ProductOut(BaseModel):
    code: str = Field(description="Stable product code.", examples=["TD-1Y"])
    name: str = Field(examples=["整存整取 1年（绿色）"])
    kind: str = Field(description="time_deposit or large_cd.", examples=["time_deposit"])
    kind_name: str = Field(description="整存整取 or 大额存单.", examples=["整存整取"])
    term: str = Field(
        description="Term label: 1m, 3m, 6m, 9m, 1y, 18m, 2y, 3y, 5y.", examples=["1y"]
    )
    term_months: int = Field(examples=[12])
    rate: Rate | None = Field(description="Rate in force today; null before the first posting.")
    minimum_fen: Fen = Field(description="Smallest amount, fen.", examples=[5000])
    maximum_fen: int | None = Field(description="Largest amount, fen; null: none.", examples=[None])
    step_fen: Fen = Field(description="Amounts are minimum + k x step, fen.", examples=[100])
    total_quota_fen: int | None = Field(description="Total quota, fen; null: unlimited.")
    quota_remaining_fen: int | None = Field(description="Quota still available, fen.")
    per_customer_limit_fen: int | None = Field(description="Per-customer limit, fen.")
    sale_start: datetime
    sale_end: datetime | None
    partial_withdrawal_allowed: bool = Field(
        description="One partial early withdrawal allowed (that part earns the demand rate)."
    )
    below_minimum: str = Field(
        description="When a partial withdrawal would leave less than the minimum: "
        "'refuse' it or 'close' the deposit as a full early withdrawal.",
        examples=["refuse"],
    )
    maturity_options: list[str] = Field(
        description="What may happen at maturity.", examples=[["rollover", "return_to_balance"]]
    )
    day_count: str = Field(examples=["years_months_days"])
    green: bool = Field(description="Eligible for the carbon-account rate bonus.")
    disclosure: str = Field(description="Product disclosure, ending with the 存款保险 statement.")
    status: str = Field(examples=["published"])
    on_sale: bool

    @classmethod
    def of(cls, listing: Listing) -> ProductOut:
        p = listing.product
        options = [
            name
            for name, allowed in (
                ("rollover", p.rollover_allowed),
                ("return_to_balance", p.return_to_balance_allowed),
            )
            if allowed
        ]
        return cls(
            code=p.code,
            name=p.name,
            kind=p.kind.value,
            kind_name=KIND_NAMES[p.kind],
            term=p.term.label,
            term_months=p.term.months,
            rate=None if listing.rate is None else Rate.of(listing.rate),
            minimum_fen=p.minimum_fen,
            maximum_fen=p.maximum_fen,
            step_fen=p.step_fen,
            total_quota_fen=p.total_quota_fen,
            quota_remaining_fen=p.quota_remaining_fen,
            per_customer_limit_fen=p.per_customer_limit_fen,
            sale_start=p.sale_start,
            sale_end=p.sale_end,
            partial_withdrawal_allowed=p.partial_withdrawal_allowed,
            below_minimum=p.below_minimum.value,
            maturity_options=options,
            day_count=p.day_count.value,
            green=p.green,
            disclosure=p.disclosure,
            status=p.status.value,
            on_sale=listing.on_sale,
        )


class TrialIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"amount_fen": 1_000_000},
                {"amount_fen": 5_000_000, "withdraw_on": "2026-09-15"},
                {
                    "amount_fen": 5_000_000,
                    "withdraw_on": "2026-09-15",
                    "partial_amount_fen": 1_000_000,
                },
            ]
        },
    )

    amount_fen: int = Field(gt=0, description="Amount to deposit, fen.", examples=[1_000_000])
    term: str | None = Field(
        default=None, description="Optional: the term you expect (checked against the product)."
    )
    withdraw_on: date | None = Field(
        default=None,
        description="Optional: a withdrawal day. Before maturity it is an early withdrawal "
        "(demand rate); on or after it, the maturity payout with extra days at the demand rate.",
        examples=["2026-09-15"],
    )
    partial_amount_fen: int | None = Field(
        default=None,
        gt=0,
        description="Optional: withdraw only this much early (once).",
        examples=[1_000_000],
    )


class InterestLineOut(BaseModel):
    principal_fen: int
    rate: Rate
    start: date
    end: date
    days: int
    day_count: str
    interest_fen: int

    @classmethod
    def of(cls, line: InterestLine) -> InterestLineOut:
        return cls(
            principal_fen=line.principal_fen,
            rate=Rate.of(line.annual_rate),
            start=line.start,
            end=line.end,
            days=line.days,
            day_count=line.day_count.value,
            interest_fen=line.interest_fen,
        )


class WithdrawalOut(BaseModel):
    kind: str = Field(description="full_early, partial_early or maturity.", examples=["full_early"])
    on: date
    demand_rate: Rate = Field(description="Demand rate used for early or extra days.")
    principal_fen: int = Field(description="Principal paid out, fen.")
    interest_fen: int
    tax_fen: int = Field(description="Interest tax (zero since 2008-10-09), fen.")
    net_fen: int = Field(description="Credited to the balance: principal + interest - tax, fen.")
    lines: list[InterestLineOut]
    remaining_principal_fen: int | None = Field(description="Left on deposit after a partial one.")
    remaining_expected_interest_fen: int | None

    @classmethod
    def of(cls, w: WithdrawalTrial) -> WithdrawalOut:
        return cls(
            kind=w.kind.value,
            on=w.payout.paid_on,
            demand_rate=Rate.of(w.demand_rate),
            principal_fen=w.payout.principal_fen,
            interest_fen=w.payout.interest_fen,
            tax_fen=w.payout.tax_fen,
            net_fen=w.payout.net_fen,
            lines=[InterestLineOut.of(line) for line in w.payout.lines],
            remaining_principal_fen=None if w.remaining is None else w.remaining.principal_fen,
            remaining_expected_interest_fen=w.remaining_expected_interest_fen,
        )


class TrialOut(BaseModel):
    product_code: str = Field(examples=["TD-1Y"])
    principal_fen: int = Field(examples=[1_000_000])
    term: str = Field(examples=["1y"])
    rate: Rate = Field(description="The product rate posted for the value date, kept for the term.")
    value_date: date = Field(description="Today's business date (Asia/Shanghai).")
    maturity_date: date
    expected_interest_fen: int = Field(
        description="Interest if held to maturity.", examples=[15000]
    )
    amount_at_maturity_fen: int = Field(examples=[1_015_000])
    withdrawal: WithdrawalOut | None = None

    @classmethod
    def of(cls, trial: Trial) -> TrialOut:
        h = trial.holding
        return cls(
            product_code=trial.product.code,
            principal_fen=h.principal_fen,
            term=h.term.label,
            rate=Rate.of(h.annual_rate),
            value_date=h.value_date,
            maturity_date=h.maturity,
            expected_interest_fen=trial.expected_interest_fen,
            amount_at_maturity_fen=h.principal_fen + trial.expected_interest_fen,
            withdrawal=None if trial.withdrawal is None else WithdrawalOut.of(trial.withdrawal),
        )


class RatePostingOut(BaseModel):
    rate: Rate
    effective_from: date

    @classmethod
    def of(cls, posting: RatePosting) -> RatePostingOut:
        return cls(rate=Rate.of(posting.rate), effective_from=posting.effective_from)


class DemandRateOut(BaseModel):
    current: RatePostingOut | None = Field(description="The demand rate in force today.")
    history: list[RatePostingOut] = Field(description="Every posting, oldest first.")
