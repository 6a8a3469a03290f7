"""The open API's tables (migration 0012).

* ``partners`` — the registry: profile, scenarios, redirect URIs, IP allow-list, rate limit,
  sandbox or production, maker-checker fields, a pending change, the callback key (encrypted).
* ``partner_keys`` — partners' SM2 public keys by serial; several may be active (rotation).
* ``partner_nonces`` — nonces seen inside the replay window; also the rate-limit counter.
* ``partner_idempotency`` — the first answer to each (partner, Idempotency-Key).
* ``partner_request_log`` — every refused request, for the partner's and the bank's eyes.
* ``partner_auth_requests`` / ``partner_authorisations`` — the consent flow and its grants
  (customer tokens are stored only as SM3 hashes).
* ``partner_sandbox_customers`` — customers that exist only for sandbox partners.
* ``partner_reports`` — what became of each event a partner reported (first answer).
* ``partner_webhooks`` / ``partner_notifications`` / ``partner_webhook_attempts`` — subscriptions,
  callbacks and the delivery log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from greenbank.db import Base
from greenbank.ids import new_id
from greenbank.pii import EncryptedString

PENDING_APPROVAL, ACTIVE, SUSPENDED, REJECTED = (
    "pending_approval",
    "active",
    "suspended",
    "rejected",
)
REVOKED = "revoked"
PENDING, APPROVED, DENIED, EXCHANGED = "pending", "approved", "denied", "exchanged"
DELETED = "deleted"


class Partner(Base):
    __tablename__ = "partners"
    __table_args__ = (
        CheckConstraint(
            f"status IN ('{PENDING_APPROVAL}', '{ACTIVE}', '{SUSPENDED}', '{REJECTED}')",
            name="status",
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    sandbox: Mapped[bool]
    scenarios: Mapped[list[str]] = mapped_column(JSON)
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    ip_allow_list: Mapped[list[str]] = mapped_column(JSON)
    rate_limit_per_minute: Mapped[int]
    callback_key: Mapped[str | None] = mapped_column(EncryptedString())  # base64, 16 bytes
    pending_change: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    pending_change_by: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    approved_by: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class PartnerKey(Base):
    __tablename__ = "partner_keys"

    serial_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    partner_id: Mapped[str] = mapped_column(String(64), ForeignKey("partners.id"), index=True)
    public_key_pem: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))  # active | revoked
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Nonce(Base):
    __tablename__ = "partner_nonces"
    __table_args__ = (Index("ix_partner_nonces_seen", "partner_id", "seen_at"),)

    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class IdempotentAnswer(Base):
    __tablename__ = "partner_idempotency"

    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class RequestLog(Base):
    __tablename__ = "partner_request_log"
    __table_args__ = (Index("ix_partner_request_log_partner", "partner_id", "at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    at: Mapped[datetime]
    partner_id: Mapped[str | None] = mapped_column(String(64))  # as claimed by the caller
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(300))
    status: Mapped[int]
    code: Mapped[str] = mapped_column(String(60))
    detail: Mapped[str] = mapped_column(String(300))
    client_ip: Mapped[str | None] = mapped_column(String(45))
    request_id: Mapped[str | None] = mapped_column(String(64))


class AuthRequest(Base):
    __tablename__ = "partner_auth_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    partner_id: Mapped[str] = mapped_column(String(64), ForeignKey("partners.id"), index=True)
    scenarios: Mapped[list[str]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(128))
    redirect_uri: Mapped[str | None] = mapped_column(String(500))
    hint_customer_id: Mapped[str | None] = mapped_column(String(128))  # named by phone
    status: Mapped[str] = mapped_column(String(12))
    customer_id: Mapped[str | None] = mapped_column(String(128))
    code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    authorisation_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]


class Authorisation(Base):
    __tablename__ = "partner_authorisations"
    __table_args__ = (Index("ix_partner_authorisations_customer", "customer_id", "partner_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    partner_id: Mapped[str] = mapped_column(String(64), ForeignKey("partners.id"))
    customer_id: Mapped[str] = mapped_column(String(128))
    scenarios: Mapped[list[str]] = mapped_column(JSON)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # set at exchange
    status: Mapped[str] = mapped_column(String(10))  # active | revoked
    granted_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(100))


class SandboxCustomer(Base):
    __tablename__ = "partner_sandbox_customers"

    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    partner_id: Mapped[str] = mapped_column(String(64), ForeignKey("partners.id"), index=True)
    created_at: Mapped[datetime]


class Report(Base):
    __tablename__ = "partner_reports"

    partner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    authorisation_id: Mapped[str] = mapped_column(String(36))
    scenario: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10))  # accepted | rejected
    reason: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(String(500))
    credited_mg: Mapped[int]
    carbon_event_id: Mapped[str | None] = mapped_column(String(36))
    received_at: Mapped[datetime]


class Webhook(Base):
    __tablename__ = "partner_webhooks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    partner_id: Mapped[str] = mapped_column(String(64), ForeignKey("partners.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10))  # active | deleted
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class Notification(Base):
    __tablename__ = "partner_notifications"
    __table_args__ = (Index("ix_partner_notifications_partner", "partner_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    partner_id: Mapped[str] = mapped_column(String(64))
    webhook_id: Mapped[str] = mapped_column(String(36), ForeignKey("partner_webhooks.id"))
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # the plaintext resource
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class WebhookAttempt(Base):
    __tablename__ = "partner_webhook_attempts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    notification_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("partner_notifications.id"), index=True
    )
    partner_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    http_status: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(300))
    duration_ms: Mapped[int]
