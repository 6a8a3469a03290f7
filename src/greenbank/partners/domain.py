"""Pure rules of the open API: reading the Authorization header, the replay window, the
allow-list, the rate limit, webhook URLs and the sandbox boundary. No database, no web framework.

The canonical messages themselves live in ``greenbank_sdk.protocol``, so the bank and the SDK
build them from one definition.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from greenbank.partners.errors import (
    AuthorizationMalformed,
    BatchTooLarge,
    IdempotencyKeyMissing,
    IpNotAllowed,
    PartnerRateLimited,
    ScenarioNotAllowed,
    TimestampExpired,
    WebhookUrlRefused,
)
from greenbank_sdk.protocol import Authorization, parse_authorization, request_message

REPLAY_WINDOW = timedelta(minutes=5)
MAX_BATCH = 500
RATE_WINDOW = timedelta(minutes=1)
PARTNER_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")  # also a carbon source id
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_SERIAL = re.compile(r"^[0-9A-F]{40}$")
_SIGNATURE = re.compile(r"^[A-Za-z0-9+/]{40,200}={0,2}$")
_TIMESTAMP = re.compile(r"^[0-9]{10}$")
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
NOTIFICATION_TYPES = ("event.credited", "event.rejected", "authorisation.revoked")


def read_authorization(header: str | None) -> Authorization:
    """The header's fields, each checked for shape; ``authorization_malformed`` otherwise."""
    try:
        auth = parse_authorization(header or "")
    except ValueError as err:
        raise AuthorizationMalformed(str(err)) from None
    checks = (
        (PARTNER_ID, auth.partner_id, "partner_id"),
        (_NONCE, auth.nonce_str, "nonce_str (16-64 of A-Z a-z 0-9 _ -)"),
        (_TIMESTAMP, auth.timestamp, "timestamp (Unix seconds)"),
        (_SERIAL, auth.serial_no, "serial_no (40 upper-case hex digits)"),
        (_SIGNATURE, auth.signature, "signature (base64 DER)"),
    )
    for pattern, value, name in checks:
        if not pattern.fullmatch(value):
            raise AuthorizationMalformed(f"{name} is malformed")
    return auth


def check_timestamp(timestamp: str, now: datetime) -> datetime:
    """The signing instant if it lies within 5 minutes of ``now`` (either side)."""
    signed_at = datetime.fromtimestamp(int(timestamp), tz=now.tzinfo)
    if abs(now - signed_at) > REPLAY_WINDOW:
        raise TimestampExpired(
            f"timestamp {timestamp} is {int((now - signed_at).total_seconds())} s from "
            f"the bank's clock ({int(now.timestamp())})",
            server_time=int(now.timestamp()),
        )
    return signed_at


def nonce_expiry(signed_at: datetime) -> datetime:
    """A nonce must be remembered until its timestamp can no longer pass ``check_timestamp``."""
    return signed_at + REPLAY_WINDOW


def signed_message(method: str, path_with_query: str, auth: Authorization, body: bytes) -> bytes:
    return request_message(method, path_with_query, auth.timestamp, auth.nonce_str, body)


def check_ip(allow_list: Sequence[str], client_ip: str | None) -> None:
    """An empty allow-list admits everyone; otherwise the caller's address must fall in it."""
    if not allow_list:
        return
    try:
        address = ipaddress.ip_address(client_ip or "")
    except ValueError:
        raise IpNotAllowed("the caller's address is unknown") from None
    if not any(address in ipaddress.ip_network(net, strict=False) for net in allow_list):
        raise IpNotAllowed(f"{address} is not on the allow-list")


def normalise_allow_list(entries: Iterable[str]) -> list[str]:
    """CIDR blocks or single addresses, normalised; ValueError names a bad entry."""
    return [str(ipaddress.ip_network(entry.strip(), strict=False)) for entry in entries]


def check_rate(requests_in_window: int, limit_per_minute: int) -> None:
    """``requests_in_window`` counts this partner's authenticated requests in the last minute,
    this one excluded."""
    if requests_in_window >= limit_per_minute:
        raise PartnerRateLimited(
            f"{limit_per_minute} requests per minute", retry_after=1, limit=limit_per_minute
        )


def check_batch_size(count: int) -> None:
    if count > MAX_BATCH:
        raise BatchTooLarge(f"{count} events; send at most {MAX_BATCH} per batch", max=MAX_BATCH)


def check_idempotency_key(key: str | None) -> str:
    if key is None or not _IDEMPOTENCY_KEY.fullmatch(key):
        raise IdempotencyKeyMissing("send Idempotency-Key: 8-128 of A-Z a-z 0-9 . _ : -")
    return key


def check_scenarios(requested: Iterable[str], allowed: Iterable[str]) -> None:
    refused = sorted(set(requested) - set(allowed))
    if refused:
        raise ScenarioNotAllowed(
            f"not in the partner's scenarios: {', '.join(refused)}", scenarios=refused
        )


def check_webhook_url(url: str, *, sandbox: bool) -> str:
    """https for everyone; sandbox partners may also call back to a loopback http address."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if sandbox and parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost", "::1"}:
        return url
    raise WebhookUrlRefused(f"{parts.scheme}://{parts.hostname} is not allowed")


@dataclass(frozen=True)
class Mode:
    """Which customers a partner may work with."""

    sandbox: bool

    def admits(self, customer_is_sandbox: bool) -> bool:
        return self.sandbox == customer_is_sandbox
