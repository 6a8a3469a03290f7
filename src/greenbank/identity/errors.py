"""Identity errors, each with a stable ``code``.

Some carry response ``headers`` (``WWW-Authenticate`` on 401s as RFC 6750 asks, ``Retry-After``
on rate limits and lockouts); the API's problem handler copies them onto the response.
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

BEARER_CHALLENGE = 'Bearer realm="greenbank"'


class _WithHeaders(GreenbankError):
    """An error that asks for extra response headers."""

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers: dict[str, str] = {}


class _Retryable(_WithHeaders):
    def __init__(self, detail: str | None = None, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)
        self.headers["Retry-After"] = str(retry_after)


class AuthenticationRequired(_WithHeaders, Unauthorized):
    code = "unauthorized"
    title = "Authentication required"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers["WWW-Authenticate"] = BEARER_CHALLENGE


class _InvalidToken(AuthenticationRequired):
    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers["WWW-Authenticate"] = f'{BEARER_CHALLENGE}, error="invalid_token"'


class TokenExpired(_InvalidToken):
    code = "token_expired"
    title = "The token has expired; refresh it or sign in again"


class SessionRevoked(_InvalidToken):
    code = "session_revoked"
    title = "The session was revoked; sign in again"


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    title = "Wrong username or password"


class MissingPermission(Forbidden):
    code = "forbidden"
    title = "Your roles do not grant the permission this action needs"


class AccountLocked(_Retryable, Forbidden):
    code = "account_locked"
    title = "Too many wrong passwords; the account is locked for a while"


class AccountDisabled(Forbidden):
    code = "account_disabled"
    title = "The staff account is disabled"


class StaffNotFound(NotFound):
    code = "staff_not_found"
    title = "No such staff account"


class UsernameTaken(Conflict):
    code = "username_taken"
    title = "Another staff account has this username"


class SessionNotFound(NotFound):
    code = "session_not_found"
    title = "No such session"


class LastAdmin(Conflict):
    code = "last_admin"
    title = "This would leave no active admin to manage staff"


class InvalidUsername(ValidationFailed):
    code = "invalid_username"
    title = "A username is 3-64 characters: a-z first, then a-z, 0-9, '.', '_' or '-'"


class UnknownRole(ValidationFailed):
    code = "unknown_role"
    title = "No such staff role"


class WeakPassword(ValidationFailed):
    code = "weak_password"
    title = "The password does not meet the password policy"


class MobileMalformed(ValidationFailed):
    code = "mobile_malformed"
    title = "A mainland mobile number is 11 digits starting with 13-19"


class OtpRateLimited(_Retryable, RateLimited):
    code = "otp_rate_limited"
    title = "Too many codes requested; wait before asking again"


class OtpInvalid(GreenbankError):
    code = "otp_invalid"
    title = "The code is wrong"


class OtpExpired(GreenbankError):
    code = "otp_expired"
    title = "The code has expired; request a new one"


class OtpAttemptsExceeded(GreenbankError):
    code = "otp_attempts_exceeded"
    title = "Too many wrong codes; request a new one"


class SmsSendFailed(GreenbankError):
    code = "sms_send_failed"
    status = 502
    title = "The SMS provider did not accept the message; try again"


class SmsTimedOut(SmsSendFailed):
    status = 503
    title = "The SMS provider did not answer in time; try again"
