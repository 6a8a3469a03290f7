"""Partners (open API): registry, keys, nonces, idempotency, request log, consent flow,
sandbox customers, reports, webhooks and their delivery log.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from greenbank.db import UTCDateTime

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(column: str, target: str, table: str) -> sa.ForeignKeyConstraint:
    ref_table = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [target], name=op.f(f"fk_{table}_{column}_{ref_table}")
    )


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("sandbox", sa.Boolean(), nullable=False),
        sa.Column("scenarios", sa.JSON(), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("ip_allow_list", sa.JSON(), nullable=False),
        sa.Column("rate_limit_per_minute", sa.BigInteger(), nullable=False),
        sa.Column("callback_key", sa.String(), nullable=True),
        sa.Column("pending_change", sa.JSON(), nullable=True),
        sa.Column("pending_change_by", sa.String(100), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("approved_by", sa.String(100), nullable=True),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending_approval', 'active', 'suspended', 'rejected')",
            name=op.f("ck_partners_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
    )
    op.create_table(
        "partner_keys",
        sa.Column("serial_no", sa.String(40), nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("public_key_pem", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        _fk("partner_id", "partners.id", "partner_keys"),
        sa.PrimaryKeyConstraint("serial_no", name=op.f("pk_partner_keys")),
    )
    op.create_index(op.f("ix_partner_keys_partner_id"), "partner_keys", ["partner_id"])
    op.create_table(
        "partner_nonces",
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "nonce", name=op.f("pk_partner_nonces")),
    )
    op.create_index("ix_partner_nonces_seen", "partner_nonces", ["partner_id", "seen_at"])
    op.create_index(op.f("ix_partner_nonces_expires_at"), "partner_nonces", ["expires_at"])
    op.create_table(
        "partner_idempotency",
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.BigInteger(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "key", name=op.f("pk_partner_idempotency")),
    )
    op.create_table(
        "partner_request_log",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=True),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("status", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(60), nullable=False),
        sa.Column("detail", sa.String(300), nullable=False),
        sa.Column("client_ip", sa.String(45), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_request_log")),
    )
    op.create_index("ix_partner_request_log_partner", "partner_request_log", ["partner_id", "at"])
    op.create_table(
        "partner_auth_requests",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("scenarios", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(128), nullable=False),
        sa.Column("redirect_uri", sa.String(500), nullable=True),
        sa.Column("hint_customer_id", sa.String(128), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=True),
        sa.Column("code_hash", sa.String(64), nullable=True),
        sa.Column("authorisation_id", sa.String(36), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        _fk("partner_id", "partners.id", "partner_auth_requests"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_auth_requests")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_partner_auth_requests_code_hash")),
    )
    op.create_index(
        op.f("ix_partner_auth_requests_partner_id"), "partner_auth_requests", ["partner_id"]
    )
    op.create_table(
        "partner_authorisations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("scenarios", sa.JSON(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("granted_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(100), nullable=True),
        _fk("partner_id", "partners.id", "partner_authorisations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_authorisations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_partner_authorisations_token_hash")),
    )
    op.create_index(
        "ix_partner_authorisations_customer",
        "partner_authorisations",
        ["customer_id", "partner_id"],
    )
    op.create_table(
        "partner_sandbox_customers",
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _fk("partner_id", "partners.id", "partner_sandbox_customers"),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_partner_sandbox_customers")),
    )
    op.create_index(
        op.f("ix_partner_sandbox_customers_partner_id"),
        "partner_sandbox_customers",
        ["partner_id"],
    )
    op.create_table(
        "partner_reports",
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("authorisation_id", sa.String(36), nullable=False),
        sa.Column("scenario", sa.String(40), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(40), nullable=True),
        sa.Column("detail", sa.String(500), nullable=True),
        sa.Column("credited_mg", sa.BigInteger(), nullable=False),
        sa.Column("carbon_event_id", sa.String(36), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "event_id", name=op.f("pk_partner_reports")),
    )
    op.create_table(
        "partner_webhooks",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        _fk("partner_id", "partners.id", "partner_webhooks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_webhooks")),
    )
    op.create_index(op.f("ix_partner_webhooks_partner_id"), "partner_webhooks", ["partner_id"])
    op.create_table(
        "partner_notifications",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("webhook_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _fk("webhook_id", "partner_webhooks.id", "partner_notifications"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_notifications")),
    )
    op.create_index(
        "ix_partner_notifications_partner", "partner_notifications", ["partner_id", "created_at"]
    )
    op.create_table(
        "partner_webhook_attempts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("notification_id", sa.String(36), nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("http_status", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(300), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=False),
        _fk("notification_id", "partner_notifications.id", "partner_webhook_attempts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_webhook_attempts")),
    )
    op.create_index(
        op.f("ix_partner_webhook_attempts_notification_id"),
        "partner_webhook_attempts",
        ["notification_id"],
    )


def downgrade() -> None:
    for table in (
        "partner_webhook_attempts",
        "partner_notifications",
        "partner_webhooks",
        "partner_reports",
        "partner_sandbox_customers",
        "partner_authorisations",
        "partner_auth_requests",
        "partner_request_log",
        "partner_idempotency",
        "partner_nonces",
        "partner_keys",
        "partners",
    ):
        op.drop_table(table)
