"""The outside systems an online account opening depends on, as Protocols.

A bank buys these from vendors: ID-card OCR, the public-security ID check (联网核查, name + ID
number), face liveness + portrait match against the ID photo, and the card-element check with
the card's bank (CFCA-style five elements). Each vendor answers with a result code; a provider
never raises for a vendor outcome, so the service decides what each code means. Timeouts, quota
errors and vendor faults are codes too (``TIMEOUT``, ``QUOTA_EXCEEDED``, ``SERVICE_ERROR``):
the service turns them into ``provider_unavailable`` and leaves the application unchanged.

Adapters: ``sandbox.py`` (deterministic test identities, see the README) and ``ocr.py`` (offline
OCR with rapidocr). Callers must not hold a database transaction open while calling a provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class VendorCode(StrEnum):
    """Result codes shared by every vendor; each check uses the subset that applies to it."""

    OK = "OK"  # OCR read the card; face passed; card elements match; ID check matches
    MISMATCH = "MISMATCH"  # 联网核查: name and ID number do not belong together
    INVALID_ID = "INVALID_ID"  # 联网核查: the number is not a valid, issued number
    INVALID_NAME = "INVALID_NAME"  # 联网核查: the name is not acceptable to the registry
    NO_RECORD = "NO_RECORD"  # 联网核查: no such person on record
    UNREADABLE = "UNREADABLE"  # OCR: no ID card found in the image
    LIVENESS_FAILED = "LIVENESS_FAILED"  # face: a photo, a screen or a mask
    NO_FACE = "NO_FACE"  # face: no usable face in the selfie
    LOW_SIMILARITY = "LOW_SIMILARITY"  # face: below the vendor's own floor
    CARD_NOT_OWNED = "CARD_NOT_OWNED"  # card: name / ID number not the card holder's
    MOBILE_MISMATCH = "MOBILE_MISMATCH"  # card: not the mobile registered on the card
    CARD_INVALID = "CARD_INVALID"  # card: cancelled, lost or frozen at its bank
    SERVICE_ERROR = "SERVICE_ERROR"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    TIMEOUT = "TIMEOUT"


UNAVAILABLE = frozenset({VendorCode.SERVICE_ERROR, VendorCode.QUOTA_EXCEEDED, VendorCode.TIMEOUT})


@dataclass(frozen=True)
class IdCardText:
    """What OCR read from both sides of a resident ID card, as printed (unchecked strings)."""

    name: str = ""
    sex: str = ""  # 男 / 女
    ethnicity: str = ""  # 民族, e.g. 汉
    birth: str = ""  # 1990年3月7日
    address: str = ""
    id_number: str = ""
    authority: str = ""  # 签发机关
    validity: str = ""  # 2015.03.01-2035.03.01 or ...-长期


@dataclass(frozen=True)
class OcrResult:
    code: VendorCode
    fields: IdCardText = field(default_factory=IdCardText)
    confidence: float = 0.0  # the lowest line confidence, 0-1
    detail: str = ""


@dataclass(frozen=True)
class IdCheckResult:
    code: VendorCode
    detail: str = ""


@dataclass(frozen=True)
class LivenessChallenge:
    token: str
    actions: tuple[str, ...]
    expires_at: datetime


@dataclass(frozen=True)
class FaceResult:
    code: VendorCode
    similarity: int | None = None  # 0-100, portrait against the ID photo on record
    template_id: str | None = None  # the vendor's template handle: kept instead of the image
    detail: str = ""


@dataclass(frozen=True)
class CardCheckResult:
    code: VendorCode
    detail: str = ""


class OcrProvider(Protocol):
    name: str

    def read_id_card(self, *, front: bytes, back: bytes) -> OcrResult: ...


class IdCheckProvider(Protocol):
    """联网核查: does this name belong to this ID number in the public-security registry?"""

    name: str

    def check(self, *, name: str, id_number: str) -> IdCheckResult: ...


class FaceProvider(Protocol):
    """Active liveness (the customer performs ``actions``) and a portrait match against the
    ID photo the registry holds for ``id_number``."""

    name: str

    def challenge(self, *, now: datetime) -> LivenessChallenge: ...

    def verify(
        self,
        *,
        token: str,
        actions: tuple[str, ...],
        selfie: bytes,
        name: str,
        id_number: str,
    ) -> FaceResult: ...


class CardCheckProvider(Protocol):
    """Five-element check with the card's bank: name, ID type and number, card, mobile."""

    name: str

    def check(
        self, *, name: str, id_type: str, id_number: str, card_number: str, mobile: str
    ) -> CardCheckResult: ...


@dataclass(frozen=True)
class Providers:
    """The adapters one process uses (built by ``onboarding.build_service``)."""

    ocr: OcrProvider
    id_check: IdCheckProvider
    face: FaceProvider
    card: CardCheckProvider
