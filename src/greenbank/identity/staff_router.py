"""HTTP for staff: sign-in, own profile, account administration, session revocation, audit.

Every administrative route goes through ``require_permission`` and so leaves an audit line.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime, ValidationError
from starlette.concurrency import run_in_threadpool

from greenbank.api.deps import ContainerDep
from greenbank.identity import auditlog, service, sessions, staff
from greenbank.identity.deps import CurrentStaff, StaffPrincipal, client_ip, require_permission
from greenbank.identity.errors import SessionRevoked
from greenbank.identity.schemas import (
    UNAUTHORIZED,
    AuditLineOut,
    AuditPage,
    RefreshIn,
    RolesIn,
    StaffCreateIn,
    StaffOut,
    StaffTokenIn,
    StaffTokenOut,
    TokenOut,
    problems,
)
from greenbank.identity.sessions import PrincipalKind
from greenbank.identity.staff import StaffStatus

router = APIRouter(prefix="/api/v1/staff", tags=["staff"])

FORBIDDEN = {
    **UNAUTHORIZED,
    403: problems("The roles lack the permission.", "forbidden"),
}
Manager = Annotated[StaffPrincipal, require_permission("staff.manage")]
Auditor = Annotated[StaffPrincipal, require_permission("audit.read")]

_LOGIN_BODY = StaffTokenIn.model_json_schema()


async def _login_form(request: Request) -> StaffTokenIn:
    """JSON, or the OAuth2 password form that /docs' Authorize button posts."""
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            raw: Any = await request.json()
        else:
            form = await request.form()
            raw = {key: form.get(key) for key in ("username", "password")}
        return StaffTokenIn.model_validate(raw)
    except ValidationError as err:
        raise RequestValidationError(err.errors()) from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "body is not valid JSON", "type": "json_invalid"}]
        ) from err


