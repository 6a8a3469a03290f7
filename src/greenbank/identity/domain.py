"""Pure identity rules: roles and their permissions, one-time codes, passwords, token format.

Nothing here touches a database or the network, so every rule is unit-tested directly.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from greenbank.identity.errors import InvalidUsername, MobileMalformed, UnknownRole, WeakPassword


class Role(StrEnum):
    OPERATOR = "operator"
    REVIEWER = "reviewer"
    PRODUCT_MANAGER = "product_manager"
    AUDITOR = "auditor"
    ADMIN = "admin"


# The permission table (README: "Roles and permissions"). Maker and checker are different roles:
# product managers manage methodologies and partners, reviewers approve them; the admin manages
# staff but approves nothing and reads no audit trail (the auditor does).
PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.OPERATOR: frozenset({"customers.read", "customers.freeze", "receipts.stats.read"}),
    Role.REVIEWER: frozenset(
        {
            "customers.read",
            "applications.review",
            "carbon.methodologies.approve",
            "partners.approve",
        }
    ),
    Role.PRODUCT_MANAGER: frozenset(
        {
            "deposits.products.manage",
            "carbon.methodologies.manage",
            "partners.manage",
            "rewards.manage",
            "receipts.stats.read",
            "reports.read",
        }
    ),
    Role.AUDITOR: frozenset(
        {"audit.read", "customers.read", "receipts.stats.read", "reports.read"}
    ),
    Role.ADMIN: frozenset({"staff.manage", "reports.read"}),
}
ALL_PERMISSIONS: frozenset[str] = frozenset().union(*PERMISSIONS.values())


def permissions_for(roles: Iterable[Role | str]) -> frozenset[str]:
    """The union of the permissions of ``roles`` (unknown role names grant nothing)."""
    granted: set[str] = set()
    for role in roles:
        if role in Role._value2member_map_:
            granted |= PERMISSIONS[Role(role)]
    return frozenset(granted)


def parse_roles(names: Iterable[str]) -> frozenset[Role]:
    roles = set()
    for name in names:
        if name not in Role._value2member_map_:
            raise UnknownRole(f"unknown role {name!r}; roles are {', '.join(Role)}")
        roles.add(Role(name))
    if not roles:
        raise UnknownRole("a staff account needs at least one role")
    return frozenset(roles)


# --- tokens -----------------------------------------------------------------------------------


class TokenKind(StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"


# A prefix names the kind (and lets secret scanners recognise a leaked token); the rest is
# 32 random bytes, URL-safe base64. Only a hash of the whole token is stored.
TOKEN_PREFIX = {TokenKind.ACCESS: "gba_", TokenKind.REFRESH: "gbr_"}
_TOKEN = re.compile(r"^gb[ar]_[A-Za-z0-9_-]{43}$")


def new_token(kind: TokenKind) -> str:
    return TOKEN_PREFIX[kind] + secrets.token_urlsafe(32)


def token_kind(token: str) -> TokenKind | None:
    """The kind a well-formed token claims, or None for anything that is not one of ours."""
    if not _TOKEN.fullmatch(token):
        return None
    return TokenKind.ACCESS if token.startswith("gba_") else TokenKind.REFRESH


# --- one-time codes ---------------------------------------------------------------------------


class OtpPurpose(StrEnum):
    SIGN_IN = "sign_in"
    BIND_CARD = "bind_card"


class OtpStatus(StrEnum):
    SENDING = "sending"  # reserved, SMS not yet accepted by the provider: not verifiable
    PENDING = "pending"
    VERIFIED = "verified"
    BURNT = "burnt"  # too many wrong attempts
    EXPIRED = "expired"
    SUPERSEDED = "superseded"  # a newer code was sent to the same phone for the same purpose
    SEND_FAILED = "send_failed"


@dataclass(frozen=True)
class OtpPolicy:
    length: int = 6
    ttl: timedelta = timedelta(minutes=5)
    max_attempts: int = 5
    resend_cooldown: timedelta = timedelta(seconds=60)
    daily_cap_per_phone: int = 10
    daily_cap_per_ip: int = 50


def generate_code(length: int, randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    """``length`` decimal digits, uniformly random (leading zeros kept)."""
    return f"{randbelow(10**length):0{length}d}"


@dataclass(frozen=True)
class Attempt:
    """The outcome of one verification attempt against a pending challenge."""

    ok: bool
    attempts: int
    status: OtpStatus


def judge_attempt(
    *, matches: bool, attempts: int, expires_at: datetime, now: datetime, policy: OtpPolicy
) -> Attempt:
    """Expiry first (an expired code is never checked), then the code; the ``max_attempts``-th
    wrong code burns the challenge so no further guess is accepted, right or wrong."""
    if now >= expires_at:
        return Attempt(ok=False, attempts=attempts, status=OtpStatus.EXPIRED)
    if matches:
        return Attempt(ok=True, attempts=attempts + 1, status=OtpStatus.VERIFIED)
    used = attempts + 1
    status = OtpStatus.BURNT if used >= policy.max_attempts else OtpStatus.PENDING
    return Attempt(ok=False, attempts=used, status=status)


def seconds_until(instant: datetime, now: datetime) -> int:
    """Whole seconds from ``now`` to ``instant``, rounded up (a Retry-After value), at least 1."""
    remaining = (instant - now).total_seconds()
    return max(1, int(-(-remaining // 1)))


# --- phones -----------------------------------------------------------------------------------

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_SEPARATORS = re.compile(r"[\s-]")


def normalise_mobile(raw: str) -> str:
    """The 11-digit mainland mobile; +86 / 0086 / 86 prefixes, spaces and hyphens accepted."""
    digits = _SEPARATORS.sub("", raw.strip())
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    if not _MOBILE.fullmatch(digits):
        raise MobileMalformed()
    return digits


# --- staff passwords and lockout --------------------------------------------------------------

_USERNAME = re.compile(r"^[a-z][a-z0-9._-]{2,63}$")


def normalise_username(raw: str) -> str:
    """Usernames are case-insensitive: stored lower-case."""
    username = raw.strip().lower()
    if not _USERNAME.fullmatch(username):
        raise InvalidUsername()
    return username


PASSWORD_MAX_LENGTH = 128
# A few of the most common passwords of at least 12 characters; a real deployment adds a
# breached-password list (NIST SP 800-63B 5.1.1.2) behind the same function.
_COMMON = frozenset(
    {
        "123456789012",
        "1234567890123",
        "qwertyuiopas",
        "password1234",
        "passwordpassword",
        "iloveyou1234",
        "abcdefghijkl",
        "qwerty123456",
        "111111111111",
        "greenbank123",
        "greenbankadmin",
    }
)


def check_password(password: str, *, username: str, min_length: int) -> None:
    """Length-based policy without composition rules (NIST SP 800-63B): at least
    ``min_length`` characters, at most 128, not a common password, not the username inside,
    not one character repeated. Raises :class:`WeakPassword` naming the first rule broken."""
    if len(password) < min_length:
        raise WeakPassword(f"at least {min_length} characters are required")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise WeakPassword(f"at most {PASSWORD_MAX_LENGTH} characters are allowed")
    lowered = password.casefold()
    if lowered in _COMMON:
        raise WeakPassword("this password is too common")
    if username and username.casefold() in lowered:
        raise WeakPassword("the password must not contain the username")
    if len(set(password)) == 1:
        raise WeakPassword("the password must not be one repeated character")


@dataclass(frozen=True)
class Lockout:
    threshold: int = 5
    duration: timedelta = timedelta(minutes=15)

    def after_failure(self, failures: int, now: datetime) -> tuple[int, datetime | None]:
        """The failure count and lock expiry after one more wrong password: reaching the
        threshold locks the account and starts the count again for after the lock."""
        failures += 1
        if failures >= self.threshold:
            return 0, now + self.duration
        return failures, None
