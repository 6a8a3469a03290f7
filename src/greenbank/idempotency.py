"""Client idempotency keys and request fingerprints, as the customer commands use them.

A command stores the key with the fingerprint of the request it answered: a retry with the same
key and request gets the first answer, the same key with another request is refused
(``IdempotencyKeyReused``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from greenbank.errors import InvalidIdempotencyKey

MAX_KEY_LENGTH = 100


def check_key(key: str) -> str:
    """The key without surrounding blanks; 1 to ``MAX_KEY_LENGTH`` characters."""
    key = key.strip()
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise InvalidIdempotencyKey()
    return key


def fingerprint(**content: Any) -> str:
    """SHA-256 of a request, so a retried key can be told from a key reused for another one."""
    canonical = json.dumps(content, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
