"""Public HTTP for the deposit catalogue: products on sale, trial calculations, the demand rate.

Staff management (create, post rates, publish, pause, retire) is CLI-only until staff
authentication exists; it will get its own router then.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path

from greenbank.api.deps import ContainerDep
from greenbank.clock import business_date
from greenbank.deposits import catalogue
from greenbank.deposits.domain import Term
from greenbank.deposits.schemas import DemandRateOut, ProductOut, RatePostingOut, TrialIn, TrialOut
from greenbank.deposits.trial import trial

router = APIRouter(prefix="/api/v1/deposits", tags=["deposits"])

_PROBLEM = "application/problem+json"


def _problems(description: str, *codes: str) -> dict[str, Any]:
    return {
        "description": f"{description} `code`: {', '.join(f'`{c}`' for c in codes)}.",
        "content": {_PROBLEM: {}},
    }


CodePath = Path(description="Product code.", examples=["TD-1Y"], max_length=40)


@router.get(
    "/products",
    summary="Products on sale now",
    description="Published products inside their sale window, time deposits first, by term. "
    "Each carries today's rate, limits, maturity options and the deposit-insurance disclosure.",
)
def list_products(container: ContainerDep) -> list[ProductOut]:
    listings = catalogue.list_products(uow=container.uow, clock=container.clock, on_sale_only=True)
    return [ProductOut.of(listing) for listing in listings]


@router.get(
    "/products/{code}",
    summary="One product",
    description="Published, paused and retired products are visible (`on_sale` says whether "
    "it can be bought now); drafts are not.",
    responses={404: _problems("No such product.", "product_not_found")},
)
def get_product(container: ContainerDep, code: str = CodePath) -> ProductOut:
    listing = catalogue.public_product(uow=container.uow, clock=container.clock, code=code)
    return ProductOut.of(listing)


@router.post(
    "/products/{code}/trial",
    summary="Trial calculation (试算)",
    description="What buying `amount_fen` today would earn: value date (today's business date), "
    "maturity date, the rate kept for the whole term and the interest at maturity. With "
    "`withdraw_on`, also what a withdrawal that day pays: before maturity a full (or, with "
    "`partial_amount_fen`, partial) early withdrawal at the demand rate, actual/360; on or after "
    "maturity the term interest plus the demand rate for the extra days. Interest is rounded "
    "half-up to the fen once per line. Nothing is bought or reserved.",
    responses={
        404: _problems(
            "Unknown product or no rate posted.", "product_not_found", "rate_not_posted"
        ),
        409: _problems(
            "Not buyable now.",
            "product_not_on_sale",
            "quota_exhausted",
            "customer_limit_exceeded",
            "not_before_maturity",
        ),
        422: _problems(
            "Bad input.",
            "validation_failed",
            "amount_below_minimum",
            "amount_above_maximum",
            "amount_not_multiple_of_step",
            "invalid_term",
            "term_not_offered",
            "invalid_period",
            "withdraw_on_required",
            "partial_withdrawal_not_allowed",
            "invalid_withdrawal_amount",
            "remaining_below_minimum",
        ),
    },
)
def trial_calculation(body: TrialIn, container: ContainerDep, code: str = CodePath) -> TrialOut:
    result = trial(
        uow=container.uow,
        clock=container.clock,
        code=code,
        amount_fen=body.amount_fen,
        term=None if body.term is None else Term.parse(body.term),
        withdraw_on=body.withdraw_on,
        partial_amount_fen=body.partial_amount_fen,
    )
    return TrialOut.of(result)


@router.get(
    "/rates/demand",
    summary="The bank's demand rate",
    description="The demand (活期) rate in force today and every posting; it applies to early "
    "withdrawals and to days held past maturity.",
)
def demand_rate(container: ContainerDep) -> DemandRateOut:
    postings = catalogue.demand_rate_postings(uow=container.uow)
    today = business_date(container.clock.now())
    in_force = [p for p in postings if p.effective_from <= today]
    return DemandRateOut(
        current=RatePostingOut.of(in_force[-1]) if in_force else None,
        history=[RatePostingOut.of(p) for p in postings],
    )
