"""The rewards tables (migration ``0013``).

* ``rewards_items`` / ``rewards_coupon_codes`` / ``rewards_orders`` — the points mall. ``stock``
  never goes below zero (CHECK, and the conditional decrement that sells it). A coupon item's
  stock is the number of imported codes not yet assigned.
* ``rewards_projects`` / ``rewards_donations`` — public-welfare projects and points donated.
* ``rewards_rules`` — perk rules, versioned, maker-checker; ``rewards_grants`` the rights they
  gave (UNIQUE ``grant_key`` = rule, customer and period); ``rewards_rate_bonuses`` the rate
  bonus attached to one deposit holding until it is paid or forfeited.
* ``rewards_footprints`` — calculator results per customer over time.
* ``rewards_articles`` / ``rewards_questions`` / ``rewards_quiz_answers`` — knowledge and quizzes;
  one answer per customer and question (UNIQUE), so a repeated attempt earns nothing.

Customer ids are plain strings: domains do not reference each other's tables.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from greenbank.db import Base
from greenbank.ids import new_id


class Item(Base):
    __tablename__ = "rewards_items"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("points_price > 0", name="price_positive"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(1000))
    points_price: Mapped[int]
    stock: Mapped[int]
    per_customer_limit: Mapped[int | None]
    min_level: Mapped[str | None] = mapped_column(String(20))
    sale_from: Mapped[datetime | None]
    sale_until: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(10))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CouponCode(Base):
    __tablename__ = "rewards_coupon_codes"
    __table_args__ = (
        UniqueConstraint("item_id", "code"),
        Index("ix_rewards_coupon_codes_free", "item_id", "order_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    item_id: Mapped[str] = mapped_column(String(36), ForeignKey("rewards_items.id"))
    code: Mapped[str] = mapped_column(String(64))
    batch: Mapped[str] = mapped_column(String(100))
    order_id: Mapped[str | None] = mapped_column(String(36))  # None: still available
    imported_at: Mapped[datetime]
    assigned_at: Mapped[datetime | None]


class Order(Base):
    __tablename__ = "rewards_orders"
    __table_args__ = (
        UniqueConstraint("customer_id", "idempotency_key"),
        Index("ix_rewards_orders_customer", "customer_id", "item_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(String(128))
    item_id: Mapped[str] = mapped_column(String(36), ForeignKey("rewards_items.id"))
    quantity: Mapped[int]
    points: Mapped[int]
    status: Mapped[str] = mapped_column(String(10))
    idempotency_key: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))
    coupon_code: Mapped[str | None] = mapped_column(String(64))
    ship_to: Mapped[str | None] = mapped_column(String(300))
    tracking_no: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Project(Base):
    __tablename__ = "rewards_projects"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(1000))
    partner: Mapped[str] = mapped_column(String(100))
    unit_name: Mapped[str] = mapped_column(String(20))  # e.g. 棵 (trees)
    points_per_unit: Mapped[int]
    target_units: Mapped[int]
    funded_units: Mapped[int]
    donors: Mapped[int]
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Donation(Base):
    __tablename__ = "rewards_donations"
    __table_args__ = (UniqueConstraint("customer_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    project_id: Mapped[str] = mapped_column(String(36), ForeignKey("rewards_projects.id"))
    units: Mapped[int]
    points: Mapped[int]
    idempotency_key: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))
    certificate_no: Mapped[str] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime]


class RuleRow(Base):
    __tablename__ = "rewards_rules"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40))
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(20))  # draft, pending_approval, active, retired
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    submitted_by: Mapped[str | None] = mapped_column(String(100))
    submitted_at: Mapped[datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]


class GrantRow(Base):
    __tablename__ = "rewards_grants"
    __table_args__ = (Index("ix_rewards_grants_customer", "customer_id", "kind", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    grant_key: Mapped[str] = mapped_column(String(250), unique=True)
    rule_id: Mapped[str] = mapped_column(String(36), ForeignKey("rewards_rules.id"))
    rule_code: Mapped[str] = mapped_column(String(40))
    rule_version: Mapped[int]
    customer_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(30))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    coupon_code: Mapped[str | None] = mapped_column(String(40), unique=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)  # exclusive
    status: Mapped[str] = mapped_column(String(10))  # issued, used, revoked
    granted_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_ref: Mapped[str | None] = mapped_column(String(64))


class RateBonus(Base):
    __tablename__ = "rewards_rate_bonuses"

    holding_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    grant_id: Mapped[str] = mapped_column(String(36), ForeignKey("rewards_grants.id"), unique=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    bonus_rate: Mapped[str] = mapped_column(String(20))  # exact decimal fraction
    principal_fen: Mapped[int]
    value_date: Mapped[date] = mapped_column(Date)
    maturity_date: Mapped[date] = mapped_column(Date)
    expected_fen: Mapped[int]
    status: Mapped[str] = mapped_column(String(10))  # active, paid, forfeited
    paid_fen: Mapped[int]
    entry_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]


class FootprintRow(Base):
    __tablename__ = "rewards_footprints"
    __table_args__ = (Index("ix_rewards_footprints_customer", "customer_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(String(128))
    factors_version: Mapped[str] = mapped_column(String(20))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    total_mg: Mapped[int]
    created_at: Mapped[datetime]


class Article(Base):
    __tablename__ = "rewards_articles"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(10))  # draft, published, withdrawn
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]


class Question(Base):
    __tablename__ = "rewards_questions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    prompt: Mapped[str] = mapped_column(String(500))
    choices: Mapped[list[str]] = mapped_column(JSON)
    answer: Mapped[int]
    explanation: Mapped[str] = mapped_column(String(1000))
    source: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(10))  # draft, published, withdrawn
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class QuizAnswer(Base):
    __tablename__ = "rewards_quiz_answers"
    __table_args__ = (
        UniqueConstraint("customer_id", "question_id"),
        Index("ix_rewards_quiz_answers_day", "customer_id", "business_date"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(String(128))
    question_id: Mapped[str] = mapped_column(String(36), ForeignKey("rewards_questions.id"))
    business_date: Mapped[date] = mapped_column(Date)
    chosen: Mapped[int]
    correct: Mapped[bool]
    points: Mapped[int]
    answered_at: Mapped[datetime]
