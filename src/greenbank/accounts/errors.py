"""Errors of Class II accounts and their opening, each with a stable ``code``.

Refusals that end an application (``id_verification_*``, ``region_not_served`` ...) are raised
after the refusal has been committed, so the problem+json tells the client why and a later GET
shows the application as ``refused`` with the same code.
"""

from __future__ import annotations

from greenbank.errors import (
    Conflict,
    Forbidden,
    GreenbankError,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
)
from greenbank.errors import IdempotencyKeyReused as IdempotencyKeyReused


class ProviderUnavailable(ServiceUnavailable):
    code = "provider_unavailable"
    title = "An outside check did not answer; the application is unchanged, retry the step"


class ApplicationNotFound(NotFound):
    code = "application_not_found"
    title = "No such account-opening application"


class ApplicationInProgress(Conflict):
    code = "application_in_progress"
    title = "An account-opening application for this person is already open"


class AccountLimitReached(Conflict):
    code = "account_limit_reached"
    title = "This person already has the most open Class II accounts allowed"


class WrongStep(Conflict):
    code = "wrong_step"
    title = "The application is not at the step this request belongs to"


class StaleApplication(Conflict):
    code = "application_changed"
    title = "The application changed while this request ran; reload it and retry"


class ConsentRequired(ValidationFailed):
    code = "consent_required"
    title = "The terms, the personal-information and the face-data consents are all required"


class ConsentVersionOutdated(ValidationFailed):
    code = "consent_version_outdated"
    title = "A consent names an older version of the document; show the current one"


class ConsentRevoked(Forbidden):
    code = "consent_revoked"
    title = "A consent this step needs was revoked"


class IdFieldsInconsistent(ValidationFailed):
    code = "id_fields_inconsistent"
    title = "The confirmed ID fields contradict each other (sex, birth date, nationality)"


class IdNumberInUse(Conflict):
    code = "id_number_in_use"
    title = "This ID number belongs to another registered customer"


class OcrUnreadable(ValidationFailed):
    code = "ocr_unreadable"
    title = "The ID card images could not be read; take new photos of both sides"


class ImageTooLarge(ValidationFailed):
    code = "image_too_large"
    title = "An uploaded image is larger than the limit"


class LivenessChallengeInvalid(ValidationFailed):
    code = "liveness_challenge_invalid"
    title = "The liveness challenge token is unknown, used or expired; ask for a new one"


class FaceCheckFailed(ValidationFailed):
    code = "face_mismatch"
    title = "The selfie did not pass the liveness or portrait check"


class CardCheckFailed(ValidationFailed):
    """The card's bank refused the five elements; ``code`` says which element failed."""

    code = "card_not_owned"
    title = "The card is not registered to this name and ID number"


class BankMobileMismatch(CardCheckFailed):
    code = "bank_mobile_mismatch"
    title = "The mobile number is not the one registered with the card's bank"


class CardElementsChanged(Conflict):
    code = "card_elements_changed"
    title = "The card or mobile differs from the one the SMS code was sent for"


class CardCodeNotRequested(Conflict):
    code = "card_code_not_requested"
    title = "Request an SMS code for the card first"


class ApplicationRefused(Forbidden):
    """The application was refused; build one with :func:`refusal` so ``code`` is the reason."""

    code = "application_refused"
    title = "The account can not be opened"


_REFUSALS: dict[str, type[ApplicationRefused]] = {}


def refusal(reason: str, detail: str | None = None, **extra: object) -> ApplicationRefused:
    """An ``ApplicationRefused`` whose code is the refusal reason (``id_verification_no_record``,
    ``region_not_served``, ...), one subclass per reason so the code stays a class attribute."""
    cls = _REFUSALS.get(reason)
    if cls is None:
        cls = type(f"Refused_{reason}", (ApplicationRefused,), {"code": reason})
        _REFUSALS[reason] = cls
    return cls(detail, **extra)


class AccountNotFound(NotFound):
    code = "class2_account_not_found"
    title = "No such open Class II account"


class ReviewNotOpen(Conflict):
    code = "review_not_open"
    title = "This application is not waiting for review"


class BlacklistEntryExists(Conflict):
    code = "blacklist_entry_exists"
    title = "This subject is already on the blacklist"


__all__ = [
    "AccountLimitReached",
    "AccountNotFound",
    "ApplicationInProgress",
    "ApplicationNotFound",
    "ApplicationRefused",
    "BankMobileMismatch",
    "BlacklistEntryExists",
    "CardCheckFailed",
    "CardCodeNotRequested",
    "CardElementsChanged",
    "ConsentRequired",
    "ConsentRevoked",
    "ConsentVersionOutdated",
    "FaceCheckFailed",
    "GreenbankError",
    "IdFieldsInconsistent",
    "IdNumberInUse",
    "IdempotencyKeyReused",
    "ImageTooLarge",
    "LivenessChallengeInvalid",
    "OcrUnreadable",
    "ProviderUnavailable",
    "ReviewNotOpen",
    "StaleApplication",
    "WrongStep",
    "refusal",
]
