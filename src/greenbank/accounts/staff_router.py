"""Staff HTTP API for account opening: ``/api/v1/staff/applications`` (review queue) and the
anti-fraud blacklist. Reading needs ``customers.read``, deciding ``applications.review``;
every call is audited by ``require_permission``. Personal data is masked."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from greenbank.accounts import review, wiring
from greenbank.accounts.models import ApplicationState, BlacklistKind
from greenbank.accounts.schemas import (
    ApplicationOut,
    ApplicationPage,
    BlacklistIn,
    BlacklistOut,
    ReviewIn,
    StaffApplicationOut,
    problems,
)
from greenbank.api.deps import ContainerDep
from greenbank.identity.deps import StaffPrincipal, require_permission

router = APIRouter(prefix="/api/v1/staff", tags=["staff: account opening"])

Reader = Annotated[StaffPrincipal, require_permission("customers.read")]
Reviewer = Annotated[StaffPrincipal, require_permission("applications.review")]
STAFF: dict[int | str, dict[str, Any]] = {
    401: problems("No valid staff token.", "unauthorized"),
    403: problems("Missing permission.", "forbidden"),
}


@router.get(
    "/applications",
    name="staff.applications.list",
    summary="Applications, newest first, optionally by state (e.g. in_review)",
    response_model=ApplicationPage,
    responses=STAFF,
)
def list_applications(
    caller: Reader,
    container: ContainerDep,
    state: ApplicationState | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ApplicationPage:
    rows, total = review.list_applications(
        wiring.onboarding(container),
        state=state.value if state else None,
        limit=limit,
        offset=offset,
    )
    return ApplicationPage(items=[ApplicationOut.of(r) for r in rows], total=total)


@router.get(
    "/applications/{application_id}",
    name="staff.applications.get",
    summary="One application with every check result (masked)",
    response_model=StaffApplicationOut,
    responses={**STAFF, 404: problems("No such application.", "application_not_found")},
)
def get_application(
    application_id: str, caller: Reader, container: ContainerDep
) -> StaffApplicationOut:
    view = review.staff_view(wiring.onboarding(container), application_id=application_id)
    return StaffApplicationOut.full(view.application, view.checks, view.review)


@router.post(
    "/applications/{application_id}/review",
    name="staff.applications.review",
    summary="Approve (the account opens) or refuse an application in review",
    response_model=StaffApplicationOut,
    responses={
        **STAFF,
        404: problems("No such application.", "application_not_found"),
        409: problems("Not in review.", "wrong_step", "review_not_open", "account_limit_reached"),
    },
)
def decide(
    application_id: str, body: ReviewIn, caller: Reviewer, container: ContainerDep
) -> StaffApplicationOut:
    svc = wiring.onboarding(container)
    review.decide(
        svc,
        application_id=application_id,
        decision=review.ReviewDecision(body.decision),
        reason=body.reason,
        staff=caller.username,
    )
    view = review.staff_view(svc, application_id=application_id)
    return StaffApplicationOut.full(view.application, view.checks, view.review)


@router.post(
    "/blacklist",
    name="staff.blacklist.add",
    summary="Bar an ID number, card, phone, device or IP from opening accounts",
    status_code=201,
    response_model=BlacklistOut,
    responses={**STAFF, 409: problems("Listed already.", "blacklist_entry_exists")},
)
def add_to_blacklist(body: BlacklistIn, caller: Reviewer, container: ContainerDep) -> BlacklistOut:
    entry = review.add_to_blacklist(
        wiring.onboarding(container),
        kind=BlacklistKind(body.kind),
        value=body.value,
        reason=body.reason,
        staff=caller.username,
    )
    return BlacklistOut(
        id=entry.id,
        kind=entry.kind,
        label=entry.label,
        reason=entry.reason,
        created_by=entry.created_by,
        created_at=entry.created_at,
    )
