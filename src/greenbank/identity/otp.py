"""SMS one-time codes: issue and verify, for signing in and for other domains' confirmations.

Issuing is three steps so no database transaction stays open across the call to the SMS vendor:
reserve (rate limits, a challenge in ``sending``), send, then settle (``pending``, or
``send_failed`` with the phone's cooldown released). A challenge that was not accepted by the
vendor can never be verified. Verifying records every attempt, also the failed ones: a wrong
code is committed before the error is raised.

Other domains call :func:`issue` / :func:`verify` with their own ``purpose`` and a
``reference`` (e.g. the card-binding application id) so a code confirms exactly one thing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from greenbank.clock import SHANGHAI, Clock, business_date
from greenbank.crypto.masking import mask_phone
from greenbank.db import UowFactory, locked_row, run_with_retry
from greenbank.identity.domain import (
    OtpPolicy,
    OtpPurpose,
    OtpStatus,
    generate_code,
    judge_attempt,
    normalise_mobile,
    seconds_until,
)
from greenbank.identity.errors import (
    OtpAttemptsExceeded,
    OtpExpired,
    OtpInvalid,
    OtpRateLimited,
    SmsSendFailed,
    SmsTimedOut,
)
from greenbank.identity.keys import PhoneIndex, code_mac, same_mac
from greenbank.identity.models import OtpChallenge, OtpRateCounter
from greenbank.identity.providers import SmsProvider, SmsResultCode

T = TypeVar("T")


@dataclass(frozen=True)
class OtpService:
    """What the code flow needs: storage, time, the SMS gateway, the rules and the keys."""

    uow: UowFactory
    clock: Clock
    sms: SmsProvider
    policy: OtpPolicy
    key: bytes
    phone_index: PhoneIndex


@dataclass(frozen=True)
class IssuedCode:
    challenge_id: str
    phone_masked: str
    expires_at: datetime
    resend_after: datetime


@dataclass(frozen=True)
class VerifiedPhone:
    phone: str  # normalised, in memory only: never stored in identity tables
    phone_index: str
    phone_masked: str
    challenge_id: str


def _counter(session: Session, scope: str, key: str, day: date) -> OtpRateCounter:
    """The counter row for (scope, key, day), created if missing, locked for this transaction."""
    return locked_row(session, OtpRateCounter, {"scope": scope, "key": key, "day": day}, sent=0)


def _next_midnight(now: datetime) -> datetime:
    tomorrow = business_date(now) + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=SHANGHAI)


def _take_quota(
    session: Session, now: datetime, policy: OtpPolicy, phone_key: str, client_ip: str | None
) -> None:
    """Count one send against the phone (cooldown + daily cap) and the client IP (daily cap)."""
    day = business_date(now)
    phone = _counter(session, "phone", phone_key, day)
    yesterday = session.get(OtpRateCounter, ("phone", phone_key, day - timedelta(days=1)))
    cooldowns = [c.cooldown_until for c in (phone, yesterday) if c and c.cooldown_until]
    if cooldowns and max(cooldowns) > now:
        wait = seconds_until(max(cooldowns), now)
        raise OtpRateLimited(f"wait {wait} s before asking for another code", retry_after=wait)
    if phone.sent >= policy.daily_cap_per_phone:
        raise OtpRateLimited(
            f"at most {policy.daily_cap_per_phone} codes per phone per day",
            retry_after=seconds_until(_next_midnight(now), now),
        )
    if client_ip:
        per_ip = _counter(session, "ip", client_ip, day)
        if per_ip.sent >= policy.daily_cap_per_ip:
            raise OtpRateLimited(
                "too many codes requested from this network today",
                retry_after=seconds_until(_next_midnight(now), now),
            )
        per_ip.sent += 1
    phone.sent += 1
    phone.cooldown_until = now + policy.resend_cooldown


def issue(
    svc: OtpService,
    *,
    phone: str,
    purpose: OtpPurpose,
    client_ip: str | None = None,
    reference: str | None = None,
) -> IssuedCode:
    """Send a fresh code to ``phone`` for ``purpose``; earlier codes for the same purpose stop
    working. Raises ``otp_rate_limited`` (with Retry-After) or ``sms_send_failed``."""
    mobile = normalise_mobile(phone)
    phone_key = svc.phone_index(mobile)
    code = generate_code(svc.policy.length)

    def reserve() -> OtpChallenge:
        now = svc.clock.now()
        with svc.uow() as work:
            _take_quota(work.session, now, svc.policy, phone_key, client_ip)
            work.session.execute(
                update(OtpChallenge)
                .where(
                    OtpChallenge.phone_index == phone_key,
                    OtpChallenge.purpose == purpose.value,
                    OtpChallenge.status.in_([OtpStatus.PENDING, OtpStatus.SENDING]),
                )
                .values(status=OtpStatus.SUPERSEDED.value)
            )
            challenge = OtpChallenge(
                purpose=purpose.value,
                phone_index=phone_key,
                phone_masked=mask_phone(mobile),
                reference=reference,
                code_hash="",
                status=OtpStatus.SENDING.value,
                attempts=0,
                created_at=now,
                expires_at=now + svc.policy.ttl,
                client_ip=client_ip,
            )
            work.session.add(challenge)
            work.session.flush()
            challenge.code_hash = code_mac(svc.key, challenge.id, code)
            work.commit()
            return challenge

    challenge = run_with_retry(reserve)
    minutes = str(int(svc.policy.ttl.total_seconds() // 60))
    result = svc.sms.send(
        phone=mobile, template=f"otp_{purpose.value}", params={"code": code, "minutes": minutes}
    )

    def settle() -> None:
        with svc.uow() as work:
            row = work.session.get_one(OtpChallenge, challenge.id, with_for_update=True)
            if row.status == OtpStatus.SENDING:
                row.status = (OtpStatus.PENDING if result.ok else OtpStatus.SEND_FAILED).value
            row.sms_message_id = result.message_id
            if not result.ok:  # the user did not get a code: let them ask again at once
                day = business_date(challenge.created_at)
                counter = work.session.get(OtpRateCounter, ("phone", phone_key, day))
                if counter is not None:
                    counter.cooldown_until = None
            work.commit()

    run_with_retry(settle)
    if result.code is SmsResultCode.TIMEOUT:
        raise SmsTimedOut(vendor_code=result.code.value)
    if not result.ok:
        raise SmsSendFailed(vendor_code=result.code.value)
    return IssuedCode(
        challenge_id=challenge.id,
        phone_masked=challenge.phone_masked,
        expires_at=challenge.expires_at,
        resend_after=challenge.created_at + svc.policy.resend_cooldown,
    )


def verify_then(
    svc: OtpService,
    *,
    phone: str,
    purpose: OtpPurpose,
    code: str,
    then: Callable[[Session, VerifiedPhone], T],
    reference: str | None = None,
) -> T:
    """Check ``code`` against the latest challenge for (phone, purpose); on success run
    ``then`` in the same transaction (so "code used" and what it unlocks commit together)."""
    mobile = normalise_mobile(phone)
    phone_key = svc.phone_index(mobile)

    def attempt() -> T:
        with svc.uow() as work:
            query = (
                select(OtpChallenge)
                .where(OtpChallenge.phone_index == phone_key, OtpChallenge.purpose == purpose.value)
                .order_by(OtpChallenge.created_at.desc(), OtpChallenge.id.desc())
                .limit(1)
                .with_for_update()
            )
            challenge = work.session.scalars(query).first()
            if challenge is None or challenge.reference != reference:
                raise OtpInvalid()
            if challenge.status == OtpStatus.BURNT:
                raise OtpAttemptsExceeded()
            if challenge.status == OtpStatus.EXPIRED:
                raise OtpExpired()
            if challenge.status != OtpStatus.PENDING:
                raise OtpInvalid("no code is waiting for this phone; request a new one")
            now = svc.clock.now()
            judged = judge_attempt(
                matches=same_mac(challenge.code_hash, code_mac(svc.key, challenge.id, code)),
                attempts=challenge.attempts,
                expires_at=challenge.expires_at,
                now=now,
                policy=svc.policy,
            )
            challenge.attempts, challenge.status = judged.attempts, judged.status.value
            if judged.ok:
                challenge.verified_at = now
                outcome = then(
                    work.session,
                    VerifiedPhone(mobile, phone_key, challenge.phone_masked, challenge.id),
                )
                work.commit()
                return outcome
            work.commit()  # the failed attempt counts even though we refuse
            if judged.status is OtpStatus.EXPIRED:
                raise OtpExpired()
            if judged.status is OtpStatus.BURNT:
                raise OtpAttemptsExceeded()
            raise OtpInvalid(attempts_left=svc.policy.max_attempts - judged.attempts)

    return run_with_retry(attempt)


def verify(
    svc: OtpService,
    *,
    phone: str,
    purpose: OtpPurpose,
    code: str,
    reference: str | None = None,
) -> VerifiedPhone:
    """Check a code and commit its use; for domains that need nothing else in that transaction."""
    return verify_then(
        svc, phone=phone, purpose=purpose, code=code, reference=reference, then=lambda _s, v: v
    )
