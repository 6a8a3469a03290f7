"""Customer HTTP for holdings: buy, list, detail with history, withdrawal trial, withdraw.

Money-moving calls need an ``Idempotency-Key`` header: a retry with the same key and body returns
the first result (``replayed: true`` / status 200), the same key with another body is
``idempotency_key_reused``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Response, status

from greenbank.api.deps import ContainerDep
from greenbank.deposits import holdings_queries
from greenbank.deposits.holdings_queries import HoldingView
from greenbank.deposits.holdings_schemas import (
    HoldingOut,
    PayoutOut,
    PurchaseIn,
    WithdrawalDoneOut,
    WithdrawalIn,
)
from greenbank.deposits.interest import accrued_interest, expected_interest
from greenbank.deposits.purchase import Receipting, purchase
from greenbank.deposits.router import _problems
from greenbank.deposits.schemas import WithdrawalOut
from greenbank.deposits.withdrawal import withdraw, withdrawal_quote
from greenbank.identity.deps import CurrentCustomer
from greenbank.receipts.runtime import runtime

router = APIRouter(prefix="/api/v1/deposits/holdings", tags=["deposit holdings"])

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=100,
        description="A unique key per intended operation (e.g. a UUID); retries reuse it.",
    ),
]
HoldingPath = Annotated[str, Path(max_length=36, description="Holding id.")]


async def receipting(container: ContainerDep) -> Receipting:
    """Every purchase and withdrawal over HTTP issues its electronic receipt. ``async``: the
    runtime is built once, without I/O (the seal's key files are read only when sealing), and a
    plain ``def`` would cost every purchase one more hand-off to the thread pool."""
    rt = runtime(container)
    return Receipting(rt.bank_name, rt.code_key)


ReceiptingDep = Annotated[Receipting, Depends(receipting)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Buy a time deposit with the Class II balance",
    description="Debits the Class II balance and opens the holding in one transaction: value "
    "date today (business date), the product rate posted today kept for the whole term. 201 "
    "the first time, 200 with the same result for a retried Idempotency-Key.",
    responses={
        404: _problems("Unknown product or no account.", "product_not_found", "account_not_found"),
        409: _problems(
            "Refused.",
            "insufficient_funds",
            "account_not_active",
            "product_not_on_sale",
            "quota_exhausted",
            "customer_limit_exceeded",
            "idempotency_key_reused",
        ),
        422: _problems(
            "Bad input.",
            "amount_below_minimum",
            "amount_above_maximum",
            "amount_not_multiple_of_step",
            "maturity_option_not_allowed",
        ),
    },
)
def buy(
    body: PurchaseIn,
    customer: CurrentCustomer,
    container: ContainerDep,
    key: IdempotencyKey,
    response: Response,
    receipts: ReceiptingDep,
) -> HoldingOut:
    result = purchase(
        uow=container.uow,
        clock=container.clock,
        customer_id=customer.id,
        product_code=body.product_code,
        amount_fen=body.amount_fen,
        idempotency_key=key,
        maturity_option=body.maturity_option,
        receipting=receipts,
    )
    if result.replayed:
        response.status_code = status.HTTP_200_OK
    contract = result.holding.contract
    view = HoldingView(
        result.holding,
        result.product_code,
        result.product_name,
        accrued_interest(contract, contract.value_date),
        expected_interest(contract),
    )
    return HoldingOut.of(view)


@router.get("", summary="My holdings", description="Active ones; `all=true` adds closed ones.")
def list_mine(
    customer: CurrentCustomer, container: ContainerDep, all: bool = False
) -> list[HoldingOut]:
    views = holdings_queries.list_holdings(
        uow=container.uow, clock=container.clock, customer_id=customer.id, include_closed=all
    )
    return [HoldingOut.of(v) for v in views]


@router.get(
    "/{holding_id}",
    summary="One holding with its history",
    responses={404: _problems("Not yours or no such holding.", "holding_not_found")},
)
def detail(
    holding_id: HoldingPath, customer: CurrentCustomer, container: ContainerDep
) -> HoldingOut:
    view = holdings_queries.holding_detail(
        uow=container.uow, clock=container.clock, customer_id=customer.id, holding_id=holding_id
    )
    return HoldingOut.of(view, history=True)


_WITHDRAWAL_PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: _problems("Not yours or no such holding.", "holding_not_found"),
    409: _problems(
        "Refused.",
        "holding_closed",
        "partial_withdrawal_already_used",
        "not_before_maturity",
        "account_not_active",
        "idempotency_key_reused",
    ),
    422: _problems(
        "Bad input.",
        "partial_withdrawal_not_allowed",
        "invalid_withdrawal_amount",
        "remaining_below_minimum",
    ),
}


@router.post(
    "/{holding_id}/withdrawal-trial",
    summary="What withdrawing today would pay",
    description="Before maturity: early withdrawal at today's demand rate, actual/360 (in full, "
    "or `amount_fen` of it once). On or after maturity: term interest plus demand interest for "
    "the extra days. Nothing changes.",
    responses=_WITHDRAWAL_PROBLEMS,
)
def trial(
    holding_id: HoldingPath, body: WithdrawalIn, customer: CurrentCustomer, container: ContainerDep
) -> WithdrawalOut:
    quote = withdrawal_quote(
        uow=container.uow,
        clock=container.clock,
        customer_id=customer.id,
        holding_id=holding_id,
        amount_fen=body.amount_fen,
    )
    return WithdrawalOut.of(quote)


@router.post(
    "/{holding_id}/withdrawals",
    status_code=status.HTTP_201_CREATED,
    summary="Withdraw (early, in full or in part, or after maturity)",
    description="Pays principal and interest into the Class II balance, exactly the figure the "
    "trial shows for today.",
    responses=_WITHDRAWAL_PROBLEMS,
)
def withdraw_now(
    holding_id: HoldingPath,
    body: WithdrawalIn,
    customer: CurrentCustomer,
    container: ContainerDep,
    key: IdempotencyKey,
    response: Response,
    receipts: ReceiptingDep,
) -> WithdrawalDoneOut:
    result = withdraw(
        uow=container.uow,
        clock=container.clock,
        customer_id=customer.id,
        holding_id=holding_id,
        amount_fen=body.amount_fen,
        idempotency_key=key,
        receipting=receipts,
    )
    if result.replayed:
        response.status_code = status.HTTP_200_OK
    return WithdrawalDoneOut(
        payout=PayoutOut.of(result.payout),
        holding_status=result.holding.status.value,
        replayed=result.replayed,
    )
