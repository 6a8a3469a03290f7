"""Deposits: holdings, their payouts and the daily maturity runs.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from greenbank.db import UTCDateTime

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deposit_holdings",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("product_id", sa.String(36), nullable=False),
        sa.Column("idempotency_key", sa.String(100), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("opening_principal_fen", sa.BigInteger(), nullable=False),
        sa.Column("principal_fen", sa.BigInteger(), nullable=False),
        sa.Column("rate", sa.String(24), nullable=False),
        sa.Column("term", sa.String(20), nullable=False),
        sa.Column("day_count", sa.String(20), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("maturity_date", sa.Date(), nullable=False),
        sa.Column("maturity_option", sa.String(20), nullable=False),
        sa.Column("partial_withdrawn", sa.Boolean(), nullable=False),
        sa.Column("cycle", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("purchase_entry_id", sa.String(36), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "principal_fen >= 0", name=op.f("ck_deposit_holdings_principal_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["deposit_products.id"],
            name=op.f("fk_deposit_holdings_product_id_deposit_products"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deposit_holdings")),
        sa.UniqueConstraint(
            "customer_id",
            "idempotency_key",
            name=op.f("uq_deposit_holdings_customer_id_idempotency_key"),
        ),
    )
    op.create_index(
        "ix_deposit_holdings_due", "deposit_holdings", ["status", "maturity_date", "id"]
    )
    op.create_index(
        "ix_deposit_holdings_customer",
        "deposit_holdings",
        ["customer_id", "product_id", "status"],
    )
    op.create_table(
        "deposit_payouts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("holding_id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("idempotency_key", sa.String(100), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("cycle", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("principal_fen", sa.BigInteger(), nullable=False),
        sa.Column("interest_fen", sa.BigInteger(), nullable=False),
        sa.Column("tax_fen", sa.BigInteger(), nullable=False),
        sa.Column("remaining_fen", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("entry_id", sa.String(36), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["holding_id"],
            ["deposit_holdings.id"],
            name=op.f("fk_deposit_payouts_holding_id_deposit_holdings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deposit_payouts")),
        sa.UniqueConstraint(
            "holding_id",
            "idempotency_key",
            name=op.f("uq_deposit_payouts_holding_id_idempotency_key"),
        ),
    )
    op.create_index(op.f("ix_deposit_payouts_holding_id"), "deposit_payouts", ["holding_id"])
    op.create_index(op.f("ix_deposit_payouts_customer_id"), "deposit_payouts", ["customer_id"])
    op.create_table(
        "deposit_maturity_runs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("runs", sa.BigInteger(), nullable=False),
        sa.Column("processed", sa.BigInteger(), nullable=False),
        sa.Column("rolled_over", sa.BigInteger(), nullable=False),
        sa.Column("returned", sa.BigInteger(), nullable=False),
        sa.Column("failed", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deposit_maturity_runs")),
        sa.UniqueConstraint("business_date", name=op.f("uq_deposit_maturity_runs_business_date")),
    )


def downgrade() -> None:
    op.drop_table("deposit_maturity_runs")
    op.drop_table("deposit_payouts")
    op.drop_table("deposit_holdings")
