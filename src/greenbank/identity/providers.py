"""The SMS gateway a bank buys, as a Protocol, and a sandbox that behaves like a vendor.

Vendors (Aliyun SMS, Tencent Cloud SMS, ...) take a pre-approved template plus parameters and
answer with a result code and a message id, after network latency, and sometimes not at all.
:class:`SandboxSmsProvider` does the same and keeps what it "delivered" in an inspectable outbox
table (dev/test only). Documented sandbox test numbers, by their last four digits:

======  =============================  ==========================================
ending  result code                    meaning
======  =============================  ==========================================
0000    ``SMS_SEND_FAILED``            vendor-side failure after the usual latency
9999    ``TIMEOUT``                    no answer: the call gives up after the timeout
1111    ``MOBILE_NUMBER_ILLEGAL``      the vendor refuses the number
8888    ``BUSINESS_LIMIT_CONTROL``     the vendor's own per-number flow control
other   ``OK``                         delivered to the outbox
======  =============================  ==========================================
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Protocol

from sqlalchemy import select

from greenbank.clock import Clock
from greenbank.crypto.masking import mask_phone
from greenbank.db import UowFactory
from greenbank.identity.models import SandboxSms
from greenbank.ids import new_id


class SmsResultCode(StrEnum):
    OK = "OK"
    SEND_FAILED = "SMS_SEND_FAILED"
    TIMEOUT = "TIMEOUT"
    MOBILE_NUMBER_ILLEGAL = "MOBILE_NUMBER_ILLEGAL"
    BUSINESS_LIMIT_CONTROL = "BUSINESS_LIMIT_CONTROL"


@dataclass(frozen=True)
class SmsResult:
    code: SmsResultCode
    message_id: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.code is SmsResultCode.OK


# The bank's approved templates, as registered with the vendor.
TEMPLATES: dict[str, str] = {
    "otp_sign_in": "【{bank}】您的登录验证码为{code}，{minutes}分钟内有效。请勿泄露给他人。",
    "otp_bind_card": "【{bank}】您正在绑定银行卡，验证码为{code}，{minutes}分钟内有效。请勿泄露。",
}


class SmsProvider(Protocol):
    """Sends one templated SMS. Never raises for vendor outcomes: every outcome is a result."""

    def send(self, *, phone: str, template: str, params: Mapping[str, str]) -> SmsResult: ...


_TEST_NUMBERS: dict[str, SmsResultCode] = {
    "0000": SmsResultCode.SEND_FAILED,
    "9999": SmsResultCode.TIMEOUT,
    "1111": SmsResultCode.MOBILE_NUMBER_ILLEGAL,
    "8888": SmsResultCode.BUSINESS_LIMIT_CONTROL,
}


class SandboxSmsProvider:
    """A vendor look-alike: latency, result codes, deterministic failures, an outbox table.

    It keeps its own transactions (it stands for a system outside the bank), so callers must
    not hold a database transaction open while they call :meth:`send`.
    """

    def __init__(
        self,
        *,
        uow: UowFactory,
        clock: Clock,
        phone_index: Callable[[str], str],
        bank_name: str,
        latency: timedelta = timedelta(0),
        timeout: timedelta = timedelta(seconds=3),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._phone_index = phone_index
        self._bank_name = bank_name
        self._latency = latency
        self._timeout = timeout
        self._sleep = sleep

    def send(self, *, phone: str, template: str, params: Mapping[str, str]) -> SmsResult:
        code = _TEST_NUMBERS.get(phone[-4:], SmsResultCode.OK)
        if template not in TEMPLATES:
            return SmsResult(SmsResultCode.SEND_FAILED, detail=f"template {template!r} unknown")
        if code is SmsResultCode.TIMEOUT:
            self._sleep(self._timeout.total_seconds())
        elif self._latency:
            self._sleep(self._latency.total_seconds())
        message_id = new_id()
        text = TEMPLATES[template].format(bank=self._bank_name, **params)
        with self._uow() as uow:
            uow.session.add(
                SandboxSms(
                    id=message_id,
                    phone_index=self._phone_index(phone),
                    phone_masked=mask_phone(phone),
                    template=template,
                    text=text if code is SmsResultCode.OK else "",
                    result_code=code.value,
                    created_at=self._clock.now(),
                )
            )
            uow.commit()
        if code is SmsResultCode.OK:
            return SmsResult(code, message_id=message_id)
        return SmsResult(code, detail=f"sandbox test number ending {phone[-4:]}")

    def outbox(self, phone: str, *, limit: int = 20) -> list[SandboxSms]:
        """Messages to ``phone``, newest first (what a tester reads off the handset)."""
        with self._uow() as uow:
            query = (
                select(SandboxSms)
                .where(SandboxSms.phone_index == self._phone_index(phone))
                .order_by(SandboxSms.created_at.desc(), SandboxSms.id.desc())
                .limit(limit)
            )
            rows = list(uow.session.scalars(query))
            uow.session.expunge_all()
            return rows
