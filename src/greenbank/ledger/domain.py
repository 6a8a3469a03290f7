"""Pure double-entry rules: account types and signs, entry shape, guards, fingerprints.

Postings are stored as signed integer fen, **debit positive, credit negative**. An account's
*natural* balance flips the sign for credit-normal accounts (liability, income, equity) so that
a customer's Class II balance reads positive. Nothing here touches a database.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from greenbank.ledger.errors import (
    AccountClosed,
    AccountNotFound,
    CurrencyMismatch,
    HoldAmountExceeded,
    InsufficientFunds,
    InvalidAccount,
    InvalidEntry,
    UnbalancedEntry,
    UnsupportedCurrency,
)

CURRENCIES = frozenset({"CNY"})
ACCOUNT_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*(:[A-Za-z0-9_\-]+)*$")
ENTRY_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_KEY_LENGTH = 200


class AccountType(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    INCOME = "income"
    EXPENSE = "expense"
    EQUITY = "equity"

    @property
    def sign(self) -> int:
        """+1 for debit-normal accounts, -1 for credit-normal ones."""
        return 1 if self in (AccountType.ASSET, AccountType.EXPENSE) else -1


class Guard(StrEnum):
    NONE = "none"
    NO_OVERDRAFT = "no_overdraft"


class AccountStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class HoldState(StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"
    EXPIRED = "expired"


class EntryCode(StrEnum):
    """Why money moved (TigerBeetle's ``code``). Other snake_case codes are accepted too."""

    TOP_UP = "top_up"
    WITHDRAWAL = "withdrawal"
    DEPOSIT_PURCHASE = "deposit_purchase"
    EARLY_WITHDRAWAL = "early_withdrawal"
    MATURITY = "maturity"
    ROLLOVER = "rollover"
    INTEREST_ACCRUAL = "interest_accrual"
    INTEREST = "interest"
    RATE_BONUS = "rate_bonus"
    POINTS_ISSUE = "points_issue"
    REVERSAL = "reversal"
    ADJUSTMENT = "adjustment"


def natural(account_type: AccountType, raw_fen: int) -> int:
    """A debit-positive raw sum shown in the account's natural sign."""
    return account_type.sign * raw_fen


@dataclass(frozen=True)
class PostingSpec:
    """One leg of an entry: ``amount_fen`` > 0 debits the account, < 0 credits it."""

    account: str
    amount_fen: int


@dataclass(frozen=True)
class EntrySpec:
    """What a caller wants posted. ``value_date`` None means the business date of posting."""

    code: str
    idempotency_key: str
    postings: tuple[PostingSpec, ...]
    value_date: date | None = None
    description: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    currency: str = "CNY"

    @classmethod
    def transfer(
        cls,
        *,
        code: str,
        idempotency_key: str,
        debit: str,
        credit: str,
        amount_fen: int,
        **extra: Any,
    ) -> EntrySpec:
        """The common two-posting entry: debit one account, credit another, same amount."""
        legs = (PostingSpec(debit, amount_fen), PostingSpec(credit, -amount_fen))
        return cls(code=code, idempotency_key=idempotency_key, postings=legs, **extra)


@dataclass(frozen=True)
class AccountFacts:
    """What the rules need to know about an account, read under its balance-row lock."""

    id: str
    code: str
    type: AccountType
    currency: str
    status: AccountStatus
    guard: Guard
    posted_fen: int
    held_fen: int

    @property
    def balance(self) -> int:
        return natural(self.type, self.posted_fen)

    @property
    def available(self) -> int:
        return self.balance - self.held_fen


def check_account_definition(code: str, currency: str) -> None:
    if not ACCOUNT_CODE_RE.fullmatch(code) or len(code) > 120:
        raise InvalidAccount(f"account code {code!r} is not valid (e.g. 'bank:card_clearing')")
    if currency not in CURRENCIES:
        raise UnsupportedCurrency(f"currency {currency!r} is not supported", currency=currency)


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidEntry(f"an idempotency key of 1-{MAX_KEY_LENGTH} characters is required")


def check_shape(spec: EntrySpec) -> None:
    """Structural rules that need no account: 2+ non-zero integer legs, distinct, sum zero."""
    check_key(spec.idempotency_key)
    if not ENTRY_CODE_RE.fullmatch(spec.code):
        raise InvalidEntry(f"entry code {spec.code!r} must be snake_case")
    if len(spec.postings) < 2:
        raise InvalidEntry("an entry needs at least two postings")
    for leg in spec.postings:
        if type(leg.amount_fen) is not int:
            raise InvalidEntry("posting amounts are integer fen")
        if leg.amount_fen == 0:
            raise InvalidEntry(f"posting to {leg.account} has a zero amount")
    if len({leg.account for leg in spec.postings}) != len(spec.postings):
        raise InvalidEntry("an account may appear only once in an entry")
    total = sum(leg.amount_fen for leg in spec.postings)
    if total != 0:
        raise UnbalancedEntry(f"postings sum to {total} fen, not zero", total_fen=total)


def check_open(facts: AccountFacts) -> None:
    if facts.status is not AccountStatus.OPEN:
        raise AccountClosed(f"account {facts.code} is closed", account=facts.code)


def check_accounts(spec: EntrySpec, accounts: Mapping[str, AccountFacts]) -> None:
    """Every leg names an open account in the entry's currency (so no entry mixes currencies)."""
    for leg in spec.postings:
        facts = accounts.get(leg.account)
        if facts is None:
            raise AccountNotFound(f"no ledger account {leg.account!r}", account=leg.account)
        check_open(facts)
        if facts.currency != spec.currency:
            raise CurrencyMismatch(
                f"account {leg.account} is in {facts.currency}, the entry in {spec.currency}",
                account=leg.account,
            )


def check_guard(facts: AccountFacts, delta_raw: int, *, held_delta: int = 0) -> None:
    """Refuse a change that lowers a guarded account's available balance below zero.

    Only decreases are refused: a credit to an account is always allowed.
    """
    if facts.guard is Guard.NONE:
        return
    change = natural(facts.type, delta_raw) - held_delta
    if change >= 0:
        return
    after = facts.available + change
    if after < 0:
        raise InsufficientFunds(
            f"account {facts.code} has {facts.available} fen available, needs {-change}",
            account=facts.code,
            available_fen=facts.available,
            requested_fen=-change,
        )


def check_hold_post(facts: AccountFacts, hold_amount_fen: int, delta_raw: int) -> None:
    """A hold is posted by an entry that lowers the held account by 1..hold amount fen."""
    taken = -natural(facts.type, delta_raw)
    if taken <= 0:
        raise InvalidEntry(f"the entry must take money out of the held account {facts.code}")
    if taken > hold_amount_fen:
        raise HoldAmountExceeded(
            f"posting {taken} fen exceeds the {hold_amount_fen} fen held",
            held_fen=hold_amount_fen,
            requested_fen=taken,
        )


def mirror(postings: Iterable[PostingSpec]) -> tuple[PostingSpec, ...]:
    """The postings of a reversal: same accounts, opposite signs."""
    return tuple(PostingSpec(leg.account, -leg.amount_fen) for leg in postings)


def fingerprint(kind: str, /, **content: Any) -> str:
    """A stable SHA-256 of a request, so a replayed key can be told from a reused one."""
    canonical = json.dumps({"kind": kind, **content}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def entry_fingerprint(spec: EntrySpec) -> str:
    legs = sorted((leg.account, leg.amount_fen) for leg in spec.postings)
    return fingerprint(
        "entry",
        code=spec.code,
        postings=legs,
        value_date=spec.value_date,
        description=spec.description,
        metadata=dict(spec.metadata),
        currency=spec.currency,
    )
