"""Staff routes of the carbon account, ``/api/v1/carbon/staff``: methodology versions with
maker-checker approval, re-computation, refused events, daily totals, anomalies and the
reduction certificates' figures. Every call is permission-checked and audited by
``require_permission``."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status

from greenbank.api.date_range import RANGE_PROBLEM, DayRangeDep
from greenbank.api.deps import ContainerDep
from greenbank.carbon import methodologies_admin as admin
from greenbank.carbon import recomputation, staff_queries
from greenbank.carbon.certificate_schemas import CertificateStats
from greenbank.carbon.schemas import (
    AnomalyOut,
    ChangeOut,
    DayTotalOut,
    DraftIn,
    MethodologyOut,
    RecomputeIn,
    RejectIn,
    RejectionOut,
    RejectionPage,
    RunOut,
)
from greenbank.clock import business_date
from greenbank.identity.deps import StaffPrincipal, require_permission

router = APIRouter(prefix="/staff", tags=["carbon staff"])

Manager = Annotated[StaffPrincipal, require_permission("carbon.methodologies.manage")]
Checker = Annotated[StaffPrincipal, require_permission("carbon.methodologies.approve")]
Reader = Annotated[StaffPrincipal, require_permission("reports.read")]
READER_PROBLEMS: dict[int | str, dict[str, object]] = {
    401: {"description": "No staff token"},
    403: {"description": "Missing reports.read"},
}


@router.get("/methodologies", summary="All methodology versions", name="carbon.methodologies.list")
def list_versions(
    staff: Manager, container: ContainerDep, scenario: str | None = None
) -> list[MethodologyOut]:
    views = admin.list_methodologies(container.uow, scenario=scenario)
    return [MethodologyOut.model_validate(v) for v in views]


@router.get(
    "/methodologies/pending",
    summary="Versions waiting for approval (for checkers)",
    name="carbon.methodologies.pending",
)
def pending(staff: Checker, container: ContainerDep) -> list[MethodologyOut]:
    views = admin.list_methodologies(container.uow)
    return [MethodologyOut.model_validate(v) for v in views if v.status == "pending_approval"]


@router.post(
    "/methodologies",
    status_code=status.HTTP_201_CREATED,
    summary="Create a draft version (problems are listed, not raised)",
    name="carbon.methodologies.draft",
)
def draft(body: DraftIn, staff: Manager, container: ContainerDep) -> MethodologyOut:
    view = admin.create_draft(
        container.uow, container.clock, actor=staff.username, definition=body.definition
    )
    return MethodologyOut.model_validate(view)


@router.post(
    "/methodologies/{methodology_id}/submit",
    summary="Validate against the worked examples and send for approval",
    name="carbon.methodologies.submit",
)
def submit(methodology_id: str, staff: Manager, container: ContainerDep) -> MethodologyOut:
    view = admin.submit(
        container.uow, container.clock, actor=staff.username, methodology_id=methodology_id
    )
    return MethodologyOut.model_validate(view)


@router.post(
    "/methodologies/{methodology_id}/approve",
    summary="Publish (a different staff member than the maker)",
    name="carbon.methodologies.approve",
)
def approve(methodology_id: str, staff: Checker, container: ContainerDep) -> MethodologyOut:
    view = admin.approve(
        container.uow, container.clock, actor=staff.username, methodology_id=methodology_id
    )
    return MethodologyOut.model_validate(view)


@router.post(
    "/methodologies/{methodology_id}/reject",
    summary="Send back to draft with a reason",
    name="carbon.methodologies.reject",
)
def reject(
    methodology_id: str, body: RejectIn, staff: Checker, container: ContainerDep
) -> MethodologyOut:
    view = admin.reject(
        container.uow,
        container.clock,
        actor=staff.username,
        methodology_id=methodology_id,
        reason=body.reason,
    )
    return MethodologyOut.model_validate(view)


@router.post(
    "/methodologies/{methodology_id}/retire",
    summary="Withdraw a draft or pending version",
    name="carbon.methodologies.retire",
)
def retire(methodology_id: str, staff: Manager, container: ContainerDep) -> MethodologyOut:
    view = admin.retire(
        container.uow, container.clock, actor=staff.username, methodology_id=methodology_id
    )
    return MethodologyOut.model_validate(view)


@router.post(
    "/recomputations",
    summary="Re-compute history under a published version (up to max_batches; call again)",
    name="carbon.recompute",
)
def recompute(body: RecomputeIn, staff: Manager, container: ContainerDep) -> RunOut:
    view = recomputation.run(
        container.uow,
        container.clock,
        scenario=body.scenario,
        version=body.version,
        actor=staff.username,
        batch_customers=body.batch_customers,
        max_batches=body.max_batches,
    )
    return _run(container, view)


@router.get(
    "/recomputations/{run_id}",
    summary="Progress and per-customer change report",
    name="carbon.recompute.progress",
)
def run_progress(run_id: str, staff: Manager, container: ContainerDep) -> RunOut:
    return _run(container, recomputation.progress(container.uow, run_id))


def _run(container: ContainerDep, view: recomputation.RunView) -> RunOut:
    report = [
        ChangeOut(customer_id=c.customer_ref, events=c.events, old_mg=c.old_mg, new_mg=c.new_mg)
        for c in recomputation.change_report(container.uow, view.id)
    ]
    return RunOut.model_validate({**view.__dict__, "report": report})


@router.get(
    "/rejections",
    summary="Refused events and their reasons",
    name="carbon.rejections",
    responses=READER_PROBLEMS,
)
def rejections(
    staff: Reader,
    container: ContainerDep,
    reason: str | None = None,
    source: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: str | None = None,
) -> RejectionPage:
    items, next_before = staff_queries.rejections(
        container.uow, reason=reason, source=source, limit=limit, before=before
    )
    return RejectionPage(
        items=[RejectionOut.model_validate(i) for i in items], next_before=next_before
    )


@router.get(
    "/totals",
    summary="Reductions per scenario per day",
    name="carbon.totals",
    responses=READER_PROBLEMS,
)
def day_totals(
    staff: Reader,
    container: ContainerDep,
    start: date | None = None,
    end: date | None = None,
) -> list[DayTotalOut]:
    last = end or business_date(container.clock.now())
    first = start or last - timedelta(days=30)
    rows = staff_queries.totals_per_day(container.uow, start=first, end=last)
    return [DayTotalOut.model_validate(r) for r in rows]


@router.get(
    "/anomalies",
    summary="Customers refused most often for caps and duplicates",
    name="carbon.anomalies",
    responses=READER_PROBLEMS,
)
def anomalies(
    staff: Reader,
    container: ContainerDep,
    days: Annotated[int, Query(ge=1, le=366)] = 7,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[AnomalyOut]:
    since = container.clock.now() - timedelta(days=days)
    rows = staff_queries.anomalies(container.uow, since=since, limit=limit)
    return [AnomalyOut.model_validate(r) for r in rows]


@router.get(
    "/certificates/stats",
    summary="Reduction certificates issued, verified and downloaded per day",
    description=(
        "Per business day (Asia/Shanghai) in date_from..date_to (both included, at most 366 "
        "days), with totals over the range: certificates issued, and the public checks of "
        "that day (JSON API and /verify/certificate page alike). A check by number + code or "
        "by upload that passes is `verified`; every check that does not, a download with a "
        "wrong number or code included, is `verification_failed`; a download with the right "
        "ones is `downloads`. Attempts refused by the rate limit are not counted. Days without "
        "any of these are left out."
    ),
    name="carbon.certificates.stats",
    responses={**READER_PROBLEMS, **RANGE_PROBLEM},
)
def certificate_stats(
    staff: Reader, container: ContainerDep, span: DayRangeDep
) -> CertificateStats:
    days = staff_queries.certificate_days(container.uow, start=span.first, end=span.last)
    return CertificateStats.of(span.first, span.last, days)
