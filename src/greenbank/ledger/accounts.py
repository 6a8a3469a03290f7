"""Opening and closing ledger accounts, and the bank's own chart of accounts.

Opening is idempotent on the account code: asking again with the same attributes returns the
existing account, asking with different ones is a conflict.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.clock import Clock
from greenbank.db import insert_ignoring_conflicts
from greenbank.ids import new_id
from greenbank.ledger import domain
from greenbank.ledger.domain import AccountStatus, AccountType, Guard
from greenbank.ledger.errors import AccountExists, AccountNotEmpty, AccountNotFound
from greenbank.ledger.posting import ACCOUNTS, BALANCES, HOLDS
from greenbank.ledger.posting import lock_accounts as _lock
from greenbank.ledger.schemas import AccountOut


@dataclass(frozen=True)
class ChartAccount:
    code: str
    name: str
    type: AccountType


CARD_CLEARING = "bank:card_clearing"
INTEREST_EXPENSE = "bank:interest_expense"
INTEREST_PAYABLE = "bank:interest_payable"
MARKETING_EXPENSE = "bank:marketing_expense"
POINTS_LIABILITY = "bank:points_liability"

CHART_OF_ACCOUNTS = (
    ChartAccount(
        CARD_CLEARING, "Bound-card clearing / settlement with other banks", AccountType.ASSET
    ),
    ChartAccount(INTEREST_EXPENSE, "Interest expense on deposits", AccountType.EXPENSE),
    ChartAccount(INTEREST_PAYABLE, "Interest accrued, not yet paid", AccountType.LIABILITY),
    ChartAccount(MARKETING_EXPENSE, "Marketing expense (rate-bonus perks)", AccountType.EXPENSE),
    ChartAccount(POINTS_LIABILITY, "Green points outstanding", AccountType.LIABILITY),
)


def customer_account_code(customer_id: str) -> str:
    return f"customer:{customer_id}:class2"


def holding_account_code(holding_id: str) -> str:
    return f"holding:{holding_id}"


def get_account(session: Session, code: str) -> AccountOut:
    row = session.connection().execute(select(ACCOUNTS).where(ACCOUNTS.c.code == code)).first()
    if row is None:
        raise AccountNotFound(f"no ledger account {code!r}", account=code)
    return AccountOut.model_validate(row, from_attributes=True)


_NEW_BALANCE = BALANCES.insert()  # built once: every purchase opens its holding's account


def open_account(
    session: Session,
    *,
    clock: Clock,
    code: str,
    name: str,
    type: AccountType,
    guard: Guard = Guard.NONE,
    currency: str = "CNY",
    owner_type: str | None = None,
    owner_id: str | None = None,
) -> AccountOut:
    """Create an account and its balance row, or return the identical existing one."""
    domain.check_account_definition(code, currency)
    wanted = {
        "code": code,
        "name": name,
        "type": type.value,
        "currency": currency,
        "owner_type": owner_type,
        "owner_id": owner_id,
        "guard": guard.value,
    }
    conn = session.connection()
    account_id = new_id()
    inserted = conn.execute(
        insert_ignoring_conflicts(conn, ACCOUNTS, returning=True),
        {"id": account_id, "status": AccountStatus.OPEN.value, "created_at": clock.now(), **wanted},
    ).first()
    if inserted is not None:
        conn.execute(_NEW_BALANCE, {"account_id": account_id, "posted_fen": 0, "held_fen": 0})
        return AccountOut.model_validate(inserted, from_attributes=True)
    existing = get_account(session, code)
    if existing.model_dump(mode="json", include=set(wanted)) != wanted:
        raise AccountExists(f"account {code} exists with different attributes", account=code)
    return existing


def ensure_chart_of_accounts(session: Session, *, clock: Clock) -> list[AccountOut]:
    """The bank's own accounts (unguarded); safe to run on every start."""
    return [
        open_account(session, clock=clock, code=item.code, name=item.name, type=item.type)
        for item in CHART_OF_ACCOUNTS
    ]


def open_customer_account(session: Session, *, clock: Clock, customer_id: str) -> AccountOut:
    """A customer's Class II balance: a liability of the bank that may never be overdrawn.
    A customer who closed their account and opens a new one gets the same balance reopened."""
    account = open_account(
        session,
        clock=clock,
        code=customer_account_code(customer_id),
        name="Class II account balance",
        type=AccountType.LIABILITY,
        guard=Guard.NO_OVERDRAFT,
        owner_type="customer",
        owner_id=customer_id,
    )
    if account.status == AccountStatus.CLOSED:
        return reopen_account(session, code=account.code)
    return account


def open_holding_account(
    session: Session, *, clock: Clock, holding_id: str, customer_id: str
) -> AccountOut:
    """The principal of one time-deposit holding (a liability; never below zero), owned by
    the customer so their accounts can be listed together."""
    return open_account(
        session,
        clock=clock,
        code=holding_account_code(holding_id),
        name="Time deposit principal",
        type=AccountType.LIABILITY,
        guard=Guard.NO_OVERDRAFT,
        owner_type="customer",
        owner_id=customer_id,
    )


def _set_status(session: Session, code: str, status: AccountStatus) -> AccountOut:
    """Move an account to ``status`` (a no-op if it is there already), only with a zero balance
    and no pending holds: nothing is ever carried into or left behind a closed account."""
    conn = session.connection()
    facts = _lock(conn, "code", [code]).get(code)
    if facts is None:
        raise AccountNotFound(f"no ledger account {code!r}", account=code)
    if facts.status == status:
        return get_account(session, code)
    pending = conn.execute(
        select(HOLDS.c.id).where(HOLDS.c.account_id == facts.id, HOLDS.c.state == "pending")
    ).first()
    if facts.posted_fen != 0 or pending is not None:
        raise AccountNotEmpty(f"account {code} still has money or pending holds", account=code)
    conn.execute(ACCOUNTS.update().where(ACCOUNTS.c.id == facts.id).values(status=status.value))
    return get_account(session, code)


def close_account(session: Session, *, code: str) -> AccountOut:
    """Close an account with a zero balance and no pending holds (closing twice is a no-op)."""
    return _set_status(session, code, AccountStatus.CLOSED)


def reopen_account(session: Session, *, code: str) -> AccountOut:
    """Reopen a closed account (reopening an open one is a no-op), e.g. for a customer who
    closed their Class II account and opens a new one."""
    return _set_status(session, code, AccountStatus.OPEN)
