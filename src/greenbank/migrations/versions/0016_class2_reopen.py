"""Accounts: a customer may close their Class II account and open a new one, which reuses the
same ledger balance, so ``class2_accounts.ledger_account_id`` is indexed, no longer unique.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("class2_accounts") as batch:
        batch.drop_constraint(op.f("uq_class2_accounts_ledger_account_id"), type_="unique")
        batch.create_index(
            op.f("ix_class2_accounts_ledger_account_id"), ["ledger_account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("class2_accounts") as batch:
        batch.drop_index(op.f("ix_class2_accounts_ledger_account_id"))
        batch.create_unique_constraint(
            op.f("uq_class2_accounts_ledger_account_id"), ["ledger_account_id"]
        )
