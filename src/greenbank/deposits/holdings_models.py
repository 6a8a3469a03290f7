"""Tables of what customers hold: holdings, their payouts, and the daily maturity runs.

A holding keeps one row for its whole life. A rollover renews it in place (principal, rate, value
date and maturity change, ``cycle`` goes up) so its ledger account ``holding:<id>`` and its id
stay the same; every payout of interest or principal is a ``deposit_payouts`` row, which is the
holding's history and, through ``UNIQUE(holding_id, idempotency_key)``, what makes a retried
withdrawal or a re-run maturity return the first result instead of paying twice.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from greenbank.db import Base
from greenbank.deposits.domain import DayCount, Term
from greenbank.deposits.interest import Holding
from greenbank.deposits.models import CodedEnum, ExactDecimal
from greenbank.ids import new_id


class MaturityOption(Enum):
    ROLLOVER = "rollover"  # principal + interest renew for the same term (Art. 18)
    RETURN_TO_BALANCE = "return_to_balance"  # paid into the Class II balance


class HoldingStatus(Enum):
    ACTIVE = "active"
    CLOSED = "closed"


class PayoutKind(Enum):
    FULL_EARLY = "full_early"
    PARTIAL_EARLY = "partial_early"
    MATURITY = "maturity"  # closed on or after maturity: term interest + demand for extra days
    ROLLOVER = "rollover"  # interest added to the principal, nothing paid out


class DepositHolding(Base):
    """One time deposit a customer holds; the contract terms of the current cycle."""

    __tablename__ = "deposit_holdings"
    __table_args__ = (
        UniqueConstraint("customer_id", "idempotency_key"),
        CheckConstraint("principal_fen >= 0", name="principal_not_negative"),
        Index("ix_deposit_holdings_due", "status", "maturity_date", "id"),
        Index("ix_deposit_holdings_customer", "customer_id", "product_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(String(36))
    product_id: Mapped[str] = mapped_column(ForeignKey("deposit_products.id"))
    idempotency_key: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))
    opening_principal_fen: Mapped[int]
    principal_fen: Mapped[int]
    rate: Mapped[Decimal] = mapped_column(ExactDecimal())
    term: Mapped[Term] = mapped_column(CodedEnum(Term))
    day_count: Mapped[DayCount] = mapped_column(CodedEnum(DayCount))
    value_date: Mapped[date] = mapped_column(Date)
    maturity_date: Mapped[date] = mapped_column(Date)
    maturity_option: Mapped[MaturityOption] = mapped_column(CodedEnum(MaturityOption))
    partial_withdrawn: Mapped[bool]
    cycle: Mapped[int]  # 0 for the first term, +1 per automatic rollover
    status: Mapped[HoldingStatus] = mapped_column(CodedEnum(HoldingStatus))
    purchase_entry_id: Mapped[str] = mapped_column(String(36))
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    @property
    def contract(self) -> Holding:
        """The pure holding the interest engine works on."""
        return Holding(
            self.principal_fen,
            self.rate,
            self.value_date,
            self.term,
            self.day_count,
            self.partial_withdrawn,
        )


class HoldingPayout(Base):
    """Money out of a holding (or interest capitalised by a rollover), with its interest lines."""

    __tablename__ = "deposit_payouts"
    __table_args__ = (UniqueConstraint("holding_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    holding_id: Mapped[str] = mapped_column(ForeignKey("deposit_holdings.id"), index=True)
    customer_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[PayoutKind] = mapped_column(CodedEnum(PayoutKind))
    idempotency_key: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))
    cycle: Mapped[int]
    paid_on: Mapped[date] = mapped_column(Date)
    principal_fen: Mapped[int]  # principal leaving the deposit (0 for a rollover)
    interest_fen: Mapped[int]
    tax_fen: Mapped[int]
    remaining_fen: Mapped[int]  # principal on deposit afterwards (0 once closed)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    entry_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime]


class MaturityRun(Base):
    """One run of the maturity job for a business date (re-runs add to the same row)."""

    __tablename__ = "deposit_maturity_runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    business_date: Mapped[date] = mapped_column(Date, unique=True)
    runs: Mapped[int]
    processed: Mapped[int]
    rolled_over: Mapped[int]
    returned: Mapped[int]
    failed: Mapped[int]
    last_error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
