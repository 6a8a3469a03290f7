"""Deposits: the product catalogue and the posted-rate history.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from greenbank.db import UTCDateTime

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deposit_products",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("term", sa.String(20), nullable=False),
        sa.Column("minimum_fen", sa.BigInteger(), nullable=False),
        sa.Column("maximum_fen", sa.BigInteger(), nullable=True),
        sa.Column("step_fen", sa.BigInteger(), nullable=False),
        sa.Column("total_quota_fen", sa.BigInteger(), nullable=True),
        sa.Column("per_customer_limit_fen", sa.BigInteger(), nullable=True),
        sa.Column("quota_used_fen", sa.BigInteger(), nullable=False),
        sa.Column("sale_start", UTCDateTime(), nullable=False),
        sa.Column("sale_end", UTCDateTime(), nullable=True),
        sa.Column("partial_withdrawal_allowed", sa.Boolean(), nullable=False),
        sa.Column("below_minimum", sa.String(20), nullable=False),
        sa.Column("rollover_allowed", sa.Boolean(), nullable=False),
        sa.Column("return_to_balance_allowed", sa.Boolean(), nullable=False),
        sa.Column("day_count", sa.String(20), nullable=False),
        sa.Column("green", sa.Boolean(), nullable=False),
        sa.Column("disclosure", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "minimum_fen > 0 AND step_fen > 0", name=op.f("ck_deposit_products_positive_amounts")
        ),
        sa.CheckConstraint(
            "quota_used_fen >= 0", name=op.f("ck_deposit_products_quota_used_not_negative")
        ),
        sa.CheckConstraint(
            "total_quota_fen IS NULL OR quota_used_fen <= total_quota_fen",
            name=op.f("ck_deposit_products_within_quota"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deposit_products")),
        sa.UniqueConstraint("code", name=op.f("uq_deposit_products_code")),
    )
    op.create_index(op.f("ix_deposit_products_status"), "deposit_products", ["status"])
    op.create_table(
        "deposit_rates",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("series", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("product_id", sa.String(36), nullable=True),
        sa.Column("rate", sa.String(24), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("posted_at", UTCDateTime(), nullable=False),
        sa.Column("posted_by", sa.String(100), nullable=False),
        sa.CheckConstraint(
            "(kind = 'demand' AND product_id IS NULL)"
            " OR (kind = 'product' AND product_id = series)",
            name=op.f("ck_deposit_rates_series_matches_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["deposit_products.id"],
            name=op.f("fk_deposit_rates_product_id_deposit_products"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deposit_rates")),
        sa.UniqueConstraint(
            "series", "effective_from", name=op.f("uq_deposit_rates_series_effective_from")
        ),
    )
    op.create_index(op.f("ix_deposit_rates_product_id"), "deposit_rates", ["product_id"])


def downgrade() -> None:
    op.drop_table("deposit_rates")
    op.drop_table("deposit_products")
