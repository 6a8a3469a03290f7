"""Class II accounts for other domains, and the one place an account is opened.

Every function takes the caller's open ``Session`` and never commits, so a top-up, a deposit
purchase or an account opening does its reads, locks and writes in one transaction:

* :func:`get_open_account` / :func:`require_open_account` — the customer's account (not closed)
* :func:`lock_account` — the account row, locked for the rest of the transaction
* :func:`active_bound_card` — the card money may come from and go back to
* :func:`open_class2_account` — number, ledger account, bound card, verified customer, event
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from greenbank.accounts.errors import AccountLimitReached, AccountNotFound
from greenbank.accounts.models import (
    AccountNumberCounter,
    AccountStatus,
    Application,
    ApplicationState,
    BoundCard,
    CardStatus,
    ClassIIAccount,
)
from greenbank.audit.service import record
from greenbank.bus import Event, publish
from greenbank.clock import Clock
from greenbank.crypto import mask_card, mask_phone
from greenbank.customers.account_numbers import make_account_number
from greenbank.customers.models import Customer, CustomerStatus
from greenbank.db import locked_row
from greenbank.ledger.service import open_customer_account


class AccountOpened(Event):
    """A Class II account was opened (no personal data: consumers look the account up)."""

    type = "accounts.opened"
    version = 1
    account_id: str
    customer_id: str
    application_id: str
    branch_code: str
    opened_at: datetime


@dataclass(frozen=True)
class NumberPolicy:
    prefix: str
    branch_code: str
    max_open_per_person: int = 1


def _open_account_query(customer_id: Any) -> Select[ClassIIAccount]:
    return (
        select(ClassIIAccount)
        .where(
            ClassIIAccount.customer_id == customer_id,
            ClassIIAccount.status != AccountStatus.CLOSED.value,
        )
        .order_by(ClassIIAccount.opened_at, ClassIIAccount.id)
        .limit(1)
    )


# Every money command starts with this lock: built once (statement building and its cache key
# cost more Python time than the database spends running it, as in the ledger's hot path).
_LOCK_OPEN_ACCOUNT = (
    _open_account_query(bindparam("customer_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


def get_open_account(session: Session, customer_id: str) -> ClassIIAccount | None:
    """The customer's Class II account that is not closed (the oldest, if a bank allows more)."""
    return session.scalars(_open_account_query(customer_id)).first()


def require_open_account(session: Session, customer_id: str) -> ClassIIAccount:
    account = get_open_account(session, customer_id)
    if account is None:
        raise AccountNotFound("this customer has no open Class II account")
    return account


def lock_open_account(session: Session, customer_id: str) -> ClassIIAccount:
    """``require_open_account`` and ``lock_account`` in one statement (find and row-lock)."""
    account = session.scalars(_LOCK_OPEN_ACCOUNT, {"customer_id": customer_id}).first()
    if account is None:
        raise AccountNotFound("this customer has no open Class II account")
    return account


def lock_account(session: Session, account_id: str) -> ClassIIAccount:
    """The account, row-locked until the transaction ends (SQLite: BEGIN IMMEDIATE already
    serialises writers). Re-reads it, so a status changed by another transaction is seen."""
    query = (
        select(ClassIIAccount)
        .where(ClassIIAccount.id == account_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    account = session.scalars(query).first()
    if account is None:
        raise AccountNotFound(f"no Class II account {account_id}", account_id=account_id)
    return account


def active_bound_card(session: Session, account_id: str) -> BoundCard:
    query = select(BoundCard).where(
        BoundCard.account_id == account_id, BoundCard.status == CardStatus.ACTIVE.value
    )
    card = session.scalars(query).first()
    if card is None:
        raise AccountNotFound("the account has no active bound card", account_id=account_id)
    return card


def count_open_accounts(session: Session, customer_id: str) -> int:
    query = select(func.count()).where(
        ClassIIAccount.customer_id == customer_id,
        ClassIIAccount.status != AccountStatus.CLOSED.value,
    )
    return int(session.scalar(query) or 0)


def next_sequence(session: Session, prefix: str) -> int:
    """The next account sequence for ``prefix`` from a counter row (created on first use),
    locked for the transaction: gap-free on commit, works the same on both databases."""
    counter = locked_row(session, AccountNumberCounter, {"prefix": prefix}, next_value=1)
    value = counter.next_value
    counter.next_value = value + 1
    return value


def open_class2_account(
    session: Session, *, clock: Clock, application: Application, policy: NumberPolicy, actor: str
) -> ClassIIAccount:
    """Open the account an approved application asked for, inside the caller's transaction:
    allocate the number, open the ledger balance, bind the card, store the verified identity on
    the customer, close the application and publish ``accounts.opened``."""
    now = clock.now()
    customer = session.get_one(Customer, application.customer_id, with_for_update=True)
    if count_open_accounts(session, customer.id) >= policy.max_open_per_person:
        raise AccountLimitReached(limit=policy.max_open_per_person)
    number = make_account_number(policy.prefix, next_sequence(session, policy.prefix))
    ledger = open_customer_account(session, clock=clock, customer_id=customer.id)
    account = ClassIIAccount(
        customer_id=customer.id,
        account_number=number,
        ledger_account_id=ledger.id,
        status=AccountStatus.ACTIVE.value,
        branch_code=policy.branch_code,
        region_code=application.region_code,
        application_id=application.id,
        opened_at=now,
        updated_at=now,
    )
    session.add(account)
    session.flush()
    assert application.card_number and application.bank_mobile and application.card_bin
    session.add(
        BoundCard(
            account_id=account.id,
            card_number=application.card_number,
            masked_number=mask_card(application.card_number),
            bank_code=application.card_bank_code or "",
            bank_name=application.card_bank_name or "",
            bin=application.card_bin,
            bank_mobile_bidx=application.bank_mobile_bidx or "",
            bank_mobile_masked=mask_phone(application.bank_mobile),
            status=CardStatus.ACTIVE.value,
            bound_at=now,
        )
    )
    _verify_customer(customer, application, now)
    application.state = ApplicationState.OPENED.value
    application.account_id = account.id
    application.open_customer_slot = application.open_person_slot = None
    application.finished_at = application.updated_at = now
    application.version += 1
    publish(
        session,
        AccountOpened(
            account_id=account.id,
            customer_id=customer.id,
            application_id=application.id,
            branch_code=policy.branch_code,
            opened_at=now,
        ),
        aggregate_type="class2_account",
        aggregate_id=account.id,
        clock=clock,
    )
    record(
        session,
        clock,
        actor=actor,
        action="accounts.opened",
        subject=account.id,
        application_id=application.id,
        customer_id=customer.id,
    )
    return account


def _verify_customer(customer: Customer, application: Application, now: datetime) -> None:
    """Real-name record (AML): name, sex, nationality, occupation, address, ID and validity."""
    customer.name = application.name
    customer.id_number = application.id_number
    customer.sex = application.sex
    customer.nationality = application.nationality
    customer.occupation = application.occupation
    customer.address = application.address
    customer.id_valid_from = application.id_valid_from
    customer.id_valid_to = application.id_valid_to
    customer.status = CustomerStatus.VERIFIED.value
    customer.updated_at = now
