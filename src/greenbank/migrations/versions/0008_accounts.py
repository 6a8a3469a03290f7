"""Class II accounts, bound cards and online account opening (applications, checks, consents,
review queue, velocity records, blacklist, idempotency keys, sandbox vendor calls).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from greenbank.db import UTCDateTime

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(36)
BIDX = sa.String(64)


def _in(column: str, values: list[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "class2_accounts",
        sa.Column("id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("account_number", sa.String(19), nullable=False),
        sa.Column("ledger_account_id", ID, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("status_reason", sa.String(200), nullable=True),
        sa.Column("branch_code", sa.String(12), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=True),
        sa.Column("application_id", ID, nullable=True),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            _in("status", ["active", "restricted", "frozen", "closed"]),
            name=op.f("ck_class2_accounts_status"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_class2_accounts_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["ledger_account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_class2_accounts_ledger_account_id_ledger_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_class2_accounts")),
        sa.UniqueConstraint("account_number", name=op.f("uq_class2_accounts_account_number")),
        sa.UniqueConstraint("ledger_account_id", name=op.f("uq_class2_accounts_ledger_account_id")),
    )
    op.create_index(op.f("ix_class2_accounts_customer_id"), "class2_accounts", ["customer_id"])

    op.create_table(
        "class2_bound_cards",
        sa.Column("id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("card_number", sa.String(), nullable=False),
        sa.Column("card_number_bidx", BIDX, nullable=False),
        sa.Column("masked_number", sa.String(24), nullable=False),
        sa.Column("bank_code", sa.String(20), nullable=False),
        sa.Column("bank_name", sa.String(60), nullable=False),
        sa.Column("bin", sa.String(10), nullable=False),
        sa.Column("bank_mobile_bidx", BIDX, nullable=False),
        sa.Column("bank_mobile_masked", sa.String(11), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("bound_at", UTCDateTime(), nullable=False),
        sa.Column("replaced_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            _in("status", ["active", "replaced"]), name=op.f("ck_class2_bound_cards_status")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["class2_accounts.id"],
            name=op.f("fk_class2_bound_cards_account_id_class2_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_class2_bound_cards")),
    )
    op.create_index(op.f("ix_class2_bound_cards_account_id"), "class2_bound_cards", ["account_id"])
    op.create_index(
        op.f("ix_class2_bound_cards_card_number_bidx"), "class2_bound_cards", ["card_number_bidx"]
    )

    op.create_table(
        "class2_account_number_counters",
        sa.Column("prefix", sa.String(18), nullable=False),
        sa.Column("next_value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", name=op.f("pk_class2_account_number_counters")),
    )

    _applications()
    _around_applications()
    _standalone()


def _applications() -> None:
    op.create_table(
        "account_applications",
        sa.Column("id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("open_customer_slot", ID, nullable=True),
        sa.Column("open_person_slot", BIDX, nullable=True),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("id_number", sa.String(), nullable=True),
        sa.Column("id_number_bidx", BIDX, nullable=True),
        sa.Column("address", sa.String(), nullable=True),
        sa.Column("sex", sa.String(6), nullable=True),
        sa.Column("nationality", sa.String(3), nullable=True),
        sa.Column("ethnicity", sa.String(20), nullable=True),
        sa.Column("id_valid_from", sa.Date(), nullable=True),
        sa.Column("id_valid_to", sa.Date(), nullable=True),
        sa.Column("occupation", sa.String(100), nullable=True),
        sa.Column("declared_residence", sa.String(), nullable=True),
        sa.Column("region_code", sa.String(6), nullable=True),
        sa.Column("ocr_fields", sa.JSON(), nullable=True),
        sa.Column("liveness_token_hash", sa.String(64), nullable=True),
        sa.Column("liveness_actions", sa.JSON(), nullable=True),
        sa.Column("liveness_expires_at", UTCDateTime(), nullable=True),
        sa.Column("face_attempts", sa.BigInteger(), nullable=False),
        sa.Column("face_template", sa.String(), nullable=True),
        sa.Column("face_similarity", sa.BigInteger(), nullable=True),
        sa.Column("card_number", sa.String(), nullable=True),
        sa.Column("card_number_bidx", BIDX, nullable=True),
        sa.Column("card_bin", sa.String(10), nullable=True),
        sa.Column("card_bank_code", sa.String(20), nullable=True),
        sa.Column("card_bank_name", sa.String(60), nullable=True),
        sa.Column("card_needs_review", sa.Boolean(), nullable=False),
        sa.Column("bank_mobile", sa.String(), nullable=True),
        sa.Column("bank_mobile_bidx", BIDX, nullable=True),
        sa.Column("card_attempts", sa.BigInteger(), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=True),
        sa.Column("client_ip", sa.String(45), nullable=True),
        sa.Column("risk_reasons", sa.JSON(), nullable=True),
        sa.Column("refusal_code", sa.String(60), nullable=True),
        sa.Column("account_id", ID, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            _in(
                "state",
                [
                    "started",
                    "id_captured",
                    "id_verified",
                    "face_verified",
                    "card_bound",
                    "in_review",
                    "opened",
                    "refused",
                    "cancelled",
                ],
            ),
            name=op.f("ck_account_applications_state"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_account_applications_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["class2_accounts.id"],
            name=op.f("fk_account_applications_account_id_class2_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_applications")),
        sa.UniqueConstraint(
            "open_customer_slot", name=op.f("uq_account_applications_open_customer_slot")
        ),
        sa.UniqueConstraint(
            "open_person_slot", name=op.f("uq_account_applications_open_person_slot")
        ),
    )
    for column in ("customer_id", "state", "id_number_bidx"):
        op.create_index(op.f(f"ix_account_applications_{column}"), "account_applications", [column])


def _fk_application(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["application_id"],
        ["account_applications.id"],
        name=op.f(f"fk_{table}_application_id_account_applications"),
    )


def _around_applications() -> None:
    op.create_table(
        "account_check_results",
        sa.Column("id", ID, nullable=False),
        sa.Column("application_id", ID, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("result_code", sa.String(40), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        _fk_application("account_check_results"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_check_results")),
    )
    op.create_index(
        op.f("ix_account_check_results_application_id"),
        "account_check_results",
        ["application_id"],
    )

    op.create_table(
        "account_consents",
        sa.Column("id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("application_id", ID, nullable=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("version", sa.String(20), nullable=False),
        sa.Column("granted_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            _in("kind", ["terms", "personal_information", "sensitive_face"]),
            name=op.f("ck_account_consents_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_account_consents_customer_id_customers"),
        ),
        _fk_application("account_consents"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_consents")),
    )
    op.create_index(op.f("ix_account_consents_customer_id"), "account_consents", ["customer_id"])

    op.create_table(
        "account_review_items",
        sa.Column("id", ID, nullable=False),
        sa.Column("application_id", ID, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("decision_reason", sa.String(500), nullable=True),
        sa.CheckConstraint(
            _in("status", ["open", "approved", "refused"]),
            name=op.f("ck_account_review_items_status"),
        ),
        _fk_application("account_review_items"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_review_items")),
        sa.UniqueConstraint("application_id", name=op.f("uq_account_review_items_application_id")),
    )
    op.create_index(op.f("ix_account_review_items_status"), "account_review_items", ["status"])

    op.create_table(
        "account_velocity_records",
        sa.Column("id", ID, nullable=False),
        sa.Column("application_id", ID, nullable=False),
        sa.Column("subject", sa.String(10), nullable=False),
        sa.Column("key", BIDX, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        _fk_application("account_velocity_records"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_velocity_records")),
        sa.UniqueConstraint("application_id", "subject", name="uq_account_velocity_records_once"),
    )
    op.create_index(
        "ix_account_velocity_records_subject",
        "account_velocity_records",
        ["subject", "key", "at"],
    )


def _standalone() -> None:
    op.create_table(
        "account_blacklist",
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("key", BIDX, nullable=False),
        sa.Column("label", sa.String(40), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            _in("kind", ["id_number", "card", "phone", "device", "ip"]),
            name=op.f("ck_account_blacklist_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_blacklist")),
        sa.UniqueConstraint("kind", "key", name="uq_account_blacklist_kind_key"),
    )

    op.create_table(
        "account_idempotency_keys",
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status_code", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "key", name=op.f("pk_account_idempotency_keys")),
    )

    op.create_table(
        "account_sandbox_vendor_calls",
        sa.Column("id", ID, nullable=False),
        sa.Column("vendor", sa.String(30), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("result_code", sa.String(40), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_sandbox_vendor_calls")),
    )
    op.create_index(
        "ix_account_sandbox_vendor_calls_subject",
        "account_sandbox_vendor_calls",
        ["vendor", "subject"],
    )


def downgrade() -> None:
    for table in (
        "account_sandbox_vendor_calls",
        "account_idempotency_keys",
        "account_blacklist",
        "account_velocity_records",
        "account_review_items",
        "account_consents",
        "account_check_results",
        "account_applications",
        "class2_account_number_counters",
        "class2_bound_cards",
        "class2_accounts",
    ):
        op.drop_table(table)
