"""Receipts: issued receipts, gapless number counters, verification attempts.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from greenbank.db import UTCDateTime

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _party(side: str) -> list[sa.Column[object]]:
    return [
        sa.Column(f"{side}_name", sa.String(100), nullable=False),
        sa.Column(f"{side}_account", sa.String(40), nullable=False),
        sa.Column(f"{side}_bank", sa.String(100), nullable=False),
        sa.Column(f"{side}_is_org", sa.Boolean(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "receipts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("receipt_no", sa.String(24), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("source_type", sa.String(40), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=True),
        sa.Column("transaction_time", UTCDateTime(), nullable=False),
        sa.Column("serial_no", sa.String(64), nullable=False),
        *_party("payer"),
        *_party("payee"),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("product", sa.String(100), nullable=True),
        sa.Column("term", sa.String(20), nullable=True),
        sa.Column("rate", sa.String(20), nullable=True),
        sa.Column("rate_bonus", sa.String(20), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("maturity_date", sa.Date(), nullable=True),
        sa.Column("verification_code", sa.String(10), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sealed_at", UTCDateTime(), nullable=True),
        sa.Column("pdf_key", sa.String(200), nullable=True),
        sa.Column("pdf_sm3", sa.String(64), nullable=True),
        sa.Column("pdf_size", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
        sa.UniqueConstraint("receipt_no", name=op.f("uq_receipts_receipt_no")),
        sa.UniqueConstraint(
            "source_type", "source_id", name=op.f("uq_receipts_source_type_source_id")
        ),
    )
    op.create_index("ix_receipts_customer", "receipts", ["customer_id", "business_date"])
    op.create_index("ix_receipts_day", "receipts", ["business_date", "type"])
    op.create_index(op.f("ix_receipts_status"), "receipts", ["status"])
    op.create_table(
        "receipt_counters",
        sa.Column("series", sa.String(2), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("series", "business_date", name=op.f("pk_receipt_counters")),
    )
    op.create_table(
        "receipt_verifications",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("method", sa.String(12), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("receipt_no", sa.String(24), nullable=True),
        sa.Column("client", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_verifications")),
    )
    op.create_index("ix_receipt_verifications_client", "receipt_verifications", ["client", "at"])
    op.create_index(
        "ix_receipt_verifications_day", "receipt_verifications", ["business_date", "method"]
    )


def downgrade() -> None:
    op.drop_table("receipt_verifications")
    op.drop_table("receipt_counters")
    op.drop_table("receipts")
