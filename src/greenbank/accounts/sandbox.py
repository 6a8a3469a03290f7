"""Sandbox vendors: deterministic test identities that pass or fail in documented ways.

They behave like the real services (result codes, latency, timeouts, a daily quota) and keep a
call log in their own table (their own transactions: they stand for systems outside the bank),
so "times out on the first call, answers the retry" survives a restart. Refused in production.

The sandbox OCR reads JSON payloads instead of photos: ``{"sandbox_person": "wang_xiaoming",
"side": "front"}`` (a person of the table below) or the printed fields themselves
(``{"side": "front", "name": "...", "id_number": "...", ...}``). Anything else is ``UNREADABLE``.
The table is repeated in README.md ("Sandbox identities").
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from datetime import time as dt_time

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from greenbank.accounts.models import SandboxVendorCall
from greenbank.accounts.providers import (
    CardCheckResult,
    FaceResult,
    IdCardText,
    IdCheckResult,
    LivenessChallenge,
    OcrResult,
    VendorCode,
)
from greenbank.clock import SHANGHAI, Clock, business_date
from greenbank.crypto import sm3
from greenbank.db import UowFactory


@dataclass(frozen=True)
class SandboxPerson:
    key: str
    card: IdCardText
    card_number: str  # the person's debit card at its bank
    bank_mobile: str | None  # the mobile the card's bank has on record (None: an old landline)
    id_check: VendorCode = VendorCode.OK
    similarity: int = 96
    flaky: str | None = None  # this vendor times out on odd-numbered calls (1st, 3rd, ...)
    outcome: str = ""


_FRONT = ("name", "sex", "ethnicity", "birth", "address", "id_number")
_LONG = "2015.03.01-2035.03.01"


def _person(key: str, name: str, id_number: str, address: str, **kw: object) -> SandboxPerson:
    sex = "男" if int(id_number[16]) % 2 else "女"
    birth = f"{id_number[6:10]}年{int(id_number[10:12])}月{int(id_number[12:14])}日"
    validity = str(kw.pop("validity", _LONG))
    card = IdCardText(name, sex, "汉", birth, address, id_number, "公安局", validity)
    return SandboxPerson(key=key, card=card, **kw)  # type: ignore[arg-type]


SANDBOX_PEOPLE: tuple[SandboxPerson, ...] = (
    _person(
        "wang_xiaoming",
        "王小明",
        "440106199003071231",
        "广东省广州市天河区体育西路1号",
        card_number="6217270000000000015",
        bank_mobile="13926261234",
        outcome="passes everything: the account opens",
    ),
    _person(
        "zhang_san",
        "张三",
        "11010519491231002X",
        "广东省广州市越秀区中山五路8号",
        validity="2010.05.01-长期",
        card_number="6222020000000000018",
        bank_mobile="13902212345",
        outcome="passes every vendor check; Beijing ID number, Guangdong address and mobile: "
        "review in a Guangdong bank (opens where the bank serves 11)",
    ),
    _person(
        "li_si",
        "李四",
        "440304198506123455",
        "广东省深圳市福田区深南大道100号",
        card_number="6217270000000000023",
        bank_mobile="13711112222",
        id_check=VendorCode.NO_RECORD,
        outcome="联网核查 NO_RECORD: refused",
    ),
    _person(
        "wang_wu",
        "王五",
        "440105200002290044",
        "广东省广州市海珠区江南大道2号",
        card_number="6217270000000000031",
        bank_mobile="18620001234",
        similarity=72,
        outcome="face similarity 72 < 90: face_mismatch, refused after the last attempt",
    ),
    _person(
        "zhao_liu",
        "赵六",
        "440111197909091118",
        "广东省广州市白云区机场路3号",
        card_number="6222300000000003",
        bank_mobile="13631234567",
        outcome="their card is a credit card: credit_card_not_allowed",
    ),
    _person(
        "qian_qi",
        "钱七",
        "440582199501013331",
        "广东省汕头市潮阳区棉城镇4号",
        card_number="6217270000000000049",
        bank_mobile=None,
        outcome="the card's bank has another mobile on record: bank_mobile_mismatch",
    ),
    _person(
        "sun_ba",
        "孙八",
        "440106197001015675",
        "广东省广州市天河区天河路5号",
        validity="2006.01.01-2026.01.01",
        card_number="6217270000000000064",
        bank_mobile="13926260008",
        outcome="ID card expired on 2026-01-01: id_expired",
    ),
    _person(
        "zhou_jiu",
        "周九",
        "510107199208156786",
        "四川省成都市武侯区人民南路6号",
        card_number="6217270000000000072",
        bank_mobile="13512345670",
        outcome="Sichuan ID, address and (Chongqing) mobile: region_not_served",
    ),
    _person(
        "wu_shi",
        "吴十",
        "440102198705051235",
        "广东省广州市越秀区北京路7号",
        card_number="6217270000000000098",
        bank_mobile="13926260010",
        flaky="id_check",
        outcome="联网核查 times out on the first call (provider_unavailable); the retry passes",
    ),
)
_BY_ID = {p.card.id_number: p for p in SANDBOX_PEOPLE}
_BY_KEY = {p.key: p for p in SANDBOX_PEOPLE}
LIVENESS_ACTIONS = ("blink", "open_mouth", "nod", "turn_head_left", "turn_head_right")


def sandbox_person(key: str) -> SandboxPerson:
    return _BY_KEY[key]


def sandbox_payload(key: str, side: str) -> bytes:
    """The bytes a tester uploads as the ``side`` image of a sandbox person's ID card."""
    return json.dumps({"sandbox_person": key, "side": side}).encode()


