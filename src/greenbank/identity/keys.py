"""Server-side keys and hashes identity uses: token hashes, code MACs, the phone blind index."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from greenbank.bootstrap import Container
from greenbank.crypto import hmac_sm3, sm3
from greenbank.identity.domain import normalise_mobile

PhoneIndex = Callable[[str], str]


def token_hash(token: str) -> str:
    """SM3 of a bearer token, as 64 hex digits: what the database keeps instead of the token.
    A plain hash suffices because tokens carry 256 random bits (nothing to guess)."""
    return sm3(token.encode()).hex()


def derive_key(secret: str, purpose: str) -> bytes:
    """A per-purpose key from the deployment secret, so one leaked MAC key opens nothing else."""
    return hmac_sm3(secret.encode(), b"greenbank/identity/" + purpose.encode())


def code_mac(key: bytes, challenge_id: str, code: str) -> str:
    """HMAC-SM3 of a one-time code bound to its challenge (equal codes hash differently)."""
    return hmac_sm3(key, f"{challenge_id}:{code}".encode()).hex()


def same_mac(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def otp_key(container: Container) -> bytes:
    return derive_key(container.settings.secret_key.get_secret_value(), "otp")


def phone_indexer(container: Container) -> PhoneIndex:
    """The deployment's blind index of a mobile number (the same one ``customers`` uses)."""
    keyring = container.keyring

    def index(phone: str) -> str:
        return keyring.blind_index(normalise_mobile(phone), kind="phone")

    return index
