"""FastAPI dependencies for every router: who is calling, and may they do this?

* ``CurrentCustomer`` — the customer behind ``Authorization: Bearer <access token>``.
* ``CurrentStaff`` — the active staff member behind a staff access token (no audit line).
* ``require_permission("deposits.products.manage")`` — a staff member holding the permission;
  writes one audit line per call with the outcome: ``ok``, the error code the route raised,
  ``forbidden`` or ``unauthorized`` (refusals are audited too)::

      @router.post("/products", name="deposits.products.create")
      def create(staff: Annotated[StaffPrincipal, require_permission("deposits.products.manage")]):
          ...
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2PasswordBearer

from greenbank.api.deps import ContainerDep
from greenbank.audit.service import record
from greenbank.bootstrap import Container
from greenbank.errors import GreenbankError
from greenbank.identity import sessions, staff
from greenbank.identity.domain import ALL_PERMISSIONS, permissions_for
from greenbank.identity.errors import AuthenticationRequired, MissingPermission, SessionRevoked
from greenbank.identity.sessions import Principal, PrincipalKind

customer_bearer = HTTPBearer(
    scheme_name="CustomerBearer",
    description="Customer access token from `POST /api/v1/auth/token` (SMS code sign-in).",
    auto_error=False,
)
staff_bearer = OAuth2PasswordBearer(
    tokenUrl="/api/v1/staff/auth/token",
    scheme_name="StaffBearer",
    description="Staff access token from `POST /api/v1/staff/auth/token` (username + password).",
    auto_error=False,
)


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def current_customer(
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(customer_bearer)],
) -> Principal:
    if credentials is None:
        raise AuthenticationRequired("send 'Authorization: Bearer <access token>'")
    return sessions.authenticate(
        container.uow, container.clock, token=credentials.credentials, kind=PrincipalKind.CUSTOMER
    )


CurrentCustomer = Annotated[Principal, Depends(current_customer)]


@dataclass(frozen=True)
class StaffPrincipal:
    id: str
    username: str
    display_name: str
    roles: tuple[str, ...]
    permissions: frozenset[str]
    session_id: str


def _staff(container: Container, token: str | None) -> StaffPrincipal:
    if not token:
        raise AuthenticationRequired("send 'Authorization: Bearer <staff access token>'")
    principal = sessions.authenticate(
        container.uow, container.clock, token=token, kind=PrincipalKind.STAFF
    )
    user = staff.active_by_id(container.uow, principal.id)
    if user is None:
        raise SessionRevoked("the staff account is disabled")
    roles = tuple(user.role_names)
    return StaffPrincipal(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=roles,
        permissions=permissions_for(roles),
        session_id=principal.session_id,
    )


def current_staff(
    container: ContainerDep, token: Annotated[str | None, Depends(staff_bearer)]
) -> StaffPrincipal:
    return _staff(container, token)


CurrentStaff = Annotated[StaffPrincipal, Depends(current_staff)]


def _outcome(err: BaseException) -> str:
    if isinstance(err, GreenbankError):
        return err.code
    if isinstance(err, RequestValidationError):
        return "validation_failed"
    return "error"


def require_permission(permission: str) -> Any:
    """A dependency giving the calling staff member if they hold ``permission`` (401 without a
    staff token, 403 without the permission), auditing the call and its outcome.

    The audit line is written after the route has run (its outcome is then known), in a
    transaction of its own so a failed action still leaves its line.
    """
    if permission not in ALL_PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}; add it to identity.domain first")

    def dependency(
        request: Request,
        container: ContainerDep,
        token: Annotated[str | None, Depends(staff_bearer)],
    ) -> Iterator[StaffPrincipal]:
        route = request.scope.get("route")
        action = getattr(route, "name", None) or permission

        def audit(actor: str, outcome: str) -> None:
            with container.uow() as work:
                record(
                    work.session,
                    container.clock,
                    actor=actor,
                    action=action,
                    outcome=outcome,
                    permission=permission,
                    method=request.method,
                    path=request.url.path,
                )
                work.commit()

        try:
            caller = _staff(container, token)
        except GreenbankError as err:
            audit("anonymous", err.code)
            raise
        if permission not in caller.permissions:
            audit(caller.username, MissingPermission.code)
            raise MissingPermission(f"needs permission {permission!r}", permission=permission)
        try:
            yield caller
        except Exception as err:
            audit(caller.username, _outcome(err))
            raise
        audit(caller.username, "ok")

    return Depends(dependency, scope="function")
