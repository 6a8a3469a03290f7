"""The ``customers`` table: the person behind every account.

Phone, name, ID number and address are personal data: stored as SM4-GCM tokens bound to this
row (``greenbank.pii``); phone and ID number also get a blind index for exact-match look-ups.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from greenbank.crypto import mask_phone
from greenbank.db import Base
from greenbank.ids import new_id
from greenbank.pii import INDEX_LENGTH, EncryptedString


class CustomerStatus(StrEnum):
    REGISTERED = "registered"  # a phone number, no KYC yet
    VERIFIED = "verified"  # KYC passed
    RESTRICTED = "restricted"  # frozen or limited by risk control
    CLOSED = "closed"


def _in(column: str, values: list[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint(_in("status", [s.value for s in CustomerStatus]), name="status"),
        CheckConstraint(_in("sex", ["male", "female"]), name="sex"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    phone: Mapped[str] = mapped_column(EncryptedString(blind_index="phone"))
    phone_bidx: Mapped[str] = mapped_column(String(INDEX_LENGTH), unique=True)
    name: Mapped[str | None] = mapped_column(EncryptedString())
    id_number: Mapped[str | None] = mapped_column(EncryptedString(blind_index="id_number"))
    id_number_bidx: Mapped[str | None] = mapped_column(String(INDEX_LENGTH), unique=True)
    sex: Mapped[str | None] = mapped_column(String(6))
    nationality: Mapped[str | None] = mapped_column(String(3))  # ISO 3166-1 alpha-3
    occupation: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(EncryptedString())
    id_valid_from: Mapped[date | None]
    id_valid_to: Mapped[date | None]  # None with a from-date: long-term (长期) validity
    status: Mapped[str] = mapped_column(String(20), default=CustomerStatus.REGISTERED.value)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    def __repr__(self) -> str:
        """Never plaintext: logs and tracebacks print this."""
        loaded = vars(self)
        phone = loaded.get("phone")
        shown = mask_phone(phone) if isinstance(phone, str) else "?"
        return f"Customer(id={loaded.get('id')!r}, status={loaded.get('status')!r}, phone={shown})"
