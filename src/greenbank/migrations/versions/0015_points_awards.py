"""Carbon: points moves may be awards (points given for something that is not carbon, e.g. a
right quiz answer). Only the kind CHECK changes; SQLite rebuilds the table to change it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _kinds(condition: str) -> None:
    with op.batch_alter_table("carbon_points_moves") as batch:
        batch.drop_constraint(op.f("ck_carbon_points_moves_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_carbon_points_moves_kind"), condition)


def upgrade() -> None:
    _kinds("kind IN ('retire', 'return', 'award')")


def downgrade() -> None:
    op.execute("DELETE FROM carbon_points_moves WHERE kind = 'award'")
    _kinds("kind IN ('retire', 'return')")
