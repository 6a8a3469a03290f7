"""Pure KYC rules for opening a Class II account: names, mobiles, the five-element request.

ID numbers live in ``identity``, cards and the BIN table in ``cards``, the regional-bank rule
in ``region``, account numbers in ``account_numbers``. Five-element authentication asks the
bound card's bank whether name, ID type, ID number, card number and the mobile registered on
the card belong together (docs/domain-rules.md, "Class II accounts"); this module checks each
element's form before that request is sent.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from greenbank.customers.cards import CardNumber, normalise_digits, parse_card_number
from greenbank.customers.identity import IdNumber, parse_id_number
from greenbank.errors import ValidationFailed

CJK_NAME_LENGTH = range(2, 21)
LATIN_NAME_LENGTH = range(2, 61)
MIDDLE_DOT = "·"
# Dots people and OCR use between the parts of a minority or transliterated name (·•‧・･.∙⋅).
_DOTS = str.maketrans(dict.fromkeys("\u2022\u2027\u30fb\uff65.\u2219\u22c5", MIDDLE_DOT))
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f"
_CJK_NAME = re.compile(f"[{_CJK}]+(?:{MIDDLE_DOT}[{_CJK}]+)*")
_LATIN_NAME = re.compile("[A-Za-z]+(?: [A-Za-z]+)*")
_MOBILE = re.compile(r"(?:\+?86|0086)?(1[3-9]\d{9})", re.ASCII)


class NameMalformed(ValidationFailed):
    code = "name_malformed"
    title = "A name is 2-20 Chinese characters (with · between parts) or Latin letters"


class MobileMalformed(ValidationFailed):
    code = "mobile_malformed"
    title = "A mainland mobile number is 11 digits starting with 13-19"


class IdTypeNotSupported(ValidationFailed):
    code = "id_type_not_supported"
    title = "Only the mainland resident ID card can open a Class II account online"


def _name_text(raw: str) -> str:
    """NFKC folds full-width letters and spaces; all dot variants become the middle dot."""
    text = unicodedata.normalize("NFKC", raw).translate(_DOTS)
    return " ".join(text.split())


def validate_name(raw: str) -> str:
    """Return the name in display form or raise ``name_malformed``.

    Chinese names: 2-20 CJK characters (the extension blocks too: rare characters occur in
    names), parts joined by a middle dot; spaces between characters are dropped. Latin names:
    2-60 letters and single spaces (a longer limit, since romanised names run long).
    """
    text = _name_text(raw)
    compact = text.replace(" ", "")
    if _CJK_NAME.fullmatch(compact) and len(compact) in CJK_NAME_LENGTH:
        return compact
    if _LATIN_NAME.fullmatch(text) and len(text) in LATIN_NAME_LENGTH:
        return text
    raise NameMalformed


def name_key(raw: str) -> str:
    """Comparison key: width-folded, dots unified, spaces removed, case-folded."""
    return _name_text(raw).replace(" ", "").casefold()


def names_match(a: str, b: str) -> bool:
    """True for two spellings of one name: "张 三" and "张三", "ＬＩ Ｌｅｉ" and "li lei"."""
    return name_key(a) == name_key(b)


def parse_mobile(raw: str) -> str:
    """The 11-digit mainland mobile; a +86 / 0086 prefix, spaces and hyphens are accepted."""
    match = _MOBILE.fullmatch(normalise_digits(raw))
    if match is None:
        raise MobileMalformed
    return match.group(1)


class IdType(StrEnum):
    """ID types the online channel accepts; others need a branch visit."""

    RESIDENT_ID_CARD = "resident_id_card"


def parse_id_type(raw: str) -> IdType:
    try:
        return IdType(raw)
    except ValueError:
        raise IdTypeNotSupported from None


@dataclass(frozen=True, slots=True)
class FiveElementRequest:
    """The elements sent to the card's bank (with an SMS code) to prove the card is the person's."""

    name: str
    id_type: IdType
    id_number: IdNumber
    card: CardNumber
    bank_mobile: str

    @classmethod
    def build(
        cls,
        *,
        name: str,
        id_type: str,
        id_number: str,
        card_number: str,
        bank_mobile: str,
        on: date,
    ) -> FiveElementRequest:
        """Check every element's form, in field order; the first bad one raises its own code."""
        return cls(
            name=validate_name(name),
            id_type=parse_id_type(id_type),
            id_number=parse_id_number(id_number, on=on),
            card=parse_card_number(card_number),
            bank_mobile=parse_mobile(bank_mobile),
        )
