"""Staff HTTP for rewards under ``/api/v1/staff/rewards``: catalogue, codes, orders, projects,
perk rules (maker-checker), perk runs and exports, articles and quiz questions.

Every route needs ``rewards.manage`` and writes an audit line (``require_permission``); approving
a rule also needs a different staff member than the rule's maker and submitter.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, status

from greenbank.api.deps import ContainerDep
from greenbank.clock import business_date
from greenbank.identity.deps import StaffPrincipal, require_permission
from greenbank.rewards import donations, mall, perks, quizzes
from greenbank.rewards.domain import PerkKind
from greenbank.rewards.schemas import (
    ArticleIn,
    ArticleOut,
    CodesImported,
    CodesIn,
    EvaluationOut,
    GrantOut,
    ItemChange,
    ItemIn,
    ItemOut,
    OrderMoveIn,
    OrderOut,
    ProjectIn,
    ProjectOut,
    QuestionIn,
    RuleIn,
    RuleOut,
    StaffQuestionOut,
)

router = APIRouter(prefix="/api/v1/staff/rewards", tags=["staff: rewards"])
Staff = Annotated[StaffPrincipal, require_permission("rewards.manage")]
IdPath = Annotated[str, Path(max_length=36)]
CodePath = Annotated[str, Path(max_length=40)]
Status = Literal["draft", "published", "withdrawn"]


@router.get("/items", name="rewards.items.list", summary="All catalogue items")
def items(staff: Staff, container: ContainerDep) -> list[ItemOut]:
    return mall.list_items(uow=container.uow, clock=container.clock, on_sale_only=False)


@router.post("/items", name="rewards.items.create", status_code=status.HTTP_201_CREATED)
def create_item(body: ItemIn, staff: Staff, container: ContainerDep) -> ItemOut:
    return mall.create_item(uow=container.uow, clock=container.clock, spec=body, by=staff.username)


@router.patch("/items/{code}", name="rewards.items.change")
def change_item(code: CodePath, body: ItemChange, staff: Staff, container: ContainerDep) -> ItemOut:
    return mall.change_item(
        uow=container.uow, clock=container.clock, code=code, change=body, by=staff.username
    )


@router.post("/items/{code}/codes", name="rewards.codes.import", summary="Import supplier codes")
def import_codes(
    code: CodePath, body: CodesIn, staff: Staff, container: ContainerDep
) -> CodesImported:
    return mall.import_codes(
        uow=container.uow, clock=container.clock, item_code=code, batch=body.batch,
        codes=body.codes, by=staff.username,
    )  # fmt: skip


@router.get("/orders", name="rewards.orders.list")
def orders(staff: Staff, container: ContainerDep, status: str | None = None) -> list[OrderOut]:
    return mall.list_orders(uow=container.uow, status=status)


@router.post(
    "/orders/{order_id}/status",
    name="rewards.orders.move",
    summary="Ship, fulfil or cancel an order (cancelling returns the points)",
)
def move_order(
    order_id: IdPath, body: OrderMoveIn, staff: Staff, container: ContainerDep
) -> OrderOut:
    return mall.move_order(
        uow=container.uow, clock=container.clock, order_id=order_id, move=body,
        by=staff.username,
    )  # fmt: skip


@router.post("/projects", name="rewards.projects.create", status_code=status.HTTP_201_CREATED)
def create_project(body: ProjectIn, staff: Staff, container: ContainerDep) -> ProjectOut:
    return donations.create_project(
        uow=container.uow, clock=container.clock, spec=body, by=staff.username
    )


@router.get("/rules", name="rewards.rules.list")
def rules(staff: Staff, container: ContainerDep) -> list[RuleOut]:
    return perks.list_rules(uow=container.uow)


@router.post("/rules", name="rewards.rules.create", status_code=status.HTTP_201_CREATED)
def create_rule(body: RuleIn, staff: Staff, container: ContainerDep) -> RuleOut:
    return perks.create_rule(
        uow=container.uow, clock=container.clock, definition=body.definition, by=staff.username
    )


@router.post("/rules/{rule_id}/{action}", name="rewards.rules.move")
def move_rule(
    rule_id: IdPath,
    action: Literal["submit", "approve", "retire"],
    staff: Staff,
    container: ContainerDep,
) -> RuleOut:
    step = {"submit": perks.submit_rule, "approve": perks.approve_rule, "retire": perks.retire_rule}
    return step[action](
        uow=container.uow, clock=container.clock, rule_id=rule_id, by=staff.username
    )


@router.post("/perks/evaluate", name="rewards.perks.evaluate", summary="Run the nightly job now")
def evaluate_all(staff: Staff, container: ContainerDep) -> EvaluationOut:
    return perks.evaluate_all(uow=container.uow, clock=container.clock)


@router.get(
    "/perks/export",
    name="rewards.perks.export",
    summary="Rights valid on a day for the card system (upgrade list, discount coupons)",
)
def export(
    staff: Staff,
    container: ContainerDep,
    kind: PerkKind = PerkKind.CREDIT_LIMIT_UPGRADE,
    on: date | None = None,
) -> list[GrantOut]:
    day = on or business_date(container.clock.now())
    return perks.export_grants(uow=container.uow, kinds=[kind], on=day)


@router.get("/articles", name="rewards.articles.list")
def articles(staff: Staff, container: ContainerDep) -> list[ArticleOut]:
    return quizzes.articles(uow=container.uow, published_only=False)


@router.post("/articles", name="rewards.articles.create", status_code=status.HTTP_201_CREATED)
def create_article(body: ArticleIn, staff: Staff, container: ContainerDep) -> ArticleOut:
    return quizzes.create_article(
        uow=container.uow, clock=container.clock, spec=body, by=staff.username
    )


@router.get("/questions", name="rewards.questions.list")
def questions(staff: Staff, container: ContainerDep) -> list[StaffQuestionOut]:
    return quizzes.questions(uow=container.uow)


@router.post("/questions", name="rewards.questions.create", status_code=status.HTTP_201_CREATED)
def create_question(body: QuestionIn, staff: Staff, container: ContainerDep) -> StaffQuestionOut:
    return quizzes.create_question(
        uow=container.uow, clock=container.clock, spec=body, by=staff.username
    )


@router.post("/{kind}/{row_id}/status/{new_status}", name="rewards.content.status")
def set_status(
    kind: Literal["articles", "questions"],
    row_id: IdPath,
    new_status: Status,
    staff: Staff,
    container: ContainerDep,
) -> dict[str, str]:
    done = quizzes.set_status(
        uow=container.uow, clock=container.clock, kind=kind.rstrip("s"), row_id=row_id,
        status=new_status, by=staff.username,
    )  # fmt: skip
    return {"id": row_id, "status": done}
