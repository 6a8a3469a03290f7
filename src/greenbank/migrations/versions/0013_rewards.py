"""Rewards: the points mall, donations, perk rules and grants, footprints, knowledge and quizzes.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from greenbank.db import UTCDateTime

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rewards_articles",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rewards_articles")),
    )
    op.create_table(
        "rewards_footprints",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("factors_version", sa.String(20), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("total_mg", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rewards_footprints")),
    )
    op.create_index(
        op.f("ix_rewards_footprints_customer"),
        "rewards_footprints",
        ["customer_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "rewards_items",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(1000), nullable=False),
        sa.Column("points_price", sa.BigInteger(), nullable=False),
        sa.Column("stock", sa.BigInteger(), nullable=False),
        sa.Column("per_customer_limit", sa.BigInteger(), nullable=True),
        sa.Column("min_level", sa.String(20), nullable=True),
        sa.Column("sale_from", UTCDateTime(), nullable=True),
        sa.Column("sale_until", UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("points_price > 0", name=op.f("ck_rewards_items_price_positive")),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_rewards_items_stock_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rewards_items")),
        sa.UniqueConstraint("code", name=op.f("uq_rewards_items_code")),
    )
    op.create_table(
        "rewards_projects",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(1000), nullable=False),
        sa.Column("partner", sa.String(100), nullable=False),
        sa.Column("unit_name", sa.String(20), nullable=False),
        sa.Column("points_per_unit", sa.BigInteger(), nullable=False),
        sa.Column("target_units", sa.BigInteger(), nullable=False),
        sa.Column("funded_units", sa.BigInteger(), nullable=False),
        sa.Column("donors", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rewards_projects")),
        sa.UniqueConstraint("code", name=op.f("uq_rewards_projects_code")),
    )
    op.create_table(
        "rewards_questions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("prompt", sa.String(500), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("answer", sa.BigInteger(), nullable=False),
        sa.Column("explanation", sa.String(1000), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rewards_questions")),
    )
    op.create_table(
        "rewards_rules",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("submitted_by", sa.String(100), nullable=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.Column("approved_by", sa.String(100), nullable=True),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("retired_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rewards_rules")),
        sa.UniqueConstraint("code", "version", name=op.f("uq_rewards_rules_code_version")),
    )
    op.create_table(
        "rewards_coupon_codes",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("item_id", sa.String(36), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("batch", sa.String(100), nullable=False),
        sa.Column("order_id", sa.String(36), nullable=True),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.Column("assigned_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["rewards_items.id"],
            name=op.f("fk_rewards_coupon_codes_item_id_rewards_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rewards_coupon_codes")),
        sa.UniqueConstraint("item_id", "code", name=op.f("uq_rewards_coupon_codes_item_id_code")),
    )
    op.create_index(
        op.f("ix_rewards_coupon_codes_free"),
        "rewards_coupon_codes",
        ["item_id", "order_id"],
        unique=False,
    )
    op.create_table(
        "rewards_donations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(100), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("certificate_no", sa.String(40), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["rewards_projects.id"],
            name=op.f("fk_rewards_donations_project_id_rewards_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rewards_donations")),
        sa.UniqueConstraint("certificate_no", name=op.f("uq_rewards_donations_certificate_no")),
        sa.UniqueConstraint(
            "customer_id",
            "idempotency_key",
            name=op.f("uq_rewards_donations_customer_id_idempotency_key"),
        ),
    )
    op.create_index(
        op.f("ix_rewards_donations_customer_id"), "rewards_donations", ["customer_id"], unique=False
    )
    op.create_table(
        "rewards_grants",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("grant_key", sa.String(250), nullable=False),
        sa.Column("rule_id", sa.String(36), nullable=False),
        sa.Column("rule_code", sa.String(40), nullable=False),
        sa.Column("rule_version", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("coupon_code", sa.String(40), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("granted_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("used_ref", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["rewards_rules.id"], name=op.f("fk_rewards_grants_rule_id_rewards_rules")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rewards_grants")),
        sa.UniqueConstraint("grant_key", name=op.f("uq_rewards_grants_grant_key")),
        sa.UniqueConstraint("coupon_code", name=op.f("uq_rewards_grants_coupon_code")),
    )
    op.create_index(
        op.f("ix_rewards_grants_customer"),
        "rewards_grants",
        ["customer_id", "kind", "status"],
        unique=False,
    )
    op.create_table(
        "rewards_orders",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("item_id", sa.String(36), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("idempotency_key", sa.String(100), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("coupon_code", sa.String(64), nullable=True),
        sa.Column("ship_to", sa.String(300), nullable=True),
        sa.Column("tracking_no", sa.String(64), nullable=True),
        sa.Column("note", sa.String(300), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["rewards_items.id"], name=op.f("fk_rewards_orders_item_id_rewards_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rewards_orders")),
        sa.UniqueConstraint(
            "customer_id",
            "idempotency_key",
            name=op.f("uq_rewards_orders_customer_id_idempotency_key"),
        ),
    )
    op.create_index(
        op.f("ix_rewards_orders_customer"),
        "rewards_orders",
        ["customer_id", "item_id", "status"],
        unique=False,
    )
    op.create_table(
        "rewards_quiz_answers",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("question_id", sa.String(36), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("chosen", sa.BigInteger(), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["rewards_questions.id"],
            name=op.f("fk_rewards_quiz_answers_question_id_rewards_questions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rewards_quiz_answers")),
        sa.UniqueConstraint(
            "customer_id",
            "question_id",
            name=op.f("uq_rewards_quiz_answers_customer_id_question_id"),
        ),
    )
    op.create_index(
        op.f("ix_rewards_quiz_answers_day"),
        "rewards_quiz_answers",
        ["customer_id", "business_date"],
        unique=False,
    )
    op.create_table(
        "rewards_rate_bonuses",
        sa.Column("holding_id", sa.String(36), nullable=False),
        sa.Column("grant_id", sa.String(36), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("bonus_rate", sa.String(20), nullable=False),
        sa.Column("principal_fen", sa.BigInteger(), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("maturity_date", sa.Date(), nullable=False),
        sa.Column("expected_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("paid_fen", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.String(36), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("settled_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["rewards_grants.id"],
            name=op.f("fk_rewards_rate_bonuses_grant_id_rewards_grants"),
        ),
        sa.PrimaryKeyConstraint("holding_id", name=op.f("pk_rewards_rate_bonuses")),
        sa.UniqueConstraint("grant_id", name=op.f("uq_rewards_rate_bonuses_grant_id")),
    )
    op.create_index(
        op.f("ix_rewards_rate_bonuses_customer_id"),
        "rewards_rate_bonuses",
        ["customer_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("rewards_rate_bonuses")
    op.drop_table("rewards_quiz_answers")
    op.drop_table("rewards_orders")
    op.drop_table("rewards_grants")
    op.drop_table("rewards_donations")
    op.drop_table("rewards_coupon_codes")
    op.drop_table("rewards_rules")
    op.drop_table("rewards_questions")
    op.drop_table("rewards_projects")
    op.drop_table("rewards_items")
    op.drop_table("rewards_footprints")
    op.drop_table("rewards_articles")
