"""The bus: outbox, per-consumer deliveries, processed events.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from greenbank.db import UTCDateTime

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bus_outbox",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("aggregate_type", sa.String(60), nullable=False),
        sa.Column("aggregate_id", sa.String(64), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("routed_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bus_outbox")),
        sa.UniqueConstraint(
            "aggregate_type",
            "aggregate_id",
            "sequence",
            name=op.f("uq_bus_outbox_aggregate_type_aggregate_id_sequence"),
        ),
    )
    op.create_index(op.f("ix_bus_outbox_status"), "bus_outbox", ["status"])
    op.create_table(
        "bus_deliveries",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("aggregate_type", sa.String(60), nullable=False),
        sa.Column("aggregate_id", sa.String(64), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("locked_by", sa.String(64), nullable=True),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bus_deliveries")),
        sa.UniqueConstraint(
            "event_id", "consumer", name=op.f("uq_bus_deliveries_event_id_consumer")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["bus_outbox.id"],
            name=op.f("fk_bus_deliveries_event_id_bus_outbox"),
        ),
    )
    op.create_index(op.f("ix_bus_deliveries_due"), "bus_deliveries", ["status", "next_attempt_at"])
    op.create_index(
        op.f("ix_bus_deliveries_chain"),
        "bus_deliveries",
        ["consumer", "aggregate_type", "aggregate_id", "sequence"],
    )
    op.create_table(
        "bus_processed_events",
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_bus_processed_events")),
    )


def downgrade() -> None:
    op.drop_table("bus_processed_events")
    op.drop_table("bus_deliveries")
    op.drop_table("bus_outbox")
