"""The carbon account tables (see README "Service layer").

* ``carbon_scenarios`` / ``carbon_methodologies`` — scenarios and their versioned methodologies;
  ``definition`` is the mapping ``loader.parse_methodology`` reads. Status: draft ->
  pending_approval -> published (or retired when withdrawn). Published rows are never edited.
* ``carbon_accounts`` — one per customer who opened an account (terms accepted, with time and
  version). The row is the customer's lock: every credit, adjustment and points move takes it.
* ``carbon_consents`` — one row per (source, scenario) grant; revocation sets ``revoked_at``.
* ``carbon_events`` — behaviour events that consumed their (source, source_event_id), UNIQUE:
  accepted ones and those refused late, unconsented or over the cap. A retry finds its answer here.
* ``carbon_rejections`` — every refused event with its reason code, kept for staff.
* ``carbon_entries`` — the carbon ledger, append-only: credits and recompute adjustments (signed).
* ``carbon_counters`` — cap windows (day, month, lifetime, month per input) per customer.
* ``carbon_points_moves`` — points retired (spent), returned and awarded (e.g. quiz answers, not
  carbon), each with a UNIQUE idempotency key.
* ``carbon_recompute_runs`` / ``carbon_recompute_changes`` — re-computation progress and the
  per-customer change report.
* ``carbon_certificates`` — sealed reduction certificates: the masked figures as printed, the
  verification code, and the stored PDF's key and SM3. Never updated. UNIQUE (customer, business
  day, fingerprint of the figures): asking again the same day with nothing changed returns it.
* ``carbon_certificate_checks`` — public verification attempts (by code, download, upload): the
  per-client rate limit, like ``receipt_verifications``; holds a keyed hash of the IP, not the IP.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from greenbank.db import Base
from greenbank.ids import new_id

DRAFT, PENDING_APPROVAL, PUBLISHED, RETIRED = "draft", "pending_approval", "published", "retired"
METHODOLOGY_STATUSES = (DRAFT, PENDING_APPROVAL, PUBLISHED, RETIRED)
ACCEPTED, REJECTED = "accepted", "rejected"
CREDIT, ADJUSTMENT = "credit", "adjustment"
RETIRE, RETURN, AWARD = "retire", "return", "award"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Scenario(Base):
    __tablename__ = "carbon_scenarios"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool]
    created_at: Mapped[datetime]


class MethodologyRow(Base):
    __tablename__ = "carbon_methodologies"
    __table_args__ = (
        UniqueConstraint("scenario", "version"),
        CheckConstraint(_in("status", METHODOLOGY_STATUSES), name="status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    scenario: Mapped[str] = mapped_column(String(40), ForeignKey("carbon_scenarios.code"))
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    effective_from: Mapped[date] = mapped_column(Date)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    problems: Mapped[list[str]] = mapped_column(JSON)  # from the last validation
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    submitted_by: Mapped[str | None] = mapped_column(String(100))
    submitted_at: Mapped[datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]


class CarbonAccount(Base):
    __tablename__ = "carbon_accounts"
    __table_args__ = (CheckConstraint("points_balance >= 0", name="points_balance"),)

    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    terms_version: Mapped[str] = mapped_column(String(20))
    consented_at: Mapped[datetime]
    lifetime_mg: Mapped[int] = mapped_column(default=0)
    carried_mg: Mapped[int] = mapped_column(default=0)  # below one point, carried to the next
    points_earned: Mapped[int] = mapped_column(default=0)
    points_balance: Mapped[int] = mapped_column(default=0)
    level: Mapped[str] = mapped_column(String(20))
    rank_opt_in: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]


class Consent(Base):
    __tablename__ = "carbon_consents"
    __table_args__ = (Index("ix_carbon_consents_customer", "customer_id", "source", "scenario"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(64))
    scenario: Mapped[str] = mapped_column(String(40))
    terms_version: Mapped[str] = mapped_column(String(20))
    granted_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class EventRow(Base):
    __tablename__ = "carbon_events"
    __table_args__ = (
        UniqueConstraint("source", "source_event_id"),
        CheckConstraint(_in("status", (ACCEPTED, REJECTED)), name="status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    source: Mapped[str] = mapped_column(String(128))
    source_event_id: Mapped[str] = mapped_column(String(128))
    customer_id: Mapped[str] = mapped_column(String(128))
    scenario: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(String(500))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    fingerprint: Mapped[str] = mapped_column(String(64))  # tells a retry from a clash
    credited_mg: Mapped[int]  # the first credit (adjustments are in the ledger)


class Rejection(Base):
    __tablename__ = "carbon_rejections"
    __table_args__ = (Index("ix_carbon_rejections_reason", "reason", "received_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    source: Mapped[str | None] = mapped_column(String(128))
    source_event_id: Mapped[str | None] = mapped_column(String(128))
    customer_id: Mapped[str | None] = mapped_column(String(128))
    scenario: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(String(500))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class Entry(Base):
    """One line of the carbon ledger. Never updated: a correction is an ``adjustment`` line."""

    __tablename__ = "carbon_entries"
    __table_args__ = (
        CheckConstraint(_in("kind", (CREDIT, ADJUSTMENT)), name="kind"),
        Index("ix_carbon_entries_customer", "customer_id", "id"),
        Index("ix_carbon_entries_scenario", "scenario", "customer_id", "business_date"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128))
    scenario: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(12))
    event_id: Mapped[str] = mapped_column(String(36), ForeignKey("carbon_events.id"))
    methodology_id: Mapped[str] = mapped_column(String(36), ForeignKey("carbon_methodologies.id"))
    methodology_version: Mapped[int]
    co2e_mg: Mapped[int]  # credited (a credit) or new minus old (an adjustment)
    computed_mg: Mapped[int]  # what the formula gave before any cap
    capped: Mapped[bool]
    provisional: Mapped[bool]
    parameters: Mapped[dict[str, str]] = mapped_column(JSON)  # name -> value used
    explanation: Mapped[str] = mapped_column(String(1000))
    business_date: Mapped[date] = mapped_column(Date)
    points: Mapped[int]
    created_at: Mapped[datetime]
    run_id: Mapped[str | None] = mapped_column(String(36))  # the re-computation, if any


class Counter(Base):
    __tablename__ = "carbon_counters"

    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    scenario: Mapped[str] = mapped_column(String(40), primary_key=True)
    period: Mapped[str] = mapped_column(String(80), primary_key=True)  # CounterKey.window
    events: Mapped[int]
    co2e_mg: Mapped[int]


class PointsMove(Base):
    __tablename__ = "carbon_points_moves"
    __table_args__ = (CheckConstraint(_in("kind", (RETIRE, RETURN, AWARD)), name="kind"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    points: Mapped[int]  # positive; the kind says which way
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    retire_key: Mapped[str | None] = mapped_column(String(100), index=True)  # what a return undoes
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class RecomputeRun(Base):
    __tablename__ = "carbon_recompute_runs"
    __table_args__ = (UniqueConstraint("methodology_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    methodology_id: Mapped[str] = mapped_column(String(36), ForeignKey("carbon_methodologies.id"))
    scenario: Mapped[str] = mapped_column(String(40))
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(10))  # running | done
    cursor: Mapped[str | None] = mapped_column(String(128))  # last customer done
    customers_done: Mapped[int] = mapped_column(default=0)
    events_seen: Mapped[int] = mapped_column(default=0)
    adjusted: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)
    delta_mg: Mapped[int] = mapped_column(default=0)
    started_by: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class RecomputeChange(Base):
    __tablename__ = "carbon_recompute_changes"

    run_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("carbon_recompute_runs.id"), primary_key=True
    )
    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    events: Mapped[int]
    old_mg: Mapped[int]
    new_mg: Mapped[int]


class Certificate(Base):
    __tablename__ = "carbon_certificates"
    __table_args__ = (
        UniqueConstraint("customer_id", "business_date", "fingerprint"),
        CheckConstraint("lifetime_mg >= 0 AND provisional_mg >= 0", name="figures"),
        Index("ix_carbon_certificates_day", "business_date"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    certificate_no: Mapped[str] = mapped_column(String(24), unique=True)
    customer_id: Mapped[str] = mapped_column(String(128))
    business_date: Mapped[date] = mapped_column(Date)
    fingerprint: Mapped[str] = mapped_column(String(64))  # SM3 of the printed figures
    issued_at: Mapped[datetime]  # the figures are as of this moment
    masked_name: Mapped[str] = mapped_column(String(100))
    since: Mapped[date] = mapped_column(Date)  # the account's opening day
    lifetime_mg: Mapped[int]
    provisional_mg: Mapped[int]  # part of lifetime_mg computed with provisional factors
    level: Mapped[str] = mapped_column(String(20))
    trees: Mapped[str] = mapped_column(String(20))  # Decimal, stored exactly as text
    tree_source: Mapped[str] = mapped_column(String(500))
    tree_provisional: Mapped[bool]
    top_scenarios: Mapped[list[str]] = mapped_column(JSON)
    verification_code: Mapped[str] = mapped_column(String(10))
    pdf_key: Mapped[str] = mapped_column(String(200))
    pdf_sm3: Mapped[str] = mapped_column(String(64))
    pdf_size: Mapped[int]


class CertificateCheck(Base):
    __tablename__ = "carbon_certificate_checks"
    __table_args__ = (
        Index("ix_carbon_certificate_checks_client", "client", "at"),
        Index("ix_carbon_certificate_checks_day", "business_date", "method"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    at: Mapped[datetime]
    business_date: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(12))
    outcome: Mapped[str] = mapped_column(String(32))
    certificate_no: Mapped[str | None] = mapped_column(String(24))
    client: Mapped[str] = mapped_column(String(32))  # HMAC-SM3 of the client IP, not the IP


# Core tables for the set-based paths (bulk inserts and updates without ORM objects).
ACCOUNTS = cast(Table, CarbonAccount.__table__)
CONSENTS = cast(Table, Consent.__table__)
COUNTERS = cast(Table, Counter.__table__)
ENTRIES = cast(Table, Entry.__table__)
EVENTS = cast(Table, EventRow.__table__)
REJECTIONS = cast(Table, Rejection.__table__)