@dataclass
class SandboxVendor:
    """One sandbox vendor: latency, a timeout, a daily quota (0: none), a call log."""

    vendor: str
    uow: UowFactory
    clock: Clock
    latency: timedelta = timedelta(0)
    timeout: timedelta = timedelta(seconds=3)
    daily_quota: int = 0
    sleep: Callable[[float], None] = time.sleep

    @property
    def name(self) -> str:
        return f"sandbox_{self.vendor}"

    def call(self, subject: str, answer: Callable[[], VendorCode]) -> VendorCode:
        """Log a call about ``subject`` (hashed) and return its code, like the vendor would."""
        key = sm3(subject.encode()).hex()
        with self.uow() as work:
            now = self.clock.now()
            previous = self._count(work.session, SandboxVendorCall.subject == key)
            today = self._count(work.session, SandboxVendorCall.at >= _day_start(now))
            person = _BY_ID.get(subject)
            if self.daily_quota and today >= self.daily_quota:
                code = VendorCode.QUOTA_EXCEEDED
            elif person is not None and person.flaky == self.vendor and previous % 2 == 0:
                code = VendorCode.TIMEOUT
            else:
                code = answer()
            work.session.add(
                SandboxVendorCall(vendor=self.vendor, subject=key, result_code=code, at=now)
            )
            work.commit()
        wait = self.timeout if code is VendorCode.TIMEOUT else self.latency
        if wait:
            self.sleep(wait.total_seconds())
        return code

    def _count(self, session: Session, condition: ColumnElement[bool]) -> int:
        query = select(func.count()).where(SandboxVendorCall.vendor == self.vendor, condition)
        return int(session.scalar(query) or 0)


def _day_start(now: datetime) -> datetime:
    """Midnight in Shanghai: the vendor's quota resets with the business day."""
    return datetime.combine(business_date(now), dt_time(0), tzinfo=SHANGHAI)


class SandboxOcr:
    def __init__(self, vendor: SandboxVendor) -> None:
        self._vendor = vendor
        self.name = vendor.name

    def read_id_card(self, *, front: bytes, back: bytes) -> OcrResult:
        sides = _read_side(front, "front"), _read_side(back, "back")
        if sides[0] is None or sides[1] is None:
            return OcrResult(VendorCode.UNREADABLE, detail="the sandbox reads JSON payloads only")
        merged = {**sides[1], **sides[0]}
        text = IdCardText(**{f.name: str(merged.get(f.name, "")) for f in fields(IdCardText)})
        code = self._vendor.call(text.id_number or "unknown", lambda: VendorCode.OK)
        if code is not VendorCode.OK:
            return OcrResult(code)
        return OcrResult(VendorCode.OK, fields=text, confidence=0.99)


def _read_side(raw: bytes, side: str) -> dict[str, object] | None:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("side") != side:
        return None
    person = _BY_KEY.get(str(data.get("sandbox_person", "")))
    if person is None:
        return data
    wanted = _FRONT if side == "front" else ("authority", "validity")
    return {name: getattr(person.card, name) for name in wanted}


class SandboxIdCheck:
    def __init__(self, vendor: SandboxVendor) -> None:
        self._vendor = vendor
        self.name = vendor.name

    def check(self, *, name: str, id_number: str) -> IdCheckResult:
        def answer() -> VendorCode:
            person = _BY_ID.get(id_number)
            if person is None:
                return VendorCode.OK
            if person.id_check is not VendorCode.OK:
                return person.id_check
            return VendorCode.OK if person.card.name == name else VendorCode.MISMATCH

        return IdCheckResult(self._vendor.call(id_number, answer))


class SandboxFace:
    def __init__(self, vendor: SandboxVendor, *, challenge_ttl: timedelta) -> None:
        self._vendor = vendor
        self._ttl = challenge_ttl
        self.name = vendor.name

    def challenge(self, *, now: datetime) -> LivenessChallenge:
        picked = tuple(secrets.SystemRandom().sample(LIVENESS_ACTIONS, 2))
        return LivenessChallenge(secrets.token_urlsafe(24), picked, now + self._ttl)

    def verify(
        self, *, token: str, actions: tuple[str, ...], selfie: bytes, name: str, id_number: str
    ) -> FaceResult:
        person = _BY_ID.get(id_number)

        def answer() -> VendorCode:
            if len(selfie) < 16:
                return VendorCode.NO_FACE
            if b'"liveness": "fail"' in selfie:
                return VendorCode.LIVENESS_FAILED
            return VendorCode.OK

        code = self._vendor.call(id_number, answer)
        if code is not VendorCode.OK:
            return FaceResult(code)
        similarity = person.similarity if person else 96
        template = "sbx-face-" + sm3(selfie).hex()[:32]
        return FaceResult(VendorCode.OK, similarity=similarity, template_id=template)


class SandboxCardCheck:
    def __init__(self, vendor: SandboxVendor) -> None:
        self._vendor = vendor
        self.name = vendor.name

    def check(
        self, *, name: str, id_type: str, id_number: str, card_number: str, mobile: str
    ) -> CardCheckResult:
        def answer() -> VendorCode:
            holder = next((p for p in SANDBOX_PEOPLE if p.card_number == card_number), None)
            person = _BY_ID.get(id_number)
            if holder is not None and (holder is not person or holder.card.name != name):
                return VendorCode.CARD_NOT_OWNED
            if person is not None and person.card_number != card_number:
                return VendorCode.CARD_NOT_OWNED
            if person is not None and person.bank_mobile != mobile:
                return VendorCode.MOBILE_MISMATCH
            return VendorCode.OK

        return CardCheckResult(self._vendor.call(id_number, answer))
