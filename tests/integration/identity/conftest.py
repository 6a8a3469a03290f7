"""Fixtures for identity integration tests: the OTP flow bound to the test container, a reader
of the sandbox outbox, and cheap argon2 parameters (the policy under test is unchanged)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import pytest
from argon2 import PasswordHasher

from greenbank.bootstrap import Container
from greenbank.identity import otp, service
from greenbank.identity.staff import StaffPolicy

_CODE = re.compile(r"验证码为(\d{4,8})")


@pytest.fixture
def otp_svc(container: Container) -> otp.OtpService:
    return service.otp_service(container)


@pytest.fixture
def latest_code(container: Container) -> Callable[[str], str]:
    """Reads the code in the newest delivered sandbox SMS to a phone."""

    def read(phone: str) -> str:
        for message in service.sandbox_sms(container).outbox(phone):
            found = _CODE.search(message.text)
            if found:
                return found.group(1)
        raise AssertionError(f"no code was delivered to {phone}")

    return read


@pytest.fixture
def staff_policy(container: Container) -> StaffPolicy:
    # argon2id still, with small memory so the suite stays fast
    return replace(
        service.staff_policy(container),
        hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )
