"""Tables of the closed fund loop: transfers to and from the bound card, limit counters, AML.

A transfer row is written before the card rail is asked, so every instruction the rail ever saw
has a row (the rail's reference is our id); the UNIQUE ``(customer_id, idempotency_key)`` makes a
retried request find its first answer.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from greenbank.db import Base
from greenbank.ids import new_id
from greenbank.pii import EncryptedString


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class TransferKind(StrEnum):
    TOP_UP = "top_up"  # 充值: bound card -> Class II
    WITHDRAWAL = "withdrawal"  # 提现: Class II -> bound card


class TransferStatus(StrEnum):
    PROCESSING = "processing"  # with the card rail; a withdrawal's money is on hold
    SETTLED = "settled"
    FAILED = "failed"
    REVERSED = "reversed"  # a settled top-up the card's bank took back
    REVERSAL_SHORTFALL = "reversal_shortfall"  # ... after the money was already spent


class TransferPurpose(StrEnum):
    CUSTOMER = "customer"
    CLOSING = "closing"  # the balance returned to the bound card before the account closes


class FundTransfer(Base):
    __tablename__ = "account_fund_transfers"
    __table_args__ = (
        CheckConstraint(_in("kind", TransferKind), name="kind"),
        CheckConstraint(_in("status", TransferStatus), name="status"),
        CheckConstraint(_in("purpose", TransferPurpose), name="purpose"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        UniqueConstraint("customer_id", "idempotency_key"),
        Index("ix_account_fund_transfers_account_requested", "account_id", "requested_at"),
        Index("ix_account_fund_transfers_status_requested", "status", "requested_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("class2_accounts.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(12))
    purpose: Mapped[str] = mapped_column(String(10), default=TransferPurpose.CUSTOMER.value)
    status: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int]
    idempotency_key: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))
    # the bound card, or (only when non-bound flows are switched on) another card
    card_id: Mapped[str | None] = mapped_column(ForeignKey("class2_bound_cards.id"))
    counterparty_card: Mapped[str | None] = mapped_column(EncryptedString())
    card_masked: Mapped[str] = mapped_column(String(24))
    bank_name: Mapped[str] = mapped_column(String(60))
    rail: Mapped[str] = mapped_column(String(20))
    rail_reference: Mapped[str | None] = mapped_column(String(40))
    failure_code: Mapped[str | None] = mapped_column(String(60))
    hold_id: Mapped[str | None] = mapped_column(String(36))
    entry_id: Mapped[str | None] = mapped_column(String(36))
    reversal_entry_id: Mapped[str | None] = mapped_column(String(36))
    requested_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    @property
    def bound(self) -> bool:
        return self.card_id is not None


class LimitCounter(Base):
    """Money moved to or from non-bound accounts per period (``2026-03-02`` or ``2026``)."""

    __tablename__ = "account_limit_counters"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    direction: Mapped[str] = mapped_column(String(3), primary_key=True)  # in / out
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    used_fen: Mapped[int]
    updated_at: Mapped[datetime]


class AmlDailyAggregate(Base):
    """Per customer and Shanghai business date: settled money in and out (recomputed daily)."""

    __tablename__ = "aml_daily_aggregates"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    business_date: Mapped[date] = mapped_column(primary_key=True)
    in_fen: Mapped[int]
    out_fen: Mapped[int]
    in_count: Mapped[int]
    out_count: Mapped[int]
    computed_at: Mapped[datetime]


class AlertStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class AmlAlert(Base):
    """A case for staff; ``dedupe_key`` (rule, subject, date) keeps re-screening idempotent."""

    __tablename__ = "aml_alerts"
    __table_args__ = (
        CheckConstraint(_in("status", AlertStatus), name="status"),
        Index("ix_aml_alerts_status_date", "status", "business_date"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    rule: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(120))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"), index=True)
    business_date: Mapped[date]
    amount_fen: Mapped[int]
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(10), default=AlertStatus.OPEN.value)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolution: Mapped[str | None] = mapped_column(String(500))
