"""Tables of Class II accounts and of opening them online.

Personal data (names, ID and card numbers, addresses, face templates) is stored as SM4-GCM
tokens (``greenbank.pii``); look-ups go through blind indexes. Enum values are stored as their
short strings so rows read well in plain SQL. Two "slot" columns make the database refuse a
second open application for one customer or one ID number: they hold the key while the
application is open and NULL afterwards (NULLs never collide in a UNIQUE constraint).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from greenbank.db import Base
from greenbank.ids import new_id
from greenbank.pii import INDEX_LENGTH, EncryptedString


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


# --- Class II accounts and bound cards (read by the closed-loop and deposit domains) ---------


class AccountStatus(StrEnum):
    ACTIVE = "active"
    RESTRICTED = "restricted"  # e.g. ID expired, AML review: money may only go back out
    FROZEN = "frozen"  # nothing moves
    CLOSED = "closed"


class ClassIIAccount(Base):
    __tablename__ = "class2_accounts"
    __table_args__ = (CheckConstraint(_in("status", AccountStatus), name="status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    account_number: Mapped[str] = mapped_column(String(19), unique=True)
    # Not unique: a customer who closes and reopens gets a new account on the same balance.
    ledger_account_id: Mapped[str] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=AccountStatus.ACTIVE.value)
    status_reason: Mapped[str | None] = mapped_column(String(200))
    branch_code: Mapped[str] = mapped_column(String(12))
    region_code: Mapped[str | None] = mapped_column(String(6))  # GB/T 2260 of the ID number
    application_id: Mapped[str | None] = mapped_column(String(36))
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class CardStatus(StrEnum):
    ACTIVE = "active"
    REPLACED = "replaced"


class BoundCard(Base):
    """The one debit card money may come from and go back to (closed loop)."""

    __tablename__ = "class2_bound_cards"
    __table_args__ = (CheckConstraint(_in("status", CardStatus), name="status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(ForeignKey("class2_accounts.id"), index=True)
    card_number: Mapped[str] = mapped_column(EncryptedString(blind_index="card"))
    card_number_bidx: Mapped[str] = mapped_column(String(INDEX_LENGTH), index=True)
    masked_number: Mapped[str] = mapped_column(String(24))
    bank_code: Mapped[str] = mapped_column(String(20))
    bank_name: Mapped[str] = mapped_column(String(60))
    bin: Mapped[str] = mapped_column(String(10))
    bank_mobile_bidx: Mapped[str] = mapped_column(String(INDEX_LENGTH))
    bank_mobile_masked: Mapped[str] = mapped_column(String(11))
    status: Mapped[str] = mapped_column(String(10), default=CardStatus.ACTIVE.value)
    bound_at: Mapped[datetime]
    replaced_at: Mapped[datetime | None]


class AccountNumberCounter(Base):
    """The next sequence number per prefix: a row lock serialises allocation on both databases."""

    __tablename__ = "class2_account_number_counters"

    prefix: Mapped[str] = mapped_column(String(18), primary_key=True)
    next_value: Mapped[int]


# --- opening applications ----------------------------------------------------------------------


class ApplicationState(StrEnum):
    STARTED = "started"  # consents given: upload the ID card
    ID_CAPTURED = "id_captured"  # OCR read the card: confirm the fields
    ID_VERIFIED = "id_verified"  # 联网核查 matched: face check
    FACE_VERIFIED = "face_verified"  # liveness + portrait match passed: bind a card
    CARD_BOUND = "card_bound"  # five elements + SMS code passed: submit
    IN_REVIEW = "in_review"  # risk sent it to a person
    OPENED = "opened"
    REFUSED = "refused"
    CANCELLED = "cancelled"


OPEN_STATES = frozenset(
    {
        ApplicationState.STARTED,
        ApplicationState.ID_CAPTURED,
        ApplicationState.ID_VERIFIED,
        ApplicationState.FACE_VERIFIED,
        ApplicationState.CARD_BOUND,
        ApplicationState.IN_REVIEW,
    }
)


class Application(Base):
    __tablename__ = "account_applications"
    __table_args__ = (CheckConstraint(_in("state", ApplicationState), name="state"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(default=1)  # bumped by every transition
    open_customer_slot: Mapped[str | None] = mapped_column(String(36), unique=True)
    open_person_slot: Mapped[str | None] = mapped_column(String(INDEX_LENGTH), unique=True)
    # the ID card as read by OCR and confirmed by the customer
    name: Mapped[str | None] = mapped_column(EncryptedString())
    id_number: Mapped[str | None] = mapped_column(EncryptedString(blind_index="id_number"))
    id_number_bidx: Mapped[str | None] = mapped_column(String(INDEX_LENGTH), index=True)
    address: Mapped[str | None] = mapped_column(EncryptedString())
    sex: Mapped[str | None] = mapped_column(String(6))
    nationality: Mapped[str | None] = mapped_column(String(3))
    ethnicity: Mapped[str | None] = mapped_column(String(20))
    id_valid_from: Mapped[date | None]
    id_valid_to: Mapped[date | None]
    occupation: Mapped[str | None] = mapped_column(String(100))
    declared_residence: Mapped[str | None] = mapped_column(EncryptedString())
    region_code: Mapped[str | None] = mapped_column(String(6))
    ocr_fields: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # masked, for the audit
    # face: a vendor template id only, never the image or video
    liveness_token_hash: Mapped[str | None] = mapped_column(String(64))
    liveness_actions: Mapped[list[str] | None] = mapped_column(JSON)
    liveness_expires_at: Mapped[datetime | None]
    face_attempts: Mapped[int] = mapped_column(default=0)
    face_template: Mapped[str | None] = mapped_column(EncryptedString())
    face_similarity: Mapped[int | None]
    # the bound card, first pending (SMS code sent) then confirmed
    card_number: Mapped[str | None] = mapped_column(EncryptedString(blind_index="card"))
    card_number_bidx: Mapped[str | None] = mapped_column(String(INDEX_LENGTH))
    card_bin: Mapped[str | None] = mapped_column(String(10))
    card_bank_code: Mapped[str | None] = mapped_column(String(20))
    card_bank_name: Mapped[str | None] = mapped_column(String(60))
    card_needs_review: Mapped[bool] = mapped_column(default=False)
    bank_mobile: Mapped[str | None] = mapped_column(EncryptedString(blind_index="phone"))
    bank_mobile_bidx: Mapped[str | None] = mapped_column(String(INDEX_LENGTH))
    card_attempts: Mapped[int] = mapped_column(default=0)
    # risk and outcome
    device_id: Mapped[str | None] = mapped_column(String(64))  # SM3 of the fingerprint
    client_ip: Mapped[str | None] = mapped_column(String(45))
    risk_reasons: Mapped[list[str] | None] = mapped_column(JSON)
    refusal_code: Mapped[str | None] = mapped_column(String(60))
    account_id: Mapped[str | None] = mapped_column(ForeignKey("class2_accounts.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class CheckKind(StrEnum):
    OCR = "ocr"
    ID_CONFIRMATION = "id_confirmation"
    ID_VERIFICATION = "id_verification"
    FACE = "face"
    FIVE_ELEMENTS = "five_elements"
    SMS_CODE = "sms_code"
    RISK = "risk"
    REVIEW = "review"


class CheckResult(Base):
    """One outside check or decision about an application; ``detail`` holds no plaintext PII."""

    __tablename__ = "account_check_results"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    application_id: Mapped[str] = mapped_column(ForeignKey("account_applications.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    provider: Mapped[str] = mapped_column(String(40))
    result_code: Mapped[str] = mapped_column(String(40))
    passed: Mapped[bool]
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime]


class ConsentKind(StrEnum):
    TERMS = "terms"
    PERSONAL_INFORMATION = "personal_information"
    SENSITIVE_FACE = "sensitive_face"  # 个人信息保护法 Art. 29: a separate consent


class Consent(Base):
    __tablename__ = "account_consents"
    __table_args__ = (CheckConstraint(_in("kind", ConsentKind), name="kind"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    application_id: Mapped[str | None] = mapped_column(ForeignKey("account_applications.id"))
    kind: Mapped[str] = mapped_column(String(24))
    version: Mapped[str] = mapped_column(String(20))
    granted_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ReviewStatus(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    REFUSED = "refused"


class ReviewItem(Base):
    __tablename__ = "account_review_items"
    __table_args__ = (CheckConstraint(_in("status", ReviewStatus), name="status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    application_id: Mapped[str] = mapped_column(ForeignKey("account_applications.id"), unique=True)
    status: Mapped[str] = mapped_column(String(10), index=True)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decision_reason: Mapped[str | None] = mapped_column(String(500))


class RiskSubject(StrEnum):
    DEVICE = "device"
    IP = "ip"
    ID_NUMBER = "id_number"


class VelocityRecord(Base):
    """One application seen from a device, an IP or an ID number; counted in time windows."""

    __tablename__ = "account_velocity_records"
    __table_args__ = (
        Index("ix_account_velocity_records_subject", "subject", "key", "at"),
        UniqueConstraint("application_id", "subject", name="uq_account_velocity_records_once"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    application_id: Mapped[str] = mapped_column(ForeignKey("account_applications.id"))
    subject: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(INDEX_LENGTH))  # a hash or blind index, never PII
    at: Mapped[datetime]


class BlacklistKind(StrEnum):
    ID_NUMBER = "id_number"
    CARD = "card"
    PHONE = "phone"
    DEVICE = "device"
    IP = "ip"


class BlacklistEntry(Base):
    """A subject staff barred from opening accounts; ``key`` is a blind index or a hash."""

    __tablename__ = "account_blacklist"
    __table_args__ = (
        CheckConstraint(_in("kind", BlacklistKind), name="kind"),
        UniqueConstraint("kind", "key", name="uq_account_blacklist_kind_key"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(INDEX_LENGTH))
    label: Mapped[str] = mapped_column(String(40))  # masked value, for staff lists
    reason: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class IdempotentResponse(Base):
    """The first response to a state-changing request, replayed for a repeated key."""

    __tablename__ = "account_idempotency_keys"

    customer_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class SandboxVendorCall(Base):
    """What the sandbox vendors were asked (dev/test only): lets a sandbox identity time out
    on a first call and answer the retry, the same way after a restart."""

    __tablename__ = "account_sandbox_vendor_calls"
    __table_args__ = (Index("ix_account_sandbox_vendor_calls_subject", "vendor", "subject"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    vendor: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(64))  # SM3 of the identity, never plaintext
    result_code: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime]
