"""Errors of the closed fund loop, account states and AML, each with a stable ``code``."""

from __future__ import annotations

from greenbank.errors import Conflict, Forbidden, NotFound, ValidationFailed


class NotBoundCard(Forbidden):
    code = "not_bound_card"
    title = "Money may only come from and go back to the account's bound card"


class AccountFrozen(Conflict):
    code = "account_frozen"
    title = "The account is frozen: no money can move"


class AccountRestricted(Conflict):
    code = "account_restricted"
    title = "The account is restricted: only a withdrawal to the bound card is allowed"


class AccountClosed(Conflict):
    code = "account_closed"
    title = "The account is closed"


class NoActiveBoundCard(Conflict):
    code = "no_bound_card"
    title = "The account has no active bound card"


class InvalidTransferAmount(ValidationFailed):
    code = "invalid_transfer_amount"
    title = "The amount must be a positive number of fen within the single-transfer limit"


class NonBoundLimitExceeded(Conflict):
    code = "non_bound_limit_exceeded"
    title = "The daily or yearly limit for non-bound accounts would be exceeded"


class TransferNotFound(NotFound):
    code = "transfer_not_found"
    title = "No such top-up or withdrawal"


class RailNoticeConflict(Conflict):
    code = "rail_notice_conflict"
    title = "The rail's notice contradicts what it said before about this transfer"


class TransfersInFlight(Conflict):
    code = "transfers_in_flight"
    title = "A top-up or withdrawal is still with the card rail; wait for it to settle"


class HoldingsOpen(Conflict):
    code = "holdings_open"
    title = "Time deposits are still held; withdraw them before closing the account"


class InvalidStateChange(Conflict):
    code = "invalid_account_state_change"
    title = "The account can not change to that state from its current one"


class ReasonRequired(ValidationFailed):
    code = "reason_required"
    title = "A reason of 2-200 characters is required"


class AlertNotFound(NotFound):
    code = "aml_alert_not_found"
    title = "No such AML alert"


class AlertAlreadyResolved(Conflict):
    code = "aml_alert_resolved"
    title = "The alert was already resolved"


class SearchCriteriaInvalid(ValidationFailed):
    code = "search_criteria_invalid"
    title = "Give exactly one of ID number, mobile number or card number"
