"""Resident ID numbers (GB 11643-1999), ID document validity, and age limits.

Pure rules: every check that depends on "today" takes the business date as a parameter, so the
caller passes ``business_date(clock.now())`` and tests pass fixed dates. Error details never
echo the number itself: they end up in problem+json bodies and logs, which must not carry PII.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from greenbank.errors import ValidationFailed

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
EARLIEST_BIRTH_DATE = date(1900, 1, 1)
DEFAULT_MIN_AGE = 16
"""China's common minimum for opening a personal account on one's own (younger customers open
with a guardian, which an online channel cannot verify); a product setting, not a statute."""

_ID_SHAPE = re.compile(r"\d{17}[\dX]", re.ASCII)


class IdNumberMalformed(ValidationFailed):
    code = "id_number_malformed"
    title = "An ID number is 17 digits followed by a digit or X"


class IdNumberChecksum(ValidationFailed):
    code = "id_number_checksum"
    title = "The ID number's check character does not match"


class IdNumberBirthDate(ValidationFailed):
    code = "id_number_birth_date"
    title = "The ID number does not contain a valid birth date"


class IdValidityMalformed(ValidationFailed):
    code = "id_validity_malformed"
    title = "The ID validity period is not in the form 2015.03.01-2035.03.01 or ...-长期"


class IdExpired(ValidationFailed):
    code = "id_expired"
    title = "The ID document has expired"


class AgeNotAllowed(ValidationFailed):
    code = "age_not_allowed"
    title = "The customer's age is outside the range this product accepts"


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


@dataclass(frozen=True, slots=True)
class IdNumber:
    """A checked resident ID number; ``value`` is normalised (upper-case X, no spaces)."""

    value: str
    region_code: str
    birth_date: date
    sex: Sex

    @property
    def province_code(self) -> str:
        return self.region_code[:2]

    def age_on(self, on: date) -> int:
        return age_on(self.birth_date, on)


def normalise_id_number(raw: str) -> str:
    """Full-width digits and spaces, as pasted from documents or OCR, count as the plain ones."""
    text = unicodedata.normalize("NFKC", raw)
    return "".join(text.split()).upper()


def id_check_char(first17: str) -> str:
    """The 18th character for 17 digits: weighted sum mod 11 indexes "10X98765432"."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def parse_id_number(raw: str, *, on: date) -> IdNumber:
    """Check shape, check character, then birth date (not before 1900, not after ``on``).

    The checksum comes before the date so that a single mistyped digit is always reported as a
    typo (every single-digit change breaks it; 11 is prime and no weight is a multiple of 11).
    15-digit first-generation numbers are not accepted: those cards expired in 2013.
    """
    value = normalise_id_number(raw)
    if not _ID_SHAPE.fullmatch(value):
        raise IdNumberMalformed
    if id_check_char(value[:17]) != value[17]:
        raise IdNumberChecksum
    birth = _birth_date(value[6:14])
    if birth is None or not EARLIEST_BIRTH_DATE <= birth <= on:
        raise IdNumberBirthDate
    sex = Sex.MALE if int(value[16]) % 2 else Sex.FEMALE
    return IdNumber(value=value, region_code=value[:6], birth_date=birth, sex=sex)


def _birth_date(yyyymmdd: str) -> date | None:
    try:
        return date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return None


def age_on(birth_date: date, on: date) -> int:
    """Completed years on ``on``; someone born on 29 February turns a year older on 1 March."""
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - int(before_birthday)


def check_age(
    birth_date: date, on: date, *, min_age: int = DEFAULT_MIN_AGE, max_age: int | None = None
) -> int:
    """Return the age if ``min_age <= age <= max_age``, else raise ``age_not_allowed``.

    No statute sets a maximum; some banks cap online opening for the elderly, so ``max_age`` is
    a product setting that defaults to none.
    """
    age = age_on(birth_date, on)
    if age < min_age or (max_age is not None and age > max_age):
        raise AgeNotAllowed(age=age, min_age=min_age, max_age=max_age)
    return age


@dataclass(frozen=True, slots=True)
class IdValidity:
    """The validity period printed on the card; ``end`` is None for 长期 (long-term)."""

    start: date
    end: date | None

    def is_expired(self, on: date) -> bool:
        """The card is valid through its end date, so it expires the day after."""
        return self.end is not None and on > self.end


_DATE = r"(\d{4})[.\-/年]?(\d{2})[.\-/月]?(\d{2})日?"
_VALIDITY = re.compile(rf"{_DATE}[-~至到]({_DATE}|长期)", re.ASCII)


def parse_id_validity(raw: str) -> IdValidity:
    """Parse "2015.03.01-2035.03.01" or "2015.03.01-长期", and the usual OCR variants.

    Dates are zero-padded as printed on the card; between their parts ".", "-", "/", 年月日 or
    nothing; between the two dates "-", "~", "至", "到" or a dash (—, –); spaces anywhere.
    """
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(text.split()).replace("—", "-").replace("–", "-").replace("－", "-")
    match = _VALIDITY.fullmatch(text)
    if match is None:
        raise IdValidityMalformed
    start = _date_parts(match.group(1, 2, 3))
    if start is None:
        raise IdValidityMalformed
    if match.group(4) == "长期":
        return IdValidity(start=start, end=None)
    end = _date_parts(match.group(5, 6, 7))
    if end is None or end <= start:
        raise IdValidityMalformed
    return IdValidity(start=start, end=end)


def _date_parts(parts: tuple[str | None, ...]) -> date | None:
    year, month, day = parts
    if year is None or month is None or day is None:
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def check_id_not_expired(validity: IdValidity, on: date) -> None:
    """Raise ``id_expired`` when the card is past its end date on ``on``."""
    if validity.is_expired(on):
        raise IdExpired(expired_on=str(validity.end))
