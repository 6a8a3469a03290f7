"""Carbon: index the reduction certificates and their public checks by business day, as the
receipts' tables are, so the staff's per-day figures read a range instead of the whole table
(the checks grow with every public attempt and are never pruned).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_carbon_certificates_day", "carbon_certificates", ["business_date"])
    op.create_index(
        "ix_carbon_certificate_checks_day", "carbon_certificate_checks", ["business_date", "method"]
    )


def downgrade() -> None:
    op.drop_index("ix_carbon_certificate_checks_day", "carbon_certificate_checks")
    op.drop_index("ix_carbon_certificates_day", "carbon_certificates")
