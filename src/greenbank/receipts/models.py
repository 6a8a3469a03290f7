"""The receipt tables: receipts, their gapless number counters, and verification attempts.

* ``receipts`` — one row per business event (``source_type`` + ``source_id`` UNIQUE), with every
  printed field already masked (names ``张*``, accounts ``6217 27** **** 1234``): the PDF is
  rendered from this row alone. ``status``: ``pending`` (issued, waiting for the seal) ->
  ``sealed`` (PDF stored write-once, its SM3 hash recorded).
* ``receipt_counters`` — the last number given out per series (receipt type) and business day;
  incremented under a row lock in the issuing transaction, so a rolled-back posting gives its
  number back and the sequence stays gapless.
* ``receipt_verifications`` — one row per public verification attempt (by code, by upload, or a
  download by code): the per-day figures for staff and the per-client rate limit.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from greenbank.db import Base
from greenbank.ids import new_id

PENDING = "pending"
SEALED = "sealed"


class Receipt(Base):
    __tablename__ = "receipts"
    __table_args__ = (
        UniqueConstraint("source_type", "source_id"),
        Index("ix_receipts_customer", "customer_id", "business_date"),
        Index("ix_receipts_day", "business_date", "type"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    receipt_no: Mapped[str] = mapped_column(String(24), unique=True)
    type: Mapped[str] = mapped_column(String(20))
    business_date: Mapped[date] = mapped_column(Date)
    sequence: Mapped[int]
    status: Mapped[str] = mapped_column(String(10), index=True, default=PENDING)
    source_type: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(String(36))
    transaction_time: Mapped[datetime]
    serial_no: Mapped[str] = mapped_column(String(64))
    payer_name: Mapped[str] = mapped_column(String(100))
    payer_account: Mapped[str] = mapped_column(String(40))
    payer_bank: Mapped[str] = mapped_column(String(100))
    payer_is_org: Mapped[bool]
    payee_name: Mapped[str] = mapped_column(String(100))
    payee_account: Mapped[str] = mapped_column(String(40))
    payee_bank: Mapped[str] = mapped_column(String(100))
    payee_is_org: Mapped[bool]
    amount_fen: Mapped[int]
    product: Mapped[str | None] = mapped_column(String(100))
    term: Mapped[str | None] = mapped_column(String(20))
    rate: Mapped[str | None] = mapped_column(String(20))  # Decimal, stored exactly as text
    rate_bonus: Mapped[str | None] = mapped_column(String(20))
    value_date: Mapped[date | None] = mapped_column(Date)
    maturity_date: Mapped[date | None] = mapped_column(Date)
    verification_code: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime]
    sealed_at: Mapped[datetime | None]
    pdf_key: Mapped[str | None] = mapped_column(String(200))
    pdf_sm3: Mapped[str | None] = mapped_column(String(64))
    pdf_size: Mapped[int | None]


class ReceiptCounter(Base):
    __tablename__ = "receipt_counters"

    series: Mapped[str] = mapped_column(String(2), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    last_sequence: Mapped[int]


class ReceiptVerification(Base):
    __tablename__ = "receipt_verifications"
    __table_args__ = (
        Index("ix_receipt_verifications_client", "client", "at"),
        Index("ix_receipt_verifications_day", "business_date", "method"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    at: Mapped[datetime]
    business_date: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(12))
    outcome: Mapped[str] = mapped_column(String(32))
    receipt_no: Mapped[str | None] = mapped_column(String(24))
    client: Mapped[str] = mapped_column(String(32))  # HMAC-SM3 of the client IP, not the IP
