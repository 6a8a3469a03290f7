"""Finding customers by their personal data, inside the caller's unit of work.

Encrypted columns cannot be compared in SQL; look-ups go through the blind indexes, which are
UNIQUE, so "get or create" is made race-safe by the database rather than by a lock.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from greenbank.clock import Clock
from greenbank.crypto import KeyRing
from greenbank.crypto.keyring import normalise
from greenbank.customers.models import Customer, CustomerStatus
from greenbank.pii import matches


def find_by_phone(session: Session, keyring: KeyRing, phone: str) -> Customer | None:
    """The customer registered with this mobile number (any spacing, with or without +86)."""
    return session.scalar(select(Customer).where(matches(Customer.phone, phone, keyring)))


def find_by_id_number(session: Session, keyring: KeyRing, id_number: str) -> Customer | None:
    """The customer holding this ID number (spaces and a lower-case x are forgiven)."""
    return session.scalar(select(Customer).where(matches(Customer.id_number, id_number, keyring)))


def get_or_create_by_phone(
    session: Session, keyring: KeyRing, clock: Clock, phone: str
) -> Customer:
    """The customer with this phone, registering a new one if there is none.

    The insert runs in a savepoint: if a concurrent request registered the same phone first,
    the unique blind index rejects ours and we return theirs instead.
    """
    found = find_by_phone(session, keyring, phone)
    if found is not None:
        return found
    now = clock.now()
    customer = Customer(
        phone=normalise(phone, "phone"),
        status=CustomerStatus.REGISTERED.value,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(customer)
    except IntegrityError:
        winner = find_by_phone(session, keyring, phone)
        if winner is None:
            raise
        return winner
    return customer
