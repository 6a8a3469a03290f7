"""Carbon account: scenarios, methodologies (version 1 loaded), accounts, consents, events,
rejections, the carbon ledger, cap counters, points moves, re-computation runs.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from greenbank.db import UTCDateTime

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _customer() -> sa.Column[str]:
    return sa.Column("customer_id", sa.String(128), nullable=False)


def upgrade() -> None:
    op.create_table(
        "carbon_scenarios",
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_carbon_scenarios")),
    )
    op.create_table(
        "carbon_methodologies",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("scenario", sa.String(40), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("submitted_by", sa.String(100), nullable=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.Column("approved_by", sa.String(100), nullable=True),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("retired_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'pending_approval', 'published', 'retired')",
            name=op.f("ck_carbon_methodologies_status"),
        ),
        sa.ForeignKeyConstraint(
            ["scenario"],
            ["carbon_scenarios.code"],
            name=op.f("fk_carbon_methodologies_scenario_carbon_scenarios"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_methodologies")),
        sa.UniqueConstraint(
            "scenario", "version", name=op.f("uq_carbon_methodologies_scenario_version")
        ),
    )
    op.create_table(
        "carbon_accounts",
        _customer(),
        sa.Column("public_id", sa.String(36), nullable=False),
        sa.Column("terms_version", sa.String(20), nullable=False),
        sa.Column("consented_at", UTCDateTime(), nullable=False),
        sa.Column("lifetime_mg", sa.BigInteger(), nullable=False),
        sa.Column("carried_mg", sa.BigInteger(), nullable=False),
        sa.Column("points_earned", sa.BigInteger(), nullable=False),
        sa.Column("points_balance", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("rank_opt_in", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("points_balance >= 0", name=op.f("ck_carbon_accounts_points_balance")),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_carbon_accounts")),
        sa.UniqueConstraint("public_id", name=op.f("uq_carbon_accounts_public_id")),
    )
    op.create_table(
        "carbon_consents",
        sa.Column("id", sa.String(36), nullable=False),
        _customer(),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("scenario", sa.String(40), nullable=False),
        sa.Column("terms_version", sa.String(20), nullable=False),
        sa.Column("granted_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_consents")),
    )
    op.create_index(
        "ix_carbon_consents_customer", "carbon_consents", ["customer_id", "source", "scenario"]
    )
    op.create_table(
        "carbon_events",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("source_event_id", sa.String(128), nullable=False),
        _customer(),
        sa.Column("scenario", sa.String(40), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(20), nullable=True),
        sa.Column("detail", sa.String(500), nullable=True),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("credited_mg", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "status IN ('accepted', 'rejected')", name=op.f("ck_carbon_events_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_events")),
        sa.UniqueConstraint(
            "source", "source_event_id", name=op.f("uq_carbon_events_source_source_event_id")
        ),
    )
    op.create_table(
        "carbon_rejections",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(128), nullable=True),
        sa.Column("source_event_id", sa.String(128), nullable=True),
        sa.Column("customer_id", sa.String(128), nullable=True),
        sa.Column("scenario", sa.String(128), nullable=True),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_rejections")),
    )
    op.create_index(op.f("ix_carbon_rejections_received_at"), "carbon_rejections", ["received_at"])
    op.create_index("ix_carbon_rejections_reason", "carbon_rejections", ["reason", "received_at"])
    op.create_table(
        "carbon_entries",
        sa.Column("id", sa.String(36), nullable=False),
        _customer(),
        sa.Column("scenario", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("methodology_id", sa.String(36), nullable=False),
        sa.Column("methodology_version", sa.BigInteger(), nullable=False),
        sa.Column("co2e_mg", sa.BigInteger(), nullable=False),
        sa.Column("computed_mg", sa.BigInteger(), nullable=False),
        sa.Column("capped", sa.Boolean(), nullable=False),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.String(1000), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("run_id", sa.String(36), nullable=True),
        sa.CheckConstraint("kind IN ('credit', 'adjustment')", name=op.f("ck_carbon_entries_kind")),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["carbon_events.id"],
            name=op.f("fk_carbon_entries_event_id_carbon_events"),
        ),
        sa.ForeignKeyConstraint(
            ["methodology_id"],
            ["carbon_methodologies.id"],
            name=op.f("fk_carbon_entries_methodology_id_carbon_methodologies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_entries")),
    )
    op.create_index("ix_carbon_entries_customer", "carbon_entries", ["customer_id", "id"])
    op.create_index(
        "ix_carbon_entries_scenario",
        "carbon_entries",
        ["scenario", "customer_id", "business_date"],
    )
    op.create_table(
        "carbon_counters",
        _customer(),
        sa.Column("scenario", sa.String(40), nullable=False),
        sa.Column("period", sa.String(80), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("co2e_mg", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "customer_id", "scenario", "period", name=op.f("pk_carbon_counters")
        ),
    )
    op.create_table(
        "carbon_points_moves",
        sa.Column("id", sa.String(36), nullable=False),
        _customer(),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(100), nullable=False),
        sa.Column("retire_key", sa.String(100), nullable=True),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('retire', 'return')", name=op.f("ck_carbon_points_moves_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_points_moves")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_carbon_points_moves_idempotency_key")),
    )
    op.create_index(
        op.f("ix_carbon_points_moves_customer_id"), "carbon_points_moves", ["customer_id"]
    )
    op.create_index(
        op.f("ix_carbon_points_moves_retire_key"), "carbon_points_moves", ["retire_key"]
    )
    op.create_table(
        "carbon_recompute_runs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("methodology_id", sa.String(36), nullable=False),
        sa.Column("scenario", sa.String(40), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("cursor", sa.String(128), nullable=True),
        sa.Column("customers_done", sa.BigInteger(), nullable=False),
        sa.Column("events_seen", sa.BigInteger(), nullable=False),
        sa.Column("adjusted", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.BigInteger(), nullable=False),
        sa.Column("delta_mg", sa.BigInteger(), nullable=False),
        sa.Column("started_by", sa.String(100), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["methodology_id"],
            ["carbon_methodologies.id"],
            name=op.f("fk_carbon_recompute_runs_methodology_id_carbon_methodologies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_recompute_runs")),
        sa.UniqueConstraint("methodology_id", name=op.f("uq_carbon_recompute_runs_methodology_id")),
    )
    op.create_table(
        "carbon_recompute_changes",
        sa.Column("run_id", sa.String(36), nullable=False),
        _customer(),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("old_mg", sa.BigInteger(), nullable=False),
        sa.Column("new_mg", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["carbon_recompute_runs.id"],
            name=op.f("fk_carbon_recompute_changes_run_id_carbon_recompute_runs"),
        ),
        sa.PrimaryKeyConstraint("run_id", "customer_id", name=op.f("pk_carbon_recompute_changes")),
    )
    _load_version_1()


def _load_version_1() -> None:
    """Every database starts with the version-1 methodologies (idempotent, like the seed)."""
    from greenbank.carbon.catalog import install_v1

    install_v1(op.get_bind(), now=datetime.now(UTC), actor="migration 0007")


def downgrade() -> None:
    for table in (
        "carbon_recompute_changes",
        "carbon_recompute_runs",
        "carbon_points_moves",
        "carbon_counters",
        "carbon_entries",
        "carbon_rejections",
        "carbon_events",
        "carbon_consents",
        "carbon_accounts",
        "carbon_methodologies",
        "carbon_scenarios",
    ):
        op.drop_table(table)
