"""Masking of personal data for logs, API responses and receipts.

House style (architecture.md): cards ``6217 27** **** 1234``, names ``张*``. The rules:

* ID number: first 6 (the issuing region) and last 4 shown, every other character a ``*``:
  ``11010519491231002X`` -> ``110105********002X``. The birth date is always hidden.
* Card: digits only, first 6 (the BIN) and last 4 shown, grouped in fours.
* Phone: first 3 (the carrier prefix) and last 4 shown: ``13812345678`` -> ``138****5678``.
* Name: the first character shown, one ``*`` per other character: ``张三`` -> ``张*``,
  ``欧阳娜娜`` -> ``欧***``. Compound surnames are not special-cased: ``欧阳`` (surname) cannot be
  told from ``欧`` + given name reliably, and showing less is the safe side.

Values too short for their rule are masked entirely (they are not what they claim to be, and a
mask must never reveal more of a malformed value than of a valid one).
"""

from __future__ import annotations

import re

_NOT_DIGIT = re.compile(r"\D")


def _keep(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def mask_id_number(value: str) -> str:
    """``11010519491231002X`` -> ``110105********002X`` (15-digit legacy IDs alike)."""
    return _keep("".join(value.split()).upper(), 6, 4)


def mask_card(value: str) -> str:
    """``6217271234561234`` -> ``6217 27** **** 1234``."""
    masked = _keep(_NOT_DIGIT.sub("", value), 6, 4)
    return " ".join(masked[i : i + 4] for i in range(0, len(masked), 4))


def mask_phone(value: str) -> str:
    """``13812345678`` -> ``138****5678``."""
    return _keep(_NOT_DIGIT.sub("", value), 3, 4)


def mask_name(value: str) -> str:
    """``张三`` -> ``张*``; ``欧阳娜娜`` -> ``欧***``; a one-character name is fully masked."""
    name = value.strip()
    if len(name) <= 1:
        return "*" * len(name)
    return name[0] + "*" * (len(name) - 1)
