"""HTTP for customer sign-in (SMS code -> bearer tokens), customer sessions, the sandbox SMS
outbox (dev/test only) and, mounted from ``staff_router``, staff sign-in and administration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from greenbank.api.deps import ContainerDep
from greenbank.config import Environment
from greenbank.errors import NotFound
from greenbank.identity import service, sessions
from greenbank.identity.deps import CurrentCustomer, client_ip
from greenbank.identity.domain import OtpPurpose, normalise_mobile
from greenbank.identity.otp import issue
from greenbank.identity.schemas import (
    UNAUTHORIZED,
    CustomerTokenOut,
    OtpRequestIn,
    OtpRequestOut,
    RefreshIn,
    SandboxSmsOut,
    SessionOut,
    TokenIn,
    problems,
)
from greenbank.identity.sessions import PrincipalKind
from greenbank.identity.staff_router import router as staff_router

auth = APIRouter(prefix="/api/v1/auth", tags=["customer sign-in"])
sandbox = APIRouter(prefix="/api/v1/sandbox", tags=["sandbox (dev/test only)"])


@auth.post(
    "/otp",
    name="auth.otp",
    summary="Send a sign-in code by SMS",
    description="Sends a 6-digit code valid for 5 minutes; an earlier code stops working. At "
    "most one code a minute per phone and 10 a day (per IP: 50); a refusal carries Retry-After.",
    responses={
        422: problems("Bad phone.", "validation_failed", "mobile_malformed"),
        429: problems("Too soon or too many.", "otp_rate_limited"),
        502: problems("The SMS vendor refused the message.", "sms_send_failed"),
        503: problems("The SMS vendor did not answer.", "sms_send_failed"),
    },
)
def request_code(body: OtpRequestIn, request: Request, container: ContainerDep) -> OtpRequestOut:
    issued = issue(
        service.otp_service(container),
        phone=body.phone,
        purpose=OtpPurpose.SIGN_IN,
        client_ip=client_ip(request),
    )
    return OtpRequestOut.of(issued)


@auth.post(
    "/token",
    name="auth.token",
    summary="Sign in with the SMS code",
    description="Exchanges phone + code for an access token (15 minutes) and a refresh token "
    "(30 days). A first sign-in registers the customer. Five wrong codes burn the code.",
    responses={
        400: problems("Wrong code.", "otp_invalid", "otp_expired", "otp_attempts_exceeded"),
        422: problems("Bad input.", "validation_failed", "mobile_malformed"),
    },
)
def sign_in(body: TokenIn, request: Request, container: ContainerDep) -> CustomerTokenOut:
    tokens = service.customer_sign_in(
        container,
        phone=body.phone,
        code=body.code,
        client_ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    return CustomerTokenOut.of(tokens)


@auth.post(
    "/refresh",
    name="auth.refresh",
    summary="Swap a refresh token for a new pair",
    description="The refresh token is spent. Presenting a spent one again revokes the whole "
    "session (someone else holds a copy).",
    responses=UNAUTHORIZED,
)
def refresh(body: RefreshIn, container: ContainerDep) -> CustomerTokenOut:
    tokens = sessions.refresh(
        container.uow,
        container.clock,
        service.token_policy(container, PrincipalKind.CUSTOMER),
        token=body.refresh_token,
        kind=PrincipalKind.CUSTOMER,
    )
    return CustomerTokenOut.of(tokens)


@auth.post(
    "/logout",
    name="auth.logout",
    summary="Sign out: revoke this session",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=UNAUTHORIZED,
)
def logout(me: CurrentCustomer, container: ContainerDep) -> Response:
    _revoke_own(container, me, me.session_id, "logout")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@auth.get(
    "/sessions",
    name="auth.sessions",
    summary="My signed-in sessions",
    responses=UNAUTHORIZED,
)
def my_sessions(me: CurrentCustomer, container: ContainerDep) -> list[SessionOut]:
    rows = sessions.live_sessions(
        container.uow, container.clock, kind=PrincipalKind.CUSTOMER, principal_id=me.id
    )
    return [SessionOut.of(row, me.session_id) for row in rows]


@auth.delete(
    "/sessions/{session_id}",
    name="auth.sessions.revoke",
    summary="Revoke one of my sessions (e.g. a lost phone)",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**UNAUTHORIZED, 404: problems("Not one of your sessions.", "session_not_found")},
)
def revoke_session(session_id: str, me: CurrentCustomer, container: ContainerDep) -> Response:
    _revoke_own(container, me, session_id, "revoked_by_customer")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _revoke_own(
    container: ContainerDep, me: sessions.Principal, session_id: str, reason: str
) -> None:
    sessions.revoke(
        container.uow,
        container.clock,
        session_id=session_id,
        reason=reason,
        actor=f"customer:{me.id}",
        owner=me,
    )


@sandbox.get(
    "/sms",
    name="sandbox.sms",
    summary="Read the sandbox SMS outbox",
    description="What the sandbox SMS vendor 'delivered' to a phone, newest first, including "
    "refused sends (empty text). Not available in production (404).",
    responses={404: problems("Production.", "not_found")},
)
def sandbox_outbox(
    container: ContainerDep,
    phone: Annotated[str, Query(min_length=11, max_length=20, examples=["13812345678"])],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[SandboxSmsOut]:
    if container.settings.environment is Environment.PRODUCTION:
        raise NotFound()
    rows = service.sandbox_sms(container).outbox(normalise_mobile(phone), limit=limit)
    return [SandboxSmsOut.of(row) for row in rows]


router = APIRouter()
router.include_router(auth)
router.include_router(staff_router)
router.include_router(sandbox)
