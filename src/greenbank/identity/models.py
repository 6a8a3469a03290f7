"""Identity tables: sessions and their tokens, one-time-code challenges and their rate counters,
staff accounts and roles, and the sandbox SMS outbox.

Secrets are never stored: tokens as their SM3 hash, codes as an HMAC-SM3, passwords as argon2id.
Phones appear only as a blind index plus a masked form for display.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from greenbank.db import Base
from greenbank.ids import new_id


class AuthSession(Base):
    """One sign-in: a chain of refresh tokens and the access tokens issued from them."""

    __tablename__ = "auth_sessions"
    __table_args__ = (Index("ix_auth_sessions_principal", "principal_kind", "principal_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    principal_kind: Mapped[str] = mapped_column(String(10))  # customer | staff
    principal_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime]
    refreshed_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # the current refresh token's expiry
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(40))
    client_ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))


class AuthToken(Base):
    __tablename__ = "auth_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(ForeignKey("auth_sessions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # access | refresh
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]  # refresh tokens: set when rotated (used) or revoked


class OtpChallenge(Base):
    __tablename__ = "otp_challenges"
    __table_args__ = (Index("ix_otp_challenges_lookup", "phone_index", "purpose", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    purpose: Mapped[str] = mapped_column(String(20))
    phone_index: Mapped[str] = mapped_column(String(64))
    phone_masked: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str | None] = mapped_column(String(64))  # what the code confirms, if bound
    code_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    verified_at: Mapped[datetime | None]
    client_ip: Mapped[str | None] = mapped_column(String(45))
    sms_message_id: Mapped[str | None] = mapped_column(String(64))


class OtpRateCounter(Base):
    """Codes sent per phone / per client IP on one business day, and the phone's cooldown.

    Kept in the database (not process memory) so the limits hold across workers; the row is
    locked while a send is reserved.
    """

    __tablename__ = "otp_rate_counters"

    scope: Mapped[str] = mapped_column(String(8), primary_key=True)  # phone | ip
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    sent: Mapped[int] = mapped_column(default=0)
    cooldown_until: Mapped[datetime | None]


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(10))  # active | disabled
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    password_changed_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]

    roles: Mapped[list[StaffRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="StaffRole.role"
    )

    @property
    def role_names(self) -> list[str]:
        return [grant.role for grant in self.roles]


class StaffRole(Base):
    __tablename__ = "staff_roles"

    staff_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    granted_at: Mapped[datetime]
    granted_by: Mapped[str] = mapped_column(String(64))


class SandboxSms(Base):
    """What the sandbox SMS vendor 'delivered' (dev/test only): the inspectable outbox."""

    __tablename__ = "sandbox_sms_outbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    phone_index: Mapped[str] = mapped_column(String(64), index=True)
    phone_masked: Mapped[str] = mapped_column(String(20))
    template: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(String(500))
    result_code: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(index=True)
