"""Ledger tables. Entries and postings are append-only; balances and holds change in place.

``ledger_balances`` is kept apart from ``ledger_accounts`` so the hot row lock (one per account)
never blocks reads of account attributes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from greenbank.db import Base
from greenbank.ids import new_id

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid); PostgreSQL gets BIGSERIAL.
PostingId = BigInteger().with_variant(Integer(), "sqlite")


class Account(Base):
    __tablename__ = "ledger_accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    owner_type: Mapped[str | None] = mapped_column(String(40))
    owner_id: Mapped[str | None] = mapped_column(String(36))
    guard: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_ledger_accounts_owner", "owner_type", "owner_id"),)


class Balance(Base):
    """Running totals per account, updated in the same transaction as the postings."""

    __tablename__ = "ledger_balances"

    account_id: Mapped[str] = mapped_column(ForeignKey("ledger_accounts.id"), primary_key=True)
    posted_fen: Mapped[int] = mapped_column(default=0)
    held_fen: Mapped[int] = mapped_column(default=0)

    __table_args__ = (CheckConstraint("held_fen >= 0", name="held_not_negative"),)


class Entry(Base):
    """A journal transaction: why (code), when (value date), and an idempotency key."""

    __tablename__ = "ledger_entries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    value_date: Mapped[date] = mapped_column(Date)
    posted_at: Mapped[datetime]
    description: Mapped[str] = mapped_column(String(500))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    currency: Mapped[str] = mapped_column(String(3))
    reverses_entry_id: Mapped[str | None] = mapped_column(
        ForeignKey("ledger_entries.id"), unique=True
    )


class Posting(Base):
    """One leg: signed fen, debit positive. ``balance_after_fen`` is the account's raw total."""

    __tablename__ = "ledger_postings"

    id: Mapped[int] = mapped_column(PostingId, primary_key=True, autoincrement=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount_fen: Mapped[int]
    balance_after_fen: Mapped[int]
    value_date: Mapped[date] = mapped_column(Date)

    __table_args__ = (
        CheckConstraint("amount_fen <> 0", name="amount_not_zero"),
        Index("ix_ledger_postings_account_id_id", "account_id", "id"),
        Index("ix_ledger_postings_account_id_value_date", "account_id", "value_date"),
    )


class Hold(Base):
    """A two-phase reservation (TigerBeetle's pending transfer): pending, then posted, voided
    or expired."""

    __tablename__ = "ledger_holds"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount_fen: Mapped[int]
    state: Mapped[str] = mapped_column(String(10))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    entry_id: Mapped[str | None] = mapped_column(ForeignKey("ledger_entries.id"))

    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        Index("ix_ledger_holds_account_id_state", "account_id", "state"),
        Index("ix_ledger_holds_state_expires_at", "state", "expires_at"),
    )
