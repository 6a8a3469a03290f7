"""Time-ordered identifiers (UUIDv7, RFC 9562): sortable by creation time, index friendly."""

from __future__ import annotations

import os
import time
import uuid


def uuid7(now_ms: int | None = None) -> uuid.UUID:
    """A UUIDv7: 48-bit Unix milliseconds, version 7, 74 random bits."""
    return uuid.UUID(int=_uuid7_value(now_ms))


def new_id() -> str:
    """A new time-ordered id as a 36-character string (how ids are stored and exposed).

    Formatted directly (the same text as ``str(uuid7())``): batch writers make thousands a second.
    """
    text = f"{_uuid7_value(None):032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _uuid7_value(now_ms: int | None) -> int:
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (rand >> 68 & 0xFFF) << 64  # 12 bits rand_a
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # 62 bits rand_b
    return value
