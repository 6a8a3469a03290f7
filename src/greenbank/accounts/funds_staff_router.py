"""Staff HTTP API for accounts in service: find a customer, view an account and its history,
freeze / unfreeze with a reason, and the AML alerts and report.

Every call is audited by ``require_permission`` (who, what, outcome); freezing also writes an
audit line with the reason and the states before and after. Personal data is masked.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from greenbank.accounts import aml_service, queries, states
from greenbank.accounts.funds_models import AlertStatus
from greenbank.accounts.funds_policy import aml_rules
from greenbank.accounts.funds_schemas import (
    AccountOverview,
    AlertOut,
    CustomerMatch,
    HistoryPage,
    TransferPage,
)
from greenbank.accounts.schemas import problems
from greenbank.api.deps import ContainerDep
from greenbank.identity.deps import StaffPrincipal, require_permission

router = APIRouter(prefix="/api/v1/staff", tags=["staff: accounts and AML"])

Reader = Annotated[StaffPrincipal, require_permission("customers.read")]
Freezer = Annotated[StaffPrincipal, require_permission("customers.freeze")]
Reporter = Annotated[StaffPrincipal, require_permission("reports.read")]
STAFF: dict[int | str, dict[str, Any]] = {
    401: problems("No valid staff token.", "unauthorized"),
    403: problems("Missing permission.", "forbidden"),
    404: problems("No such account.", "class2_account_not_found"),
}
Limit = Annotated[int, Query(ge=1, le=queries.MAX_PAGE)]


class SearchIn(BaseModel):
    """Exactly one criterion; sent in the body so it never lands in an access log."""

    id_number: Annotated[str | None, Field(max_length=30)] = None
    phone: Annotated[str | None, Field(max_length=20)] = None
    card_number: Annotated[str | None, Field(max_length=30)] = None


class ReasonIn(BaseModel):
    reason: Annotated[str, Field(min_length=2, max_length=200)]


class ResolveIn(BaseModel):
    resolution: Annotated[str, Field(min_length=2, max_length=500)]


class StateOut(BaseModel):
    account_id: str
    status: str
    status_reason: str | None


@router.post(
    "/customers/search",
    name="accounts.customers.search",
    summary="Find a customer by ID number, mobile or card",
    responses={**STAFF, 422: problems("Give one criterion.", "search_criteria_invalid")},
)
def search(body: SearchIn, staff: Reader, container: ContainerDep) -> list[CustomerMatch]:
    return queries.search_customers(
        container.uow,
        container.keyring,
        id_number=body.id_number,
        phone=body.phone,
        card_number=body.card_number,
    )


@router.get("/accounts/{account_id}", name="accounts.view", summary="An account", responses=STAFF)
def account(account_id: str, staff: Reader, container: ContainerDep) -> AccountOverview:
    return queries.overview(container.uow, container.clock, account_id=account_id)


@router.get(
    "/accounts/{account_id}/history",
    name="accounts.history",
    summary="Movements of an account's balance",
    responses=STAFF,
)
def history(
    account_id: str,
    staff: Reader,
    container: ContainerDep,
    type: Annotated[list[str] | None, Query(max_length=10)] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: Limit = 20,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> HistoryPage:
    return queries.history(
        container.uow,
        account_id=account_id,
        types=frozenset(type) if type else None,
        date_from=date_from,
        date_to=date_to,
        limit=limit,
        cursor=cursor,
    )


@router.get(
    "/accounts/{account_id}/transfers",
    name="accounts.transfers",
    summary="An account's top-ups and withdrawals",
    responses=STAFF,
)
def transfers(
    account_id: str,
    staff: Reader,
    container: ContainerDep,
    limit: Limit = 20,
    cursor: Annotated[str | None, Query(max_length=36)] = None,
) -> TransferPage:
    return queries.transfers(container.uow, account_id=account_id, limit=limit, cursor=cursor)


@router.post(
    "/accounts/{account_id}/freeze",
    name="accounts.freeze",
    summary="Freeze an account (nothing moves)",
    responses={**STAFF, 409: problems("Not active or restricted.", "invalid_account_state_change")},
)
def freeze(account_id: str, body: ReasonIn, staff: Freezer, container: ContainerDep) -> StateOut:
    done = states.freeze(
        container.uow,
        container.clock,
        account_id=account_id,
        reason=body.reason,
        actor=staff.username,
    )
    return StateOut(
        account_id=done.account_id, status=done.status, status_reason=done.status_reason
    )


@router.post(
    "/accounts/{account_id}/unfreeze",
    name="accounts.unfreeze",
    summary="Unfreeze an account",
    description="Back to `active`, or to `restricted` if the holder's ID has expired meanwhile.",
    responses={**STAFF, 409: problems("Not frozen.", "invalid_account_state_change")},
)
def unfreeze(account_id: str, body: ReasonIn, staff: Freezer, container: ContainerDep) -> StateOut:
    done = states.unfreeze(
        container.uow,
        container.clock,
        account_id=account_id,
        reason=body.reason,
        actor=staff.username,
    )
    return StateOut(
        account_id=done.account_id, status=done.status, status_reason=done.status_reason
    )


@router.get("/aml/alerts", name="aml.alerts.list", summary="AML alerts", responses=STAFF)
def alerts(
    staff: Reporter,
    container: ContainerDep,
    status: AlertStatus | None = None,
    on: Annotated[date | None, Query(alias="date")] = None,
    customer_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Limit = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AlertOut]:
    return aml_service.list_alerts(
        container.uow, status=status, on=on, customer_id=customer_id, limit=limit, offset=offset
    )


@router.post(
    "/aml/alerts/{alert_id}/resolve",
    name="aml.alerts.resolve",
    summary="Resolve an AML alert",
    responses={
        **STAFF,
        404: problems("No such alert.", "aml_alert_not_found"),
        409: problems("Already resolved.", "aml_alert_resolved"),
    },
)
def resolve(alert_id: str, body: ResolveIn, staff: Reader, container: ContainerDep) -> AlertOut:
    return aml_service.resolve_alert(
        container.uow,
        container.clock,
        alert_id=alert_id,
        actor=staff.username,
        resolution=body.resolution,
    )


@router.post(
    "/aml/run", name="aml.run", summary="Run the daily AML screening for a date", responses=STAFF
)
def run(
    staff: Reporter, container: ContainerDep, on: Annotated[date, Query(alias="date")]
) -> dict[str, Any]:
    done = aml_service.run_daily(
        container.uow, container.clock, aml_rules(container.settings), on=on, actor=staff.username
    )
    return {
        "business_date": done.business_date,
        "customers": done.customers,
        "flows": done.flows,
        "alerts_created": done.alerts_created,
    }


@router.get(
    "/aml/report.csv",
    name="aml.report",
    summary="The day's AML alerts or per-customer totals as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **STAFF},
)
def report(
    staff: Reporter,
    container: ContainerDep,
    on: Annotated[date, Query(alias="date")],
    what: Literal["alerts", "totals"] = "alerts",
) -> Response:
    body = aml_service.export_csv(container.uow, on=on, what=what)
    filename = f"aml-{what}-{on.isoformat()}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
