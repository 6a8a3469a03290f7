"""HTTP shapes of holdings, withdrawals and the staff reports. Money is integer fen; rates are
strings (``Rate``), never JSON numbers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from greenbank.deposits.holdings_models import HoldingPayout, MaturityOption
from greenbank.deposits.holdings_queries import HoldingView, MaturityDay, ProductSales
from greenbank.deposits.schemas import Rate


class PurchaseIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"product_code": "TD-1Y", "amount_fen": 1_000_000}]},
    )

    product_code: str = Field(max_length=40, examples=["TD-1Y"])
    amount_fen: int = Field(gt=0, description="Amount to deposit, fen.", examples=[1_000_000])
    maturity_option: MaturityOption | None = Field(
        default=None,
        description="'rollover' or 'return_to_balance'; default: the product's first option.",
    )


class WithdrawalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount_fen: int | None = Field(
        default=None,
        gt=0,
        description="Withdraw only this much early (once per deposit); omit to withdraw all.",
        examples=[1_000_000],
    )


class PayoutOut(BaseModel):
    id: str
    kind: str = Field(description="full_early, partial_early, maturity or rollover.")
    paid_on: date
    cycle: int = Field(description="Term number: 0 for the first, +1 per rollover.")
    principal_fen: int = Field(description="Principal paid out (0 for a rollover).")
    interest_fen: int
    tax_fen: int
    net_fen: int = Field(description="Credited to the Class II balance (0 for a rollover).")
    remaining_fen: int = Field(description="Principal still on deposit afterwards.")
    lines: list[dict[str, Any]] = Field(description="Interest lines: principal, rate, period.")

    @classmethod
    def of(cls, p: HoldingPayout) -> PayoutOut:
        rolled = p.kind.value == "rollover"
        return cls(
            id=p.id,
            kind=p.kind.value,
            paid_on=p.paid_on,
            cycle=p.cycle,
            principal_fen=p.principal_fen,
            interest_fen=p.interest_fen,
            tax_fen=p.tax_fen,
            net_fen=0 if rolled else p.principal_fen + p.interest_fen - p.tax_fen,
            remaining_fen=p.remaining_fen,
            lines=p.lines,
        )


class HoldingOut(BaseModel):
    id: str
    product_code: str = Field(examples=["TD-1Y"])
    product_name: str
    status: str = Field(description="active or closed.")
    principal_fen: int = Field(description="Principal on deposit now.")
    opening_principal_fen: int
    rate: Rate = Field(description="Contract rate of the current term.")
    term: str = Field(examples=["1y"])
    value_date: date
    maturity_date: date
    maturity_option: str
    partial_withdrawal_used: bool
    cycle: int
    accrued_interest_fen: int = Field(
        description="Interest to date at the contract rate (display only; withdrawing early "
        "pays the demand rate: see the withdrawal trial)."
    )
    expected_interest_fen: int = Field(description="Interest of the current term at maturity.")
    opened_at: datetime
    closed_at: datetime | None
    history: list[PayoutOut] | None = Field(default=None, description="Payouts, oldest first.")

    @classmethod
    def of(cls, view: HoldingView, *, history: bool = False) -> HoldingOut:
        h = view.holding
        return cls(
            id=h.id,
            product_code=view.product_code,
            product_name=view.product_name,
            status=h.status.value,
            principal_fen=h.principal_fen,
            opening_principal_fen=h.opening_principal_fen,
            rate=Rate.of(h.rate),
            term=h.term.label,
            value_date=h.value_date,
            maturity_date=h.maturity_date,
            maturity_option=h.maturity_option.value,
            partial_withdrawal_used=h.partial_withdrawn,
            cycle=h.cycle,
            accrued_interest_fen=view.accrued_interest_fen,
            expected_interest_fen=view.expected_interest_fen,
            opened_at=h.opened_at,
            closed_at=h.closed_at,
            history=[PayoutOut.of(p) for p in view.payouts] if history else None,
        )


class WithdrawalDoneOut(BaseModel):
    payout: PayoutOut
    holding_status: str
    replayed: bool = Field(description="True when the Idempotency-Key was seen before.")


class ProductSalesOut(BaseModel):
    code: str
    name: str
    status: str
    holdings_active: int
    principal_outstanding_fen: int
    sold_fen: int = Field(description="Every purchase to date (the quota used).")
    total_quota_fen: int | None
    quota_remaining_fen: int | None

    @classmethod
    def of(cls, s: ProductSales) -> ProductSalesOut:
        return cls.model_validate(s, from_attributes=True)


class MaturityDayOut(BaseModel):
    day: date
    holdings: int
    principal_fen: int
    interest_fen: int = Field(description="Term interest due that day.")
    rollover: int = Field(description="How many of them renew automatically.")
    by_product: dict[str, int] = Field(description="Principal per product code, fen.")

    @classmethod
    def of(cls, d: MaturityDay) -> MaturityDayOut:
        return cls.model_validate(d, from_attributes=True)