@router.post(
    "/auth/token",
    name="staff.auth.token",
    summary="Staff sign-in (username + password)",
    description="JSON or an OAuth2 password form. Five wrong passwords lock the account for "
    "15 minutes. Tokens: access 15 minutes, refresh 12 hours.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _LOGIN_BODY},
                "application/x-www-form-urlencoded": {"schema": _LOGIN_BODY},
            },
        }
    },
    responses={
        401: problems("Wrong username or password.", "invalid_credentials"),
        403: problems("Refused.", "account_locked", "account_disabled"),
    },
)
async def staff_token(request: Request, container: ContainerDep) -> StaffTokenOut:
    body = await _login_form(request)
    login = await run_in_threadpool(
        staff.login,
        container.uow,
        container.clock,
        service.staff_policy(container),
        username=body.username,
        password=body.password,
        client_ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    return StaffTokenOut(**TokenOut.of(login.tokens).model_dump(), staff=StaffOut.of(login.staff))


@router.post(
    "/auth/refresh",
    name="staff.auth.refresh",
    summary="Swap a staff refresh token",
    responses=UNAUTHORIZED,
)
def staff_refresh(body: RefreshIn, container: ContainerDep) -> TokenOut:
    tokens = sessions.refresh(
        container.uow,
        container.clock,
        service.token_policy(container, PrincipalKind.STAFF),
        token=body.refresh_token,
        kind=PrincipalKind.STAFF,
    )
    return TokenOut.of(tokens)


@router.post(
    "/auth/logout",
    name="staff.auth.logout",
    summary="Staff sign-out",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=UNAUTHORIZED,
)
def staff_logout(me: CurrentStaff, container: ContainerDep) -> Response:
    sessions.revoke(
        container.uow,
        container.clock,
        session_id=me.session_id,
        reason="logout",
        actor=me.username,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/me", name="staff.me", summary="Who am I (roles and permissions)", responses=UNAUTHORIZED
)
def me(caller: CurrentStaff, container: ContainerDep) -> StaffOut:
    user = staff.active_by_id(container.uow, caller.id)
    if user is None:
        raise SessionRevoked("the staff account is disabled")
    return StaffOut.of(user)


@router.post(
    "/users",
    name="staff.users.create",
    summary="Create a staff account",
    status_code=status.HTTP_201_CREATED,
    responses={
        **FORBIDDEN,
        409: problems("Taken.", "username_taken"),
        422: problems("Bad input.", "validation_failed", "weak_password", "invalid_username"),
    },
)
def create_staff(body: StaffCreateIn, caller: Manager, container: ContainerDep) -> StaffOut:
    user = staff.create(
        container.uow,
        container.clock,
        service.staff_policy(container),
        username=body.username,
        display_name=body.display_name,
        password=body.password,
        roles=[role.value for role in body.roles],
        actor=caller.username,
    )
    return StaffOut.of(user)


@router.get("/users", name="staff.users.list", summary="All staff accounts", responses=FORBIDDEN)
def list_staff(caller: Manager, container: ContainerDep) -> list[StaffOut]:
    return [StaffOut.of(user) for user in staff.list_all(container.uow)]


def _status_route(target: StaffStatus) -> Any:
    def change(username: str, caller: Manager, container: ContainerDep) -> StaffOut:
        user = staff.set_status(
            container.uow, container.clock, username=username, status=target, actor=caller.username
        )
        return StaffOut.of(user)

    return change


router.add_api_route(
    "/users/{username}/disable",
    _status_route(StaffStatus.DISABLED),
    methods=["POST"],
    name="staff.users.disable",
    summary="Disable an account (its sessions are revoked)",
    responses={
        **FORBIDDEN,
        404: problems("Unknown.", "staff_not_found"),
        409: problems("Last admin.", "last_admin"),
    },
)
router.add_api_route(
    "/users/{username}/enable",
    _status_route(StaffStatus.ACTIVE),
    methods=["POST"],
    name="staff.users.enable",
    summary="Enable an account again (clears a lockout)",
    responses={**FORBIDDEN, 404: problems("Unknown.", "staff_not_found")},
)


@router.put(
    "/users/{username}/roles",
    name="staff.users.roles",
    summary="Replace an account's roles",
    responses={
        **FORBIDDEN,
        404: problems("Unknown.", "staff_not_found"),
        409: problems("Last admin.", "last_admin"),
    },
)
def set_roles(username: str, body: RolesIn, caller: Manager, container: ContainerDep) -> StaffOut:
    user = staff.set_roles(
        container.uow,
        container.clock,
        username=username,
        roles=[role.value for role in body.roles],
        actor=caller.username,
    )
    return StaffOut.of(user)


@router.delete(
    "/sessions/{session_id}",
    name="staff.sessions.revoke",
    summary="Revoke any session (customer or staff)",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**FORBIDDEN, 404: problems("Unknown.", "session_not_found")},
)
def revoke_any_session(session_id: str, caller: Manager, container: ContainerDep) -> Response:
    sessions.revoke(
        container.uow,
        container.clock,
        session_id=session_id,
        reason="revoked_by_staff",
        actor=caller.username,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/audit",
    name="staff.audit",
    summary="The audit trail, newest first",
    responses={**FORBIDDEN, 422: problems("Bad input.", "validation_failed", "bad_cursor")},
)
def audit_trail(
    caller: Auditor,
    container: ContainerDep,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    outcome: Annotated[str | None, Query(max_length=40)] = None,
    subject: Annotated[str | None, Query(max_length=100)] = None,
    since: Annotated[
        AwareDatetime | None, Query(description="From this instant (inclusive).")
    ] = None,
    until: Annotated[AwareDatetime | None, Query(description="Before this instant.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=36)] = None,
) -> AuditPage:
    flt = auditlog.AuditFilter(
        actor=actor, action=action, outcome=outcome, subject=subject, since=since, until=until
    )
    lines, next_cursor = auditlog.page(container.uow, flt, limit=limit, cursor=cursor)
    return AuditPage(items=[AuditLineOut.of(line) for line in lines], next_cursor=next_cursor)
