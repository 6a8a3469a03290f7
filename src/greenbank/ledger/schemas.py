"""Read models returned by the ledger (and serialised by the routers that show them).

Amounts are integer fen in the account's natural sign: a Class II balance of 100.00 CNY is
``10000`` even though it is a credit balance in the journal.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from greenbank.ledger.domain import AccountStatus, AccountType, Guard, HoldState


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class AccountOut(_Out):
    id: str
    code: str
    name: str
    type: AccountType
    currency: str
    owner_type: str | None
    owner_id: str | None
    guard: Guard
    status: AccountStatus
    created_at: datetime


class PostingOut(_Out):
    """A leg as stored: debit positive, credit negative (journal sign, not natural sign)."""

    account: str
    amount_fen: int


class EntryOut(_Out):
    id: str
    code: str
    idempotency_key: str
    value_date: date
    posted_at: datetime
    description: str
    metadata: dict[str, Any]
    currency: str
    reverses_entry_id: str | None
    postings: list[PostingOut]
    replayed: bool = False


class HoldOut(_Out):
    id: str
    account: str
    amount_fen: int
    state: HoldState
    idempotency_key: str
    description: str
    created_at: datetime
    expires_at: datetime
    resolved_at: datetime | None
    entry_id: str | None
    replayed: bool = False


class BalanceOut(_Out):
    """``balance_fen`` is posted money; ``available_fen`` subtracts pending, unexpired holds."""

    account: str
    type: AccountType
    currency: str
    balance_fen: int
    held_fen: int
    available_fen: int


class StatementLine(_Out):
    posting_id: int
    entry_id: str
    entry_code: str
    value_date: date
    posted_at: datetime
    description: str
    amount_fen: int
    balance_after_fen: int


class StatementPage(_Out):
    account: str
    lines: list[StatementLine]
    next_cursor: str | None
