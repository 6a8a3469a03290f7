"""Customers: the person behind every account, personal data encrypted with blind indexes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from greenbank.db import UTCDateTime

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("phone", sa.String(), nullable=False),
        sa.Column("phone_bidx", sa.String(64), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("id_number", sa.String(), nullable=True),
        sa.Column("id_number_bidx", sa.String(64), nullable=True),
        sa.Column("sex", sa.String(6), nullable=True),
        sa.Column("nationality", sa.String(3), nullable=True),
        sa.Column("occupation", sa.String(100), nullable=True),
        sa.Column("address", sa.String(), nullable=True),
        sa.Column("id_valid_from", sa.Date(), nullable=True),
        sa.Column("id_valid_to", sa.Date(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('registered', 'verified', 'restricted', 'closed')",
            name=op.f("ck_customers_status"),
        ),
        sa.CheckConstraint("sex IN ('male', 'female')", name=op.f("ck_customers_sex")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("phone_bidx", name=op.f("uq_customers_phone_bidx")),
        sa.UniqueConstraint("id_number_bidx", name=op.f("uq_customers_id_number_bidx")),
    )


def downgrade() -> None:
    op.drop_table("customers")
