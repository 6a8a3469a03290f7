"""Class II account numbers: a bank-chosen prefix, a zero-padded sequence, a Luhn check digit.

Card-style numbers (16-19 digits, Luhn) let customers' banking apps and the bound card's bank
validate a typed-in number before sending money; the Luhn digit catches every single-digit
typo. The prefix (bank code + branch/product, e.g. ``623188``) is a bank setting.
"""

from __future__ import annotations

from greenbank.customers.cards import (
    CARD_LENGTHS,
    luhn_check_digit,
    luhn_is_valid,
    normalise_digits,
)
from greenbank.errors import ConfigurationError, ValidationFailed

DEFAULT_ACCOUNT_LENGTH = 19


class AccountNumberConfigInvalid(ConfigurationError):
    code = "account_number_config_invalid"
    title = "The account number prefix or length is not usable"


class AccountSequenceOutOfRange(ValidationFailed):
    code = "account_sequence_out_of_range"
    title = "The sequence does not fit between the prefix and the check digit"


def _checked_prefix(prefix: str, length: int) -> tuple[str, int]:
    """The prefix's digits and the number of sequence digits left after it."""
    digits = normalise_digits(prefix)
    room = length - len(digits) - 1
    if not (digits.isascii() and digits.isdigit()) or length not in CARD_LENGTHS or room < 1:
        raise AccountNumberConfigInvalid(length=length)
    return digits, room


def sequence_capacity(prefix: str, *, length: int = DEFAULT_ACCOUNT_LENGTH) -> int:
    """How many sequence numbers (0 .. capacity-1) the prefix leaves room for."""
    capacity: int = 10 ** _checked_prefix(prefix, length)[1]
    return capacity


def make_account_number(prefix: str, sequence: int, *, length: int = DEFAULT_ACCOUNT_LENGTH) -> str:
    """``prefix + sequence (zero-padded) + Luhn digit``, exactly ``length`` digits."""
    digits, room = _checked_prefix(prefix, length)
    capacity: int = 10**room
    if not 0 <= sequence < capacity:
        raise AccountSequenceOutOfRange(capacity=capacity)
    payload = digits + str(sequence).zfill(room)
    return payload + luhn_check_digit(payload)


def is_valid_account_number(raw: str, *, prefix: str | None = None) -> bool:
    """16-19 digits, Luhn-valid, and (when given) starting with the bank's prefix."""
    number = normalise_digits(raw)
    if len(number) not in CARD_LENGTHS or not (number.isascii() and luhn_is_valid(number)):
        return False
    return prefix is None or number.startswith(normalise_digits(prefix))
