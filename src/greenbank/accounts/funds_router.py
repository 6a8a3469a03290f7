"""Customer HTTP API of the closed loop: ``/api/v1/accounts/me`` (the account, its history,
top-ups, withdrawals, closing) and the card rail's signed callback.

Every POST that moves money needs an ``Idempotency-Key`` header: a retry with the same key gets
the first answer (``replayed: true``), never a second transfer.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from greenbank.accounts import card_change, funds, funds_staff_router, queries, states
from greenbank.accounts.funds_policy import runtime
from greenbank.accounts.funds_schemas import (
    AccountOverview,
    CloseOut,
    HistoryPage,
    TransferOut,
    TransferPage,
)
from greenbank.accounts.schemas import problems
from greenbank.accounts.settlement import apply_notice
from greenbank.api.deps import ContainerDep
from greenbank.identity.deps import CurrentCustomer

me = APIRouter(prefix="/api/v1/accounts/me", tags=["Class II account: funds"])
rails = APIRouter(prefix="/api/v1/rails", tags=["card rail callbacks"])

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=100,
        description="Required: a retry with the same key returns the first result",
    ),
]
COMMON: dict[int | str, dict[str, Any]] = {
    401: problems("No valid customer token.", "unauthorized", "token_expired"),
    404: problems("The customer has no Class II account.", "class2_account_not_found"),
}
MOVE: dict[int | str, dict[str, Any]] = {
    **COMMON,
    403: problems("Only the bound card may be used.", "not_bound_card"),
    409: problems(
        "The account's state or balance does not allow it, or the key was used for another "
        "request.",
        "account_frozen",
        "account_restricted",
        "account_closed",
        "insufficient_funds",
        "idempotency_key_reused",
        "non_bound_limit_exceeded",
    ),
    422: problems("Bad amount or card number.", "invalid_transfer_amount", "validation_failed"),
}
Limit = Annotated[int, Query(ge=1, le=queries.MAX_PAGE)]


class TransferIn(BaseModel):
    amount_fen: Annotated[int, Field(gt=0, description="Integer fen: 10000 is 100.00 CNY")]
    card_number: Annotated[
        str | None,
        Field(
            max_length=30,
            description="Optional: must be the bound card; anything else is `not_bound_card`",
        ),
    ] = None


@me.get("", summary="My Class II account", responses=COMMON)
def my_account(me_: CurrentCustomer, container: ContainerDep) -> AccountOverview:
    return queries.overview(container.uow, container.clock, customer_id=me_.id)


@me.get(
    "/history",
    summary="Movements of my balance",
    description="Newest first. `type` repeats (`top_up`, `withdrawal`, `deposit_purchase`, "
    "`interest` ...); dates are value dates (Asia/Shanghai). Pass `next_cursor` back as `cursor`.",
    responses=COMMON,
)
def my_history(
    me_: CurrentCustomer,
    container: ContainerDep,
    type: Annotated[list[str] | None, Query(max_length=10)] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: Limit = 20,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> HistoryPage:
    return queries.history(
        container.uow,
        customer_id=me_.id,
        types=frozenset(type) if type else None,
        date_from=date_from,
        date_to=date_to,
        limit=limit,
        cursor=cursor,
    )


@me.get("/transfers", summary="My top-ups and withdrawals", responses=COMMON)
def my_transfers(
    me_: CurrentCustomer,
    container: ContainerDep,
    kind: Annotated[str | None, Query(pattern="^(top_up|withdrawal)$")] = None,
    status_: Annotated[str | None, Query(alias="status", max_length=20)] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: Limit = 20,
    cursor: Annotated[str | None, Query(max_length=36)] = None,
) -> TransferPage:
    return queries.transfers(
        container.uow,
        customer_id=me_.id,
        kind=kind,
        status=status_,
        date_from=date_from,
        date_to=date_to,
        limit=limit,
        cursor=cursor,
    )


@me.get("/transfers/{transfer_id}", summary="One top-up or withdrawal", responses=COMMON)
def my_transfer(transfer_id: str, me_: CurrentCustomer, container: ContainerDep) -> TransferOut:
    return queries.get_transfer(container.uow, transfer_id=transfer_id, customer_id=me_.id)


@me.post(
    "/top-ups",
    summary="Top up from the bound card (充值)",
    description="The bound card is debited through the card rail; the balance is credited when "
    "the rail settles (`status` goes `processing` -> `settled` or `failed`).",
    status_code=status.HTTP_202_ACCEPTED,
    responses=MOVE,
)
def top_up(
    body: TransferIn, key: IdempotencyKey, me_: CurrentCustomer, container: ContainerDep
) -> TransferOut:
    rt = runtime(container.settings, container.clock)
    return funds.top_up(
        container.uow,
        rt,
        customer_id=me_.id,
        amount_fen=body.amount_fen,
        idempotency_key=key,
        card_number=body.card_number,
    )


@me.post(
    "/withdrawals",
    summary="Withdraw to the bound card (提现)",
    description="The amount is held at once and taken when the rail settles; a failure releases "
    "it. Allowed on restricted accounts (only to the bound card).",
    status_code=status.HTTP_202_ACCEPTED,
    responses=MOVE,
)
def withdraw(
    body: TransferIn, key: IdempotencyKey, me_: CurrentCustomer, container: ContainerDep
) -> TransferOut:
    rt = runtime(container.settings, container.clock)
    return funds.withdraw(
        container.uow,
        rt,
        customer_id=me_.id,
        amount_fen=body.amount_fen,
        idempotency_key=key,
        card_number=body.card_number,
    )


@me.post(
    "/close",
    summary="Close my account",
    description="An empty account closes at once (`closed`). Otherwise the balance goes back "
    "to the bound card first (`restricted`, with the withdrawal) and the account closes when "
    "it settles. Time deposits must be withdrawn first.",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        **COMMON,
        409: problems("Not now.", "account_frozen", "transfers_in_flight", "holdings_open"),
    },
)
def close(key: IdempotencyKey, me_: CurrentCustomer, container: ContainerDep) -> CloseOut:
    rt = runtime(container.settings, container.clock)
    return states.close(container.uow, rt, customer_id=me_.id, idempotency_key=key)


@rails.post(
    "/sandbox/callback",
    summary="Settlement notice from the sandbox card rail",
    description="The body is a rail notice; `X-Rail-Signature` is its HMAC-SM3 under the "
    "sandbox key. Unsigned or forged notices are refused; repeated ones change nothing.",
    responses={
        401: problems("Bad signature.", "rail_signature_invalid"),
        404: problems("Unknown transfer.", "transfer_not_found"),
        409: problems("Contradicts an earlier notice.", "rail_notice_conflict"),
        422: problems("Unreadable notice.", "rail_notice_malformed"),
    },
)
async def sandbox_callback(
    request: Request,
    container: ContainerDep,
    signature: Annotated[str, Header(alias="X-Rail-Signature", max_length=128)],
) -> TransferOut:
    rt = runtime(container.settings, container.clock)
    notice = rt.rail.verify_callback(await request.body(), signature)
    return await run_in_threadpool(apply_notice, container.uow, rt, notice)


router = APIRouter()
router.include_router(me)
router.include_router(card_change.me)
router.include_router(rails)
router.include_router(funds_staff_router.router)
