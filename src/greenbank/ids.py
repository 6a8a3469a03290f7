"""Time-ordered identifiers (UUIDv7, RFC 9562): sortable by creation time, index friendly.

Within one process ids are strictly increasing, also inside one millisecond (RFC 9562 §6.2,
"monotonic random"): a later id repeats the last one's millisecond and adds a random step of at
most 2**32 to its 74 random bits, so rows written in one millisecond still sort in the order
they were made (audit lines, statements) and the ids stay unguessable.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_RAND_BITS = 74
_lock = threading.Lock()
_last = (0, 0)  # (milliseconds, 74 random bits) of the last id made here


def uuid7(now_ms: int | None = None) -> uuid.UUID:
    """A UUIDv7: 48-bit Unix milliseconds, version 7, 74 random bits."""
    if now_ms is None:
        return uuid.UUID(int=_next_value())
    return uuid.UUID(int=_layout(now_ms, int.from_bytes(os.urandom(10), "big") >> 6))


def new_id() -> str:
    """A new time-ordered id as a 36-character string (how ids are stored and exposed).

    Formatted directly (the same text as ``str(uuid7())``): batch writers make thousands a second.
    """
    text = f"{_next_value():032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _next_value() -> int:
    global _last
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big") >> 6  # 74 bits
    with _lock:
        last_ms, last_rand = _last
        if ms <= last_ms:  # same millisecond (or the clock stepped back): count on from the last
            ms, rand = last_ms, last_rand + 1 + (rand >> (_RAND_BITS - 32))
            if rand >> _RAND_BITS:  # the random bits ran over: borrow the next millisecond
                ms, rand = ms + 1, rand & ((1 << _RAND_BITS) - 1)
        _last = (ms, rand)
    return _layout(ms, rand)


def _layout(ms: int, rand: int) -> int:
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (rand >> 62 & 0xFFF) << 64  # 12 bits rand_a
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # 62 bits rand_b
    return value
