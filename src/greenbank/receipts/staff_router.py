"""Staff: receipts issued and verified per day, and a filtered list (``receipts.stats.read``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from greenbank.api.date_range import RANGE_PROBLEM, DayRangeDep
from greenbank.api.deps import ContainerDep
from greenbank.identity.deps import StaffPrincipal, require_permission
from greenbank.receipts.queries import ReceiptFilter, daily_figures, list_receipts
from greenbank.receipts.render import ReceiptType
from greenbank.receipts.schemas import DayFiguresOut, ReceiptStats, StaffReceipt, StaffReceiptPage

router = APIRouter(prefix="/api/v1/staff/receipts", tags=["receipts (staff)"])
Staff = Annotated[StaffPrincipal, require_permission("receipts.stats.read")]
FORBIDDEN: dict[int | str, dict[str, object]] = {
    401: {"description": "No staff token"},
    403: {"description": "Missing receipts.stats.read"},
}


@router.get(
    "/stats",
    name="receipts.staff.stats",
    summary="Receipts issued and verified per day",
    responses={**FORBIDDEN, **RANGE_PROBLEM},
)
def stats(_staff: Staff, container: ContainerDep, span: DayRangeDep) -> ReceiptStats:
    with container.uow() as uow:
        days = daily_figures(uow.session, span.first, span.last)
    return ReceiptStats(
        date_from=span.first,
        date_to=span.last,
        issued=sum(d.issued for d in days),
        sealed=sum(d.sealed for d in days),
        verified=sum(d.verified for d in days),
        verification_failed=sum(d.verification_failed for d in days),
        days=[DayFiguresOut.of(d) for d in days],
    )


@router.get("", name="receipts.staff.list", summary="Receipts, newest first", responses=FORBIDDEN)
def list_all(
    _staff: Staff,
    container: ContainerDep,
    type: ReceiptType | None = None,
    status: Annotated[str | None, Query(pattern="^(pending|sealed)$")] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    customer_id: Annotated[str | None, Query(max_length=36)] = None,
    receipt_no: Annotated[str | None, Query(max_length=24, description="A prefix")] = None,
    page_no: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> StaffReceiptPage:
    where = ReceiptFilter(type, status, date_from, date_to, customer_id, receipt_no)
    with container.uow() as uow:
        found = list_receipts(uow.session, where, page=page_no, size=size)
        items = [StaffReceipt.of(r) for r in found.items]
    return StaffReceiptPage(items=items, total=found.total, page=found.page, size=found.size)
