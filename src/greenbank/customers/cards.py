"""Bank card numbers, the Luhn check digit, and the BIN table that tells debit from credit.

A Class II account may only be bound to a debit card of the same person (a credit card can not
be the bound account). The BIN table that decides "debit" ships as sample data in
``data/card_bins.csv``; a bank loads its own with :meth:`BinTable.from_csv`.
Luhn is only a warning: not every Chinese card number (notably older ones) carries a Luhn check
digit, so a failed check is a flag on the parsed number, never a refusal.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path

from greenbank.errors import ValidationFailed

CARD_LENGTHS = range(16, 20)
_SEPARATORS = str.maketrans("", "", " -")


class CardNumberMalformed(ValidationFailed):
    code = "card_number_malformed"
    title = "A bank card number is 16 to 19 digits"


class CreditCardNotAllowed(ValidationFailed):
    code = "credit_card_not_allowed"
    title = "A credit card can not be bound to a Class II account"


class CardBinUnknown(ValidationFailed):
    code = "card_bin_unknown"
    title = "The card's issuer is not in the BIN table"


class CardType(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class UnknownBinPolicy(StrEnum):
    """What ``require_debit`` does with a card whose BIN is not in the table."""

    REFUSE = "refuse"
    REVIEW = "review"


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` pass the Luhn (mod 10) check."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:  # doubled: these sit at odd positions once the check digit is added
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return str(-total % 10)


def luhn_is_valid(number: str) -> bool:
    return len(number) > 1 and number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]


def normalise_digits(raw: str) -> str:
    """Full-width digits count as digits; spaces and hyphens used for grouping are dropped."""
    return unicodedata.normalize("NFKC", raw).translate(_SEPARATORS)


@dataclass(frozen=True, slots=True)
class CardNumber:
    value: str
    luhn_valid: bool


def parse_card_number(raw: str) -> CardNumber:
    """16-19 ASCII digits after normalising; a masked number (``6222 02** **** 1234``) fails."""
    value = normalise_digits(raw)
    if len(value) not in CARD_LENGTHS or not (value.isascii() and value.isdigit()):
        raise CardNumberMalformed
    return CardNumber(value=value, luhn_valid=luhn_is_valid(value))


@dataclass(frozen=True, slots=True)
class CardBin:
    bin: str
    bank_code: str
    bank_name: str
    card_type: CardType
    card_name: str
    province_code: str | None
    """GB/T 2260 province of a regional bank; None for banks that operate nationwide."""


class BinTable:
    """Longest-prefix lookup over BIN prefixes of 5-10 digits."""

    def __init__(self, entries: Iterable[CardBin]) -> None:
        self._by_prefix: dict[str, CardBin] = {}
        for entry in entries:
            if entry.bin in self._by_prefix:
                raise ValueError(f"duplicate BIN {entry.bin}")
            self._by_prefix[entry.bin] = entry
        self._lengths = sorted({len(prefix) for prefix in self._by_prefix}, reverse=True)

    def __len__(self) -> int:
        return len(self._by_prefix)

    def lookup(self, card_number: str) -> CardBin | None:
        for length in self._lengths:
            entry = self._by_prefix.get(card_number[:length])
            if entry is not None:
                return entry
        return None

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str]]) -> BinTable:
        return cls(
            CardBin(
                bin=row["bin"],
                bank_code=row["bank_code"],
                bank_name=row["bank_name"],
                card_type=CardType(row["card_type"]),
                card_name=row["card_name"],
                province_code=row["province_code"] or None,
            )
            for row in rows
        )

    @classmethod
    def from_csv_text(cls, text: str) -> BinTable:
        """CSV with a header row; lines starting with ``#`` are comments."""
        lines = [line for line in text.splitlines() if line and not line.startswith("#")]
        return cls.from_rows(csv.DictReader(io.StringIO("\n".join(lines))))

    @classmethod
    def from_csv(cls, path: Path) -> BinTable:
        return cls.from_csv_text(path.read_text(encoding="utf-8"))


@cache
def default_bin_table() -> BinTable:
    """The sample table shipped with greenbank (see the header of ``data/card_bins.csv``)."""
    data = resources.files("greenbank.customers").joinpath("data", "card_bins.csv")
    return BinTable.from_csv_text(data.read_text(encoding="utf-8"))


def lookup_bin(card: CardNumber | str, *, table: BinTable | None = None) -> CardBin | None:
    number = card.value if isinstance(card, CardNumber) else parse_card_number(card).value
    return (table or default_bin_table()).lookup(number)


@dataclass(frozen=True, slots=True)
class DebitCheck:
    """The outcome of :func:`require_debit`: what is known, and whether a person must look."""

    card: CardNumber
    card_bin: CardBin | None
    needs_review: bool


def require_debit(
    card: CardNumber | str,
    *,
    unknown: UnknownBinPolicy = UnknownBinPolicy.REFUSE,
    table: BinTable | None = None,
) -> DebitCheck:
    """Refuse credit cards; refuse or flag for review a card whose BIN is unknown.

    An unknown BIN is refused by default: the five-element check with the card's bank proves
    ownership, not that the card is a debit card.
    """
    parsed = card if isinstance(card, CardNumber) else parse_card_number(card)
    card_bin = lookup_bin(parsed, table=table)
    if card_bin is None:
        if unknown is UnknownBinPolicy.REFUSE:
            raise CardBinUnknown
        return DebitCheck(card=parsed, card_bin=None, needs_review=True)
    if card_bin.card_type is CardType.CREDIT:
        raise CreditCardNotAllowed(bank_code=card_bin.bank_code)
    return DebitCheck(card=parsed, card_bin=card_bin, needs_review=False)
