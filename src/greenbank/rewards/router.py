"""Customer HTTP for rights and incentives under ``/api/v1/rewards``.

Point-spending calls need an ``Idempotency-Key`` header: a retry with the same key and body
returns the first result (``replayed: true``, status 200); the same key with another body is
``idempotency_key_reused``. Errors are problem+json with the codes in the README.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Response, status

from greenbank.api.deps import ContainerDep
from greenbank.identity.deps import CurrentCustomer
from greenbank.receipts.runtime import runtime
from greenbank.rewards import donations, footprints, mall, perks, quizzes
from greenbank.rewards.calculator import load_factors
from greenbank.rewards.domain import OrderStatus
from greenbank.rewards.schemas import (
    AnswerIn,
    AnswerOut,
    ArticleOut,
    DonateIn,
    DonationOut,
    FootprintIn,
    FootprintOut,
    GrantOut,
    ItemOut,
    OrderMoveIn,
    OrderOut,
    ProjectOut,
    QuestionOut,
    RedeemIn,
)

router = APIRouter(prefix="/api/v1/rewards", tags=["rewards"])

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=100,
        description="A unique key per intended operation; retries reuse it.",
    ),
]
IdPath = Annotated[str, Path(max_length=36)]


def _created(response: Response, replayed: bool) -> None:
    response.status_code = status.HTTP_200_OK if replayed else status.HTTP_201_CREATED


@router.get("/catalogue", summary="Items on sale now (points mall)")
def catalogue(container: ContainerDep) -> list[ItemOut]:
    return mall.list_items(uow=container.uow, clock=container.clock, on_sale_only=True)


@router.post(
    "/orders",
    status_code=status.HTTP_201_CREATED,
    summary="Redeem points for an item",
    description="Retires the points, takes the stock, assigns a coupon code and creates the "
    "order in one transaction, or does nothing. Physical gifts need `ship_to`. Codes: "
    "`carbon_insufficient_points`, `reward_out_of_stock`, `reward_not_on_sale`, "
    "`reward_level_too_low`, `reward_customer_limit_reached`, `idempotency_key_reused`.",
)
def redeem(
    body: RedeemIn,
    me: CurrentCustomer,
    container: ContainerDep,
    key: IdempotencyKey,
    response: Response,
) -> OrderOut:
    order = mall.redeem(
        uow=container.uow, clock=container.clock, customer_id=me.id, request=body,
        idempotency_key=key,
    )  # fmt: skip
    _created(response, order.replayed)
    return order


@router.get("/orders", summary="My orders, newest first")
def my_orders(me: CurrentCustomer, container: ContainerDep) -> list[OrderOut]:
    return mall.list_orders(uow=container.uow, customer_id=me.id)


@router.post(
    "/orders/{order_id}/cancel",
    summary="Cancel an order nothing has left the bank for; the points come back",
)
def cancel(order_id: IdPath, me: CurrentCustomer, container: ContainerDep) -> OrderOut:
    return mall.move_order(
        uow=container.uow, clock=container.clock, order_id=order_id,
        move=OrderMoveIn(status=OrderStatus.CANCELLED), by=f"customer:{me.id}", customer_id=me.id,
    )  # fmt: skip


@router.get("/projects", summary="Public-welfare projects and their progress")
def projects(container: ContainerDep) -> list[ProjectOut]:
    return donations.list_projects(uow=container.uow)


@router.post("/donations", status_code=status.HTTP_201_CREATED, summary="Donate points")
def donate(
    body: DonateIn,
    me: CurrentCustomer,
    container: ContainerDep,
    key: IdempotencyKey,
    response: Response,
) -> DonationOut:
    done = donations.donate(
        uow=container.uow, clock=container.clock, customer_id=me.id, request=body,
        idempotency_key=key,
    )  # fmt: skip
    _created(response, done.replayed)
    return done


@router.get("/donations", summary="My donations")
def my_donations(me: CurrentCustomer, container: ContainerDep) -> list[DonationOut]:
    return donations.list_donations(uow=container.uow, customer_id=me.id)


@router.get(
    "/donations/{donation_id}/certificate",
    summary="The sealed donation certificate (PDF)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def certificate(donation_id: IdPath, me: CurrentCustomer, container: ContainerDep) -> Response:
    rt = runtime(container)
    pdf = donations.certificate(
        uow=container.uow, customer_id=me.id, donation_id=donation_id,
        bank_name=rt.bank_name, identity=rt.identity,
    )  # fmt: skip
    return Response(pdf, media_type="application/pdf")


@router.get("/perks", summary="My financial perks (rights with validity periods)")
def my_perks(me: CurrentCustomer, container: ContainerDep) -> list[GrantOut]:
    return perks.my_grants(uow=container.uow, clock=container.clock, customer_id=me.id)


@router.post(
    "/perks/evaluate",
    summary="Check the perk rules now; returns the rights granted by this call",
)
def evaluate(me: CurrentCustomer, container: ContainerDep) -> list[GrantOut]:
    return perks.evaluate_for(uow=container.uow, clock=container.clock, customer_id=me.id)


@router.get("/footprint/factors", summary="The calculator's factors, with status and source")
def factors() -> dict[str, Any]:
    loaded = load_factors()
    return {
        "version": loaded.version,
        "factors": [vars(f) | {"value": str(f.value)} for f in loaded.factors.values()],
        "national_average": vars(loaded.national_average)
        | {"value": str(loaded.national_average.value)},
    }


@router.post(
    "/footprint",
    status_code=status.HTTP_201_CREATED,
    summary="Calculate my yearly footprint and save it",
    description="Utilities and driving per month, flights per year, food per week. Each line "
    "shows its factors (value, unit, status, source) and arithmetic; the total is compared "
    "with a national average (source given) and suggestions quantify each saving.",
)
def footprint(body: FootprintIn, me: CurrentCustomer, container: ContainerDep) -> FootprintOut:
    return footprints.calculate_and_save(
        uow=container.uow, clock=container.clock, customer_id=me.id, spec=body
    )


@router.get("/footprint", summary="My saved footprints, newest first")
def footprint_history(me: CurrentCustomer, container: ContainerDep) -> list[FootprintOut]:
    return footprints.history(uow=container.uow, customer_id=me.id)


@router.get("/articles", summary="Published low-carbon articles")
def articles(container: ContainerDep) -> list[ArticleOut]:
    return quizzes.articles(uow=container.uow, published_only=True)


@router.get("/quiz/today", summary="Today's quiz questions")
def quiz_today(me: CurrentCustomer, container: ContainerDep) -> list[QuestionOut]:
    return quizzes.daily_quiz(uow=container.uow, clock=container.clock, customer_id=me.id)


@router.post(
    "/quiz/{question_id}/answer",
    summary="Answer one of today's questions (the first answer counts)",
)
def answer(
    question_id: IdPath, body: AnswerIn, me: CurrentCustomer, container: ContainerDep
) -> AnswerOut:
    return quizzes.answer(
        uow=container.uow, clock=container.clock, customer_id=me.id, question_id=question_id,
        chosen=body.chosen,
    )  # fmt: skip
