"""Money as integer fen (1 CNY = 100 fen), never float.

Parsing accepts yuan strings with at most two decimals; formatting groups thousands; rounding of
Decimal amounts (interest) is half-up, done once at the end of a calculation.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from greenbank.errors import ValidationFailed

FEN_PER_YUAN = 100
_YUAN_RE = re.compile(r"^-?\d{1,15}(\.\d{1,2})?$")
_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ["", "拾", "佰", "仟"]
_BIG_UNITS = ["", "万", "亿", "万亿"]


class InvalidAmount(ValidationFailed):
    code = "invalid_amount"
    title = "Amount is not a valid CNY amount"


def parse_yuan(text: str) -> int:
    """'10175.5' -> 1017550 fen. Refuses more than two decimals, exponents and blanks."""
    text = text.strip().replace(",", "")
    if not _YUAN_RE.fullmatch(text):
        raise InvalidAmount(f"{text!r} is not an amount in yuan with at most two decimals")
    try:
        return int(Decimal(text) * FEN_PER_YUAN)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise InvalidAmount(str(exc)) from exc


def format_yuan(fen: int, *, grouping: bool = True) -> str:
    """1017550 -> '10,175.50'."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), FEN_PER_YUAN)
    whole = f"{yuan:,}" if grouping else str(yuan)
    return f"{sign}{whole}.{cents:02d}"


def round_fen(amount_fen: Decimal) -> int:
    """Round a Decimal number of fen half-up to a whole fen (the one rounding of a calculation)."""
    return int(amount_fen.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _four_digits(n: int) -> str:
    out = ""
    zero = False
    for pos in range(3, -1, -1):
        d = (n // 10**pos) % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS[d] + _SMALL_UNITS[pos]
    return out


def to_chinese_capitals(fen: int) -> str:
    """Amount in Chinese financial capitals as printed on receipts.

    1017500 fen -> 壹万零壹佰柒拾伍元整; an amount ending in 角 also takes 整 (壹角整).
    """
    if fen < 0:
        return "负" + to_chinese_capitals(-fen)
    yuan, cents = divmod(fen, FEN_PER_YUAN)
    jiao, fen_digit = divmod(cents, 10)
    if yuan == 0 and cents == 0:
        return "零元整"
    text = ""
    if yuan:
        groups: list[int] = []
        while yuan:
            groups.append(yuan % 10000)
            yuan //= 10000
        need_zero = False
        for idx in range(len(groups) - 1, -1, -1):
            group = groups[idx]
            if group == 0:
                need_zero = bool(text)
                continue
            if text and (need_zero or group < 1000):
                text += "零"
            text += _four_digits(group) + _BIG_UNITS[idx]
            need_zero = False
        text += "元"
    if cents == 0:
        return text + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif text:
        text += "零"
    if fen_digit:
        text += _DIGITS[fen_digit] + "分"
    else:
        text += "整"
    return text
