"""The ledger's named errors (django-hordak style): each has a stable ``code`` callers can match."""

from __future__ import annotations

from greenbank.errors import Conflict, NotFound, ValidationFailed
from greenbank.errors import IdempotencyKeyReused as IdempotencyKeyReused


class InvalidEntry(ValidationFailed):
    code = "invalid_entry"
    title = "The entry is not well formed"


class UnbalancedEntry(ValidationFailed):
    code = "unbalanced_entry"
    title = "The postings of an entry must sum to zero"


class CurrencyMismatch(ValidationFailed):
    code = "currency_mismatch"
    title = "All postings of an entry must be in the entry's currency"


class UnsupportedCurrency(ValidationFailed):
    code = "unsupported_currency"
    title = "Only CNY accounts are supported"


class InvalidAccount(ValidationFailed):
    code = "invalid_account"
    title = "The account definition is not valid"


class HoldAmountExceeded(ValidationFailed):
    code = "hold_amount_exceeded"
    title = "A hold can be posted for at most the amount it reserved"


class AccountNotFound(NotFound):
    code = "account_not_found"
    title = "No such ledger account"


class EntryNotFound(NotFound):
    code = "entry_not_found"
    title = "No such ledger entry"


class HoldNotFound(NotFound):
    code = "hold_not_found"
    title = "No such hold"


class AccountClosed(Conflict):
    code = "account_closed"
    title = "The account is closed"


class AccountExists(Conflict):
    code = "account_exists"
    title = "An account with this code exists with different attributes"


class AccountNotEmpty(Conflict):
    code = "account_not_empty"
    title = "Only an account with a zero balance and no pending holds can be closed"


class InsufficientFunds(Conflict):
    code = "insufficient_funds"
    title = "The available balance is not enough"


class AlreadyReversed(Conflict):
    code = "already_reversed"
    title = "The entry was already reversed"


class HoldNotPending(Conflict):
    code = "hold_not_pending"
    title = "The hold is no longer pending"


class HoldExpired(Conflict):
    code = "hold_expired"
    title = "The hold has expired"
