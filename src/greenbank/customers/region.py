"""Which customers a regional bank may take internet deposits from (银保监办发〔2021〕9号).

A regional bank (地方法人银行) serves the region where it has branches. The notice prescribes
no method, so :class:`RegionPolicy` weighs five signals and records each for the audit trail:

============================  ==========================================================
signal                        source
============================  ==========================================================
``id_number``                 first two digits of the ID number (GB/T 2260 province)
``id_address``                province at the start of the OCR'd ID address
``mobile``                    home province of the mobile (``phonenumbers``, offline)
``card_bank``                 the bound card's issuer, when the BIN table marks it regional
``declared_residence``        the province the customer declares (free text)
============================  ==========================================================

Decision table (``review_min_signals`` defaults to 2):

=====================  ============================================  =========================
ID number province     other signals pointing into the region         outcome
=====================  ============================================  =========================
in region              any                                           ``allow``
outside                at least ``review_min_signals``               ``review`` (with reasons)
outside                fewer                                         ``refuse`` (region_not_served)
=====================  ============================================  =========================

The ID number is the only signal the authorities verify (联网核查), so it alone allows. People
keep their number when they move, so a newcomer whose address, mobile or declared residence are
in the region goes to a person for review rather than being refused outright. A signal that
cannot be read (national bank, geocoder says only "中国", unknown prefix) counts as unknown,
never as a failure.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Set
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib import resources

import phonenumbers
from phonenumbers import geocoder

from greenbank.customers.cards import CardBin
from greenbank.customers.domain import parse_mobile
from greenbank.customers.identity import IdNumber
from greenbank.errors import ConfigurationError, Forbidden


class RegionNotServed(Forbidden):
    code = "region_not_served"
    title = "This bank takes deposits only from customers of its own region"


class InvalidRegionPolicy(ConfigurationError):
    code = "invalid_region_policy"
    title = "The region policy names unknown provinces or an impossible threshold"


@dataclass(frozen=True, slots=True)
class Province:
    code: str
    name: str
    short_name: str


@cache
def provinces() -> dict[str, Province]:
    """The 34 province-level divisions by two-digit code, from ``data/provinces.csv``."""
    text = resources.files("greenbank.customers").joinpath("data", "provinces.csv")
    lines = [line for line in text.read_text("utf-8").splitlines() if not line.startswith("#")]
    rows = csv.DictReader(io.StringIO("\n".join(lines)))
    return {row["code"]: Province(row["code"], row["name"], row["short_name"]) for row in rows}


def province_of_address(text: str | None) -> Province | None:
    """The province an address starts with ("广东省广州市…", "广东广州…"), else None.

    Only the start counts: "上海市南京西路" contains 海南 further in.
    """
    if not text:
        return None
    compact = "".join(unicodedata.normalize("NFKC", text).split())
    for province in provinces().values():
        if compact.startswith(province.short_name):
            return province
    return None


@dataclass(frozen=True, slots=True)
class MobileHome:
    description: str
    """What the geocoder says, e.g. "广东省深圳市"; "中国" or "" when it knows no more."""
    province: Province | None


def mobile_home(mobile: str) -> MobileHome:
    """Home area of a mainland mobile from phonenumbers' offline prefix data."""
    number = phonenumbers.parse("+86" + parse_mobile(mobile))
    description = geocoder.description_for_number(number, "zh")
    return MobileHome(description=description, province=province_of_address(description))


class Signal(StrEnum):
    ID_NUMBER = "id_number"
    ID_ADDRESS = "id_address"
    MOBILE = "mobile"
    CARD_BANK = "card_bank"
    DECLARED_RESIDENCE = "declared_residence"


class Outcome(StrEnum):
    ALLOW = "allow"
    REVIEW = "review"
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class RegionSignal:
    """One signal as evaluated; ``in_region`` None means unknown. ``note`` holds no PII."""

    signal: Signal
    province_code: str | None
    in_region: bool | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class RegionDecision:
    outcome: Outcome
    reasons: tuple[str, ...]
    signals: tuple[RegionSignal, ...]

    def raise_if_refused(self) -> None:
        if self.outcome is Outcome.REFUSE:
            raise RegionNotServed(reasons=list(self.reasons))


@dataclass(frozen=True, slots=True)
class RegionPolicy:
    allowed_province_codes: Set[str]
    review_min_signals: int = 2
    _allowed: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        allowed = frozenset(self.allowed_province_codes)
        unknown = allowed - provinces().keys()
        if not allowed or unknown or not 1 <= self.review_min_signals <= 4:
            raise InvalidRegionPolicy(unknown=sorted(unknown))
        object.__setattr__(self, "_allowed", allowed)

    def evaluate(
        self,
        *,
        id_number: IdNumber,
        id_address: str | None = None,
        mobile: str | None = None,
        card_bin: CardBin | None = None,
        declared_residence: str | None = None,
    ) -> RegionDecision:
        home = mobile_home(mobile) if mobile else None
        signals = (
            self._signal(Signal.ID_NUMBER, id_number.province_code),
            self._signal(Signal.ID_ADDRESS, _code(province_of_address(id_address))),
            self._signal(
                Signal.MOBILE,
                _code(home.province) if home else None,
                home.description if home else "",
            ),
            self._signal(
                Signal.CARD_BANK,
                card_bin.province_code if card_bin else None,
                card_bin.bank_code if card_bin else "",
            ),
            self._signal(Signal.DECLARED_RESIDENCE, _code(province_of_address(declared_residence))),
        )
        if signals[0].in_region:
            return RegionDecision(Outcome.ALLOW, ("id_number_in_region",), signals)
        supporting = tuple(f"{s.signal}_in_region" for s in signals[1:] if s.in_region)
        if len(supporting) >= self.review_min_signals:
            return RegionDecision(
                Outcome.REVIEW, ("id_number_outside_region", *supporting), signals
            )
        return RegionDecision(Outcome.REFUSE, ("region_not_served",), signals)

    def _signal(self, signal: Signal, province_code: str | None, note: str = "") -> RegionSignal:
        in_region = None if province_code is None else province_code in self._allowed
        return RegionSignal(signal, province_code, in_region, note)


def _code(province: Province | None) -> str | None:
    return province.code if province else None
