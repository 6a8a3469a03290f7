"""Staff HTTP for deposits: sales per product with the quota left, and the maturity calendar.

Both need the ``reports.read`` permission (product managers, auditors and admins hold it); every
call is audited by ``require_permission``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from greenbank.api.deps import ContainerDep
from greenbank.deposits import holdings_queries
from greenbank.deposits.holdings_schemas import MaturityDayOut, ProductSalesOut
from greenbank.identity.deps import StaffPrincipal, require_permission

router = APIRouter(prefix="/api/v1/staff/deposits", tags=["staff: deposits"])

Reader = Annotated[StaffPrincipal, require_permission("reports.read")]


@router.get(
    "/sales",
    name="deposits.reports.sales",
    summary="Sales per product",
    description="Active holdings, principal outstanding, sold to date (quota used) and quota "
    "left, per product.",
)
def sales(_staff: Reader, container: ContainerDep) -> list[ProductSalesOut]:
    return [ProductSalesOut.of(s) for s in holdings_queries.product_sales(uow=container.uow)]


@router.get(
    "/maturity-calendar",
    name="deposits.reports.maturity_calendar",
    summary="What matures in the coming days",
    description="Per maturity day from today: holdings, principal, term interest due, how many "
    "roll over, principal per product.",
)
def maturity_calendar(
    _staff: Reader,
    container: ContainerDep,
    days: Annotated[int, Query(ge=1, le=366, description="How many days ahead.")] = 90,
) -> list[MaturityDayOut]:
    calendar = holdings_queries.maturity_calendar(
        uow=container.uow, clock=container.clock, days=days
    )
    return [MaturityDayOut.of(d) for d in calendar]
