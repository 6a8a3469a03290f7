"""The root of every domain error.

Each error carries a stable, machine-readable ``code`` (snake_case, never reused for a different
meaning) and an HTTP ``status`` the API uses when it maps the error to RFC 9457 problem+json.
"""

from __future__ import annotations

from typing import Any, ClassVar


class GreenbankError(Exception):
    """Base class: subclasses set ``code``, ``status`` and ``title`` as class attributes."""

    code: ClassVar[str] = "greenbank_error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Request could not be processed"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class ValidationFailed(GreenbankError):
    code = "validation_failed"
    status = 422
    title = "Input is not valid"


class NotFound(GreenbankError):
    code = "not_found"
    status = 404
    title = "Not found"


class Conflict(GreenbankError):
    code = "conflict"
    status = 409
    title = "Conflicts with the current state"


class InvalidIdempotencyKey(ValidationFailed):
    code = "invalid_idempotency_key"
    title = "Send an Idempotency-Key header of 1-100 characters"


class IdempotencyKeyReused(Conflict):
    """The same key came with a different request: a retry must repeat the first one exactly."""

    code = "idempotency_key_reused"
    title = "The idempotency key was already used for a different request"


class Forbidden(GreenbankError):
    code = "forbidden"
    status = 403
    title = "Not allowed"


class Unauthorized(GreenbankError):
    code = "unauthorized"
    status = 401
    title = "Authentication required"


class RateLimited(GreenbankError):
    code = "rate_limited"
    status = 429
    title = "Too many requests"


class ServiceUnavailable(GreenbankError):
    code = "service_unavailable"
    status = 503
    title = "A dependency is unavailable"


class ConfigurationError(GreenbankError):
    code = "configuration_error"
    status = 500
    title = "greenbank is not configured correctly"
