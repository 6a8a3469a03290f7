"""Open API errors: one stable code per refusal, so a partner's engineers can tell them apart.

Authentication refusals are 401 with a ``WWW-Authenticate`` challenge naming the scheme.
"""

from __future__ import annotations

from typing import Any

from greenbank.errors import (
    Conflict,
    Forbidden,
    GreenbankError,
    NotFound,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)
from greenbank.errors import IdempotencyKeyReused as IdempotencyKeyReused
from greenbank_sdk.protocol import SCHEME


class _SignatureRefused(Unauthorized):
    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers = {"WWW-Authenticate": SCHEME}


class SignatureMissing(_SignatureRefused):
    code = "signature_missing"
    title = f"Sign the request: Authorization: {SCHEME} ..."


class AuthorizationMalformed(_SignatureRefused):
    code = "authorization_malformed"
    title = "The Authorization header cannot be read"


class PartnerUnknown(_SignatureRefused):
    code = "partner_unknown"
    title = "No active partner has this partner_id"


class SerialUnknown(_SignatureRefused):
    code = "serial_unknown"
    title = "serial_no names no active key of this partner"


class TimestampExpired(_SignatureRefused):
    code = "timestamp_expired"
    title = "The timestamp is more than 5 minutes from the bank's clock"


class NonceReplayed(_SignatureRefused):
    code = "nonce_replayed"
    title = "This nonce was already used within the replay window"


class SignatureInvalid(_SignatureRefused):
    code = "signature_invalid"
    title = "The signature does not verify (wrong key, or the request changed after signing)"


class IpNotAllowed(Forbidden):
    code = "ip_not_allowed"
    title = "The caller's address is not on the partner's allow-list"


class PartnerRateLimited(RateLimited):
    code = "partner_rate_limited"
    title = "Over the partner's rate limit"

    def __init__(self, detail: str | None = None, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)
        self.headers = {"Retry-After": str(retry_after)}


class MalformedJson(GreenbankError):
    code = "malformed_json"
    status = 400
    title = "The body is not a JSON document"


class BatchTooLarge(GreenbankError):
    code = "batch_too_large"
    status = 413
    title = "A batch holds at most 500 events"


class IdempotencyKeyMissing(GreenbankError):
    code = "idempotency_key_missing"
    status = 400
    title = "Every write needs an Idempotency-Key header"


class ScenarioNotAllowed(Forbidden):
    code = "scenario_not_allowed"
    title = "The partner may not report this scenario"


class ScenarioNotAuthorised(Forbidden):
    code = "scenario_not_authorised"
    title = "The customer did not authorise this scenario for the partner"


class CustomerTokenUnknown(NotFound):
    code = "customer_token_unknown"
    title = "No authorisation has this customer token"


class TokenWrongPartner(Forbidden):
    code = "token_wrong_partner"
    title = "The customer token was issued to another partner"


class AuthorisationRevoked(Forbidden):
    code = "authorisation_revoked"
    title = "The customer revoked this authorisation"


class EncryptedFieldInvalid(ValidationFailed):
    code = "encrypted_field_invalid"
    title = "A sensitive field does not decrypt with the platform key"


class PartnerNotFound(NotFound):
    code = "partner_not_found"
    title = "No such partner"


class PartnerExists(Conflict):
    code = "partner_exists"
    title = "A partner with this id exists"


class PartnerState(Conflict):
    code = "partner_state"
    title = "The partner is not in a state that allows this"


class MakerChecker(Forbidden):
    code = "partners_maker_checker"
    title = "The checker must be another person than the maker"


class PartnerKeyInvalid(ValidationFailed):
    code = "partner_key_invalid"
    title = "Upload an SM2 public key as PEM SubjectPublicKeyInfo"


class PartnerKeyNotFound(NotFound):
    code = "partner_key_not_found"
    title = "The partner has no such key"


class LastKey(Conflict):
    code = "partner_last_key"
    title = "Add the new key before revoking the last active one"


class ApiSecretMissing(Conflict):
    code = "api_secret_missing"
    title = "Set the API secret (PUT /api/v1/open/api-secret) before subscribing to webhooks"


class AuthorisationRequestNotFound(NotFound):
    code = "authorisation_request_not_found"
    title = "No such authorisation request"


class AuthorisationRequestState(Conflict):
    code = "authorisation_request_state"
    title = "The authorisation request is no longer pending"


class AuthorisationCodeInvalid(GreenbankError):
    code = "authorisation_code_invalid"
    status = 400
    title = "The code is unknown, used, expired or belongs to another partner"


class CustomerMismatch(Forbidden):
    code = "authorisation_customer_mismatch"
    title = "The signed-in customer is not the one the partner named"


class SandboxMismatch(Forbidden):
    code = "sandbox_mismatch"
    title = "Sandbox partners work with sandbox customers, production partners with real ones"


class AuthorisationNotFound(NotFound):
    code = "authorisation_not_found"
    title = "No such partner authorisation"


class EventNotFound(NotFound):
    code = "partner_event_not_found"
    title = "No event with this id was reported by the partner"


class WebhookNotFound(NotFound):
    code = "webhook_not_found"
    title = "No such webhook subscription"


class WebhookUrlRefused(ValidationFailed):
    code = "webhook_url_refused"
    title = "Webhook URLs are https (sandbox partners may use http://127.0.0.1)"
