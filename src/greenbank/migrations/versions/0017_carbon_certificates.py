"""Carbon: sealed reduction certificates and their public verification attempts.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from greenbank.db import UTCDateTime

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carbon_certificates",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("certificate_no", sa.String(24), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("masked_name", sa.String(100), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("lifetime_mg", sa.BigInteger(), nullable=False),
        sa.Column("provisional_mg", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("trees", sa.String(20), nullable=False),
        sa.Column("tree_source", sa.String(500), nullable=False),
        sa.Column("tree_provisional", sa.Boolean(), nullable=False),
        sa.Column("top_scenarios", sa.JSON(), nullable=False),
        sa.Column("verification_code", sa.String(10), nullable=False),
        sa.Column("pdf_key", sa.String(200), nullable=False),
        sa.Column("pdf_sm3", sa.String(64), nullable=False),
        sa.Column("pdf_size", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "lifetime_mg >= 0 AND provisional_mg >= 0", name=op.f("ck_carbon_certificates_figures")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_certificates")),
        sa.UniqueConstraint("certificate_no", name=op.f("uq_carbon_certificates_certificate_no")),
        sa.UniqueConstraint(
            "customer_id",
            "business_date",
            "fingerprint",
            name=op.f("uq_carbon_certificates_customer_id_business_date_fingerprint"),
        ),
    )
    op.create_table(
        "carbon_certificate_checks",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("method", sa.String(12), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("certificate_no", sa.String(24), nullable=True),
        sa.Column("client", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_certificate_checks")),
    )
    op.create_index(
        "ix_carbon_certificate_checks_client", "carbon_certificate_checks", ["client", "at"]
    )


def downgrade() -> None:
    op.drop_index("ix_carbon_certificate_checks_client", "carbon_certificate_checks")
    op.drop_table("carbon_certificate_checks")
    op.drop_table("carbon_certificates")
