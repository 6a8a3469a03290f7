"""Identity services built from a Container's settings, and the customer sign-in use case.

The rules live in ``domain``; the flows in ``otp``, ``sessions`` and ``staff``. This module turns
settings into their policies, picks the SMS gateway, and joins "code verified" to "customer
found or created" and "session opened" in one transaction.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from greenbank.bootstrap import Container
from greenbank.config import Environment
from greenbank.customers.registry import get_or_create_by_phone
from greenbank.errors import ConfigurationError
from greenbank.identity import otp
from greenbank.identity.domain import Lockout, OtpPolicy, OtpPurpose
from greenbank.identity.keys import otp_key, phone_indexer
from greenbank.identity.providers import SandboxSmsProvider
from greenbank.identity.sessions import IssuedTokens, PrincipalKind, TokenPolicy, open_session
from greenbank.identity.staff import StaffPolicy


def token_policy(container: Container, kind: PrincipalKind) -> TokenPolicy:
    settings = container.settings
    refresh = (
        settings.staff_refresh_token_ttl_s
        if kind is PrincipalKind.STAFF
        else settings.auth_refresh_token_ttl_s
    )
    return TokenPolicy(
        access_ttl=timedelta(seconds=settings.auth_access_token_ttl_s),
        refresh_ttl=timedelta(seconds=refresh),
    )


def staff_policy(container: Container) -> StaffPolicy:
    settings = container.settings
    return StaffPolicy(
        lockout=Lockout(
            threshold=settings.staff_lockout_threshold,
            duration=timedelta(seconds=settings.staff_lockout_s),
        ),
        password_min_length=settings.staff_password_min_length,
        tokens=token_policy(container, PrincipalKind.STAFF),
    )


def sandbox_sms(container: Container) -> SandboxSmsProvider:
    """The sandbox gateway; refused in production, where a real vendor must be configured."""
    settings = container.settings
    if settings.environment is Environment.PRODUCTION:
        raise ConfigurationError("the sandbox SMS provider cannot be used in production")
    return SandboxSmsProvider(
        uow=container.uow,
        clock=container.clock,
        phone_index=phone_indexer(container),
        bank_name=settings.bank_name,
        latency=timedelta(milliseconds=settings.sms_sandbox_latency_ms),
        timeout=timedelta(milliseconds=settings.sms_timeout_ms),
    )


def otp_service(container: Container) -> otp.OtpService:
    """The one-time-code flow as configured; other domains call ``otp.issue`` / ``otp.verify``
    with it (e.g. card binding sends a code to the bank-registered mobile)."""
    settings = container.settings
    return otp.OtpService(
        uow=container.uow,
        clock=container.clock,
        sms=sandbox_sms(container),  # settings.sms_provider has one value today: "sandbox"
        policy=OtpPolicy(
            length=settings.otp_length,
            ttl=timedelta(seconds=settings.otp_ttl_s),
            max_attempts=settings.otp_max_attempts,
            resend_cooldown=timedelta(seconds=settings.otp_resend_cooldown_s),
            daily_cap_per_phone=settings.otp_daily_cap_per_phone,
            daily_cap_per_ip=settings.otp_daily_cap_per_ip,
        ),
        key=otp_key(container),
        phone_index=phone_indexer(container),
    )


def customer_sign_in(
    container: Container,
    *,
    phone: str,
    code: str,
    client_ip: str | None = None,
    user_agent: str | None = None,
) -> IssuedTokens:
    """Verify the sign-in code, find or create the customer, open a session: one commit."""
    policy = token_policy(container, PrincipalKind.CUSTOMER)

    def then(session: Session, verified: otp.VerifiedPhone) -> IssuedTokens:
        customer = get_or_create_by_phone(
            session, container.keyring, container.clock, verified.phone
        )
        return open_session(
            session,
            container.clock,
            policy,
            kind=PrincipalKind.CUSTOMER,
            principal_id=customer.id,
            client_ip=client_ip,
            user_agent=user_agent,
        )

    return otp.verify_then(
        otp_service(container), phone=phone, purpose=OtpPurpose.SIGN_IN, code=code, then=then
    )
