"""The closed fund loop: transfers to and from the bound card, limit counters, AML tables.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from greenbank.db import UTCDateTime

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(36)


def _in(column: str, values: list[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _customer_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["customer_id"], ["customers.id"], name=op.f(f"fk_{table}_customer_id_customers")
    )


def upgrade() -> None:
    _transfers()
    op.create_table(
        "account_limit_counters",
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("used_fen", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _customer_fk("account_limit_counters"),
        sa.PrimaryKeyConstraint(
            "customer_id", "direction", "period", name=op.f("pk_account_limit_counters")
        ),
    )
    op.create_table(
        "aml_daily_aggregates",
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("in_fen", sa.BigInteger(), nullable=False),
        sa.Column("out_fen", sa.BigInteger(), nullable=False),
        sa.Column("in_count", sa.BigInteger(), nullable=False),
        sa.Column("out_count", sa.BigInteger(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        _customer_fk("aml_daily_aggregates"),
        sa.PrimaryKeyConstraint(
            "customer_id", "business_date", name=op.f("pk_aml_daily_aggregates")
        ),
    )
    op.create_table(
        "aml_alerts",
        sa.Column("id", ID, nullable=False),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(120), nullable=False),
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(100), nullable=True),
        sa.Column("resolution", sa.String(500), nullable=True),
        sa.CheckConstraint(_in("status", ["open", "resolved"]), name=op.f("ck_aml_alerts_status")),
        _customer_fk("aml_alerts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aml_alerts")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_aml_alerts_dedupe_key")),
    )
    op.create_index(op.f("ix_aml_alerts_customer_id"), "aml_alerts", ["customer_id"])
    op.create_index("ix_aml_alerts_status_date", "aml_alerts", ["status", "business_date"])


def _transfers() -> None:
    table = "account_fund_transfers"
    op.create_table(
        table,
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("purpose", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(100), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("card_id", ID, nullable=True),
        sa.Column("counterparty_card", sa.String(), nullable=True),
        sa.Column("card_masked", sa.String(24), nullable=False),
        sa.Column("bank_name", sa.String(60), nullable=False),
        sa.Column("rail", sa.String(20), nullable=False),
        sa.Column("rail_reference", sa.String(40), nullable=True),
        sa.Column("failure_code", sa.String(60), nullable=True),
        sa.Column("hold_id", ID, nullable=True),
        sa.Column("entry_id", ID, nullable=True),
        sa.Column("reversal_entry_id", ID, nullable=True),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("settled_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(_in("kind", ["top_up", "withdrawal"]), name=op.f(f"ck_{table}_kind")),
        sa.CheckConstraint(
            _in("status", ["processing", "settled", "failed", "reversed", "reversal_shortfall"]),
            name=op.f(f"ck_{table}_status"),
        ),
        sa.CheckConstraint(
            _in("purpose", ["customer", "closing"]), name=op.f(f"ck_{table}_purpose")
        ),
        sa.CheckConstraint("amount_fen > 0", name=op.f(f"ck_{table}_amount_positive")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["class2_accounts.id"],
            name=op.f(f"fk_{table}_account_id_class2_accounts"),
        ),
        _customer_fk(table),
        sa.ForeignKeyConstraint(
            ["card_id"],
            ["class2_bound_cards.id"],
            name=op.f(f"fk_{table}_card_id_class2_bound_cards"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint(
            "customer_id", "idempotency_key", name=op.f(f"uq_{table}_customer_id_idempotency_key")
        ),
    )
    op.create_index(f"ix_{table}_account_requested", table, ["account_id", "requested_at"])
    op.create_index(f"ix_{table}_status_requested", table, ["status", "requested_at"])


def downgrade() -> None:
    op.drop_table("aml_alerts")
    op.drop_table("aml_daily_aggregates")
    op.drop_table("account_limit_counters")
    op.drop_table("account_fund_transfers")
