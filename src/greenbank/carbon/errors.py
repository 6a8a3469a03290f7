"""Errors of the carbon account services (the pure core has its own in methodology.py)."""

from __future__ import annotations

from greenbank.errors import Conflict, Forbidden, GreenbankError, NotFound, ValidationFailed


class AccountNotOpen(NotFound):
    code = "carbon_account_not_open"
    title = "The customer has not opened a carbon account"


class AccountAlreadyOpen(Conflict):
    code = "carbon_account_already_open"
    title = "The carbon account is already open"


class TermsNotAccepted(ValidationFailed):
    code = "carbon_terms_not_accepted"
    title = "Accept the current carbon account terms to open the account"


class UnknownScenario(NotFound):
    code = "carbon_unknown_scenario"
    title = "No such low-carbon scenario"


class BadSource(ValidationFailed):
    code = "carbon_bad_source"
    title = "The source must be 'bank' or a partner id"


class ConsentNotFound(NotFound):
    code = "carbon_consent_not_found"
    title = "No such consent"


class MethodologyNotFound(NotFound):
    code = "carbon_methodology_not_found"
    title = "No such methodology version"


class MethodologyStateConflict(Conflict):
    code = "carbon_methodology_state"
    title = "The methodology version is not in a state that allows this"


class MakerCheckerViolation(Forbidden):
    code = "carbon_maker_checker"
    title = "A methodology must be approved by a different staff member"


class EntryNotFound(NotFound):
    code = "carbon_entry_not_found"
    title = "No such carbon ledger entry"


class CardNotFound(NotFound):
    code = "carbon_card_not_found"
    title = "No such green life card"


class RankNotEnabled(Forbidden):
    code = "carbon_rank_not_enabled"
    title = "Turn on the rank setting to see your percentile"


class InsufficientPoints(Conflict):
    code = "carbon_insufficient_points"
    title = "Not enough carbon points"


class PointsKeyReused(Conflict):
    code = "carbon_points_key_reused"
    title = "This idempotency key was used for a different points move"


class BadPoints(ValidationFailed):
    code = "carbon_bad_points"
    title = "Points must be a positive whole number"


class RecomputeNotNeeded(Conflict):
    code = "carbon_recompute_not_needed"
    title = "This version is not published, or nothing before it needs re-computing"


class CertificateNotVerified(NotFound):
    code = "carbon_certificate_not_verified"
    title = "No carbon reduction certificate matches this number and verification code"


class CertificateStoreDamaged(GreenbankError):
    code = "carbon_certificate_store_damaged"
    status = 500
    title = "The stored certificate file is missing or does not match its recorded hash"
