"""SMS one-time codes on both databases: delivery, cooldown, daily caps, attempts, expiry,
vendor failures, purposes and references, and what is (not) stored."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from greenbank.bootstrap import Container
from greenbank.clock import FixedClock
from greenbank.identity import otp, service
from greenbank.identity.domain import OtpPolicy, OtpPurpose, OtpStatus
from greenbank.identity.errors import (
    OtpAttemptsExceeded,
    OtpExpired,
    OtpInvalid,
    OtpRateLimited,
    SmsSendFailed,
    SmsTimedOut,
)
from greenbank.identity.models import OtpChallenge, SandboxSms
from greenbank.identity.providers import SandboxSmsProvider, SmsResultCode

PHONE = "13812345678"
SIGN_IN = OtpPurpose.SIGN_IN


def _challenges(container: Container) -> list[OtpChallenge]:
    with container.uow() as uow:
        rows = list(uow.session.scalars(select(OtpChallenge).order_by(OtpChallenge.created_at)))
        uow.session.expunge_all()
        return rows


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_delivered_code_verifies_once(
    container: Container, otp_svc: otp.OtpService, latest_code: Callable[[str], str]
) -> None:
    issued = otp.issue(otp_svc, phone="+86 138 1234 5678", purpose=SIGN_IN, client_ip="10.0.0.1")
    assert issued.phone_masked == "138****5678"
    assert issued.expires_at - container.clock.now() == timedelta(minutes=5)
    code = latest_code(PHONE)
    verified = otp.verify(otp_svc, phone=PHONE, purpose=SIGN_IN, code=code)
    assert verified.phone == PHONE
    assert verified.challenge_id == issued.challenge_id
    with pytest.raises(OtpInvalid):
        otp.verify(otp_svc, phone=PHONE, purpose=SIGN_IN, code=code)


def test_neither_code_nor_phone_is_stored(
    container: Container, otp_svc: otp.OtpService, latest_code: Callable[[str], str]
) -> None:
    otp.issue(otp_svc, phone=PHONE, purpose=SIGN_IN)
    code = latest_code(PHONE)
    (challenge,) = _challenges(container)
    stored = " ".join(str(v) for v in vars(challenge).values())
    assert code not in challenge.code_hash and len(challenge.code_hash) == 64
    assert PHONE not in stored
    assert challenge.phone_index == container.keyring.blind_index(PHONE, kind="phone")


def test_resend_cooldown_then_the_old_code_stops_working(
    container: Container,
    clock: FixedClock,
    otp_svc: otp.OtpService,
    latest_code: Callable[[str], str],
) -> None:
    otp.issue(otp_svc, phone=PHONE, purpose=SIGN_IN)
    first = latest_code(PHONE)
    clock.advance(timedelta(seconds=59, milliseconds=500))
    with pytest.raises(OtpRateLimited) as refused:
        otp.issue(otp_svc, phone=PHONE, purpose=SIGN_IN)
    assert refused.value.headers["Retry-After"] == "1"
    clock.advance(timedelta(milliseconds=500))
    otp.issue(otp_svc, phone=PHONE, purpose=SIGN_IN)
    second = latest_code(PHONE)
    assert [c.status for c in _challenges(container)] == ["superseded", "pending"]
    if first != second:
        with pytest.raises(OtpInvalid):
            otp.verify(otp_svc, phone=PHONE, purpose=SIGN_IN, code=first)
    otp.verify(otp_svc, phone=PHONE, purpose=SIGN_IN, code=second)


def test_daily_cap_per_phone_lifts_at_shanghai_midnight(
    container: Container, clock: FixedClock, otp_svc: otp.OtpService
) -> None:
    # the clock starts 2026-03-02 01:30 UTC = 09:30 in Shanghai; midnight is 14.5 h later
    for _ in range(10):
        otp.issue(otp_svc, phone=PHONE, purpose=SIGN_IN)
        clock.advance(timedelta(seconds=60))
    with pytest.raises(OtpRateLimited, match="per phone per day") as refused:
        otp.issue(otp_svc, phone=PHONE, purpose=SIGN_IN)
    assert refused.value.extra["retry_after"] == 14 * 3600 + 1800 - 600
    otp.issue(otp_svc, phone="13912345678", purpose=SIGN_IN)  # another phone is unaffected
    clock.advance(timedelta(seconds=refused.value.extra["retry_after"]))
    otp.issue(otp_svc, phone=PHONE, purpose=SIGN_IN)


def test_daily_cap_per_client_ip(container: Container, otp_svc: otp.OtpService) -> None:
    svc = replace(otp_svc, policy=OtpPolicy(daily_cap_per_ip=2))
    otp.issue(svc, phone="13800000001", purpose=SIGN_IN, client_ip="10.1.1.1")
    otp.issue(svc, phone="13800000002", purpose=SIGN_IN, client_ip="10.1.1.1")
    with pytest.raises(OtpRateLimited, match="this network"):
        otp.issue(svc, phone="13800000003", purpose=SIGN_IN, client_ip="10.1.1.1")
    otp.issue(svc, phone="13800000003", purpose=SIGN_IN, client_ip="10.1.1.2")


def test_five_wrong_codes_burn_the_challenge(
    container: Container, otp_svc: otp.OtpService, latest_code: Callable[[str], str]
) -> None:
    otp.issue(otp_svc, phone=PHONE, purpose=SIGN_IN)
    code = latest_code(PHONE)
    for left in (4, 3, 2, 1):
        with pytest.raises(OtpInvalid) as wrong:
            otp.verify(otp_svc, phone=PHONE, purpose=SIGN_IN, code=_wrong(code))
        assert wrong.value.extra["attempts_left"] == left
    with pytest.raises(OtpAttemptsExceeded):
        otp.verify(otp_svc, phone=PHONE, purpose=SIGN_IN, code=_wrong(code))
    with pytest.raises(OtpAttemptsExceeded):  # the right code is no good any more
        otp.verify(otp_svc, phone=PHONE, purpose=SIGN_IN, code=code)
    (challenge,) = _challenges(container)
    assert (challenge.status, challenge.attempts) == ("burnt", 5)


def test_codes_expire_after_five_minutes(
    container: Container,
    clock: FixedClock,
    otp_svc: otp.OtpService,
    latest_code: Callable[[str], str],
) -> None:
    otp.issue(otp_svc, phone=PHONE, purpose=SIGN_IN)
    code = latest_code(PHONE)
    clock.advance(timedelta(minutes=5))
    with pytest.raises(OtpExpired):
        otp.verify(otp_svc, phone=PHONE, purpose=SIGN_IN, code=code)
    with pytest.raises(OtpExpired):
        otp.verify(otp_svc, phone=PHONE, purpose=SIGN_IN, code=code)
    assert _challenges(container)[0].status == "expired"


def test_purpose_and_reference_bind_a_code(
    container: Container, otp_svc: otp.OtpService, latest_code: Callable[[str], str]
) -> None:
    otp.issue(otp_svc, phone=PHONE, purpose=OtpPurpose.BIND_CARD, reference="application-1")
    code = latest_code(PHONE)
    assert "绑定银行卡" in service.sandbox_sms(container).outbox(PHONE)[0].text
    with pytest.raises(OtpInvalid):
        otp.verify(otp_svc, phone=PHONE, purpose=SIGN_IN, code=code)
    with pytest.raises(OtpInvalid):
        otp.verify(otp_svc, phone=PHONE, purpose=OtpPurpose.BIND_CARD, code=code)
    verified = otp.verify(
        otp_svc, phone=PHONE, purpose=OtpPurpose.BIND_CARD, code=code, reference="application-1"
    )
    assert verified.phone_masked == "138****5678"


def test_vendor_failure_leaves_no_usable_code_and_no_cooldown(
    container: Container, otp_svc: otp.OtpService
) -> None:
    failing = "13800000000"
    with pytest.raises(SmsSendFailed) as failed:
        otp.issue(otp_svc, phone=failing, purpose=SIGN_IN)
    assert (failed.value.status, failed.value.code) == (502, "sms_send_failed")
    assert failed.value.extra["vendor_code"] == "SMS_SEND_FAILED"
    with pytest.raises(SmsSendFailed):  # asked again at once: not otp_rate_limited
        otp.issue(otp_svc, phone=failing, purpose=SIGN_IN)
    assert {c.status for c in _challenges(container)} == {OtpStatus.SEND_FAILED.value}
    with pytest.raises(OtpInvalid):
        otp.verify(otp_svc, phone=failing, purpose=SIGN_IN, code="123456")
    outbox = service.sandbox_sms(container).outbox(failing)
    assert [(m.result_code, m.text) for m in outbox] == [("SMS_SEND_FAILED", "")] * 2


def test_vendor_timeout_waits_for_the_client_timeout(
    container: Container, otp_svc: otp.OtpService
) -> None:
    slept: list[float] = []
    provider = SandboxSmsProvider(
        uow=container.uow,
        clock=container.clock,
        phone_index=otp_svc.phone_index,
        bank_name="测试银行",
        latency=timedelta(milliseconds=120),
        timeout=timedelta(seconds=3),
        sleep=slept.append,
    )
    svc = replace(otp_svc, sms=provider)
    with pytest.raises(SmsTimedOut) as failed:
        otp.issue(svc, phone="13800009999", purpose=SIGN_IN)
    assert (failed.value.status, failed.value.code) == (503, "sms_send_failed")
    otp.issue(svc, phone=PHONE, purpose=SIGN_IN)
    assert slept == [3.0, 0.12]
    assert provider.outbox(PHONE)[0].text.startswith("【测试银行】您的登录验证码为")


@pytest.mark.parametrize(
    ("phone", "code"),
    [
        ("13800001111", SmsResultCode.MOBILE_NUMBER_ILLEGAL),
        ("13800008888", SmsResultCode.BUSINESS_LIMIT_CONTROL),
        ("13800001234", SmsResultCode.OK),
    ],
)
def test_sandbox_test_numbers(container: Container, phone: str, code: SmsResultCode) -> None:
    result = service.sandbox_sms(container).send(
        phone=phone, template="otp_sign_in", params={"code": "123456", "minutes": "5"}
    )
    assert result.code is code
    assert (result.message_id is not None) == (code is SmsResultCode.OK)
    with container.uow() as uow:
        assert uow.session.scalar(select(SandboxSms.result_code)) == code.value


@pytest.mark.postgres_only
def test_concurrent_requests_send_one_code(container: Container, otp_svc: otp.OtpService) -> None:
    """Eight workers ask at once for the same phone: the counter row lock lets one through."""
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def ask() -> None:
        barrier.wait()
        try:
            otp.issue(otp_svc, phone=PHONE, purpose=SIGN_IN)
            outcomes.append("sent")
        except OtpRateLimited:
            outcomes.append("limited")

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["limited"] * 7 + ["sent"]
    assert len(service.sandbox_sms(container).outbox(PHONE)) == 1
