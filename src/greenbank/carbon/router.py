"""HTTP routes of the carbon account, prefix ``/api/v1/carbon``: the customer's own account
(bearer token), the public card verification page, and (included) the staff and certificate
routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from greenbank.api.deps import ContainerDep
from greenbank.carbon import card, consent, queries
from greenbank.carbon.catalog import load_catalog
from greenbank.carbon.certificate_router import router as certificate_router
from greenbank.carbon.methodology import Methodology, Parameter
from greenbank.carbon.points import LevelStatus
from greenbank.carbon.schemas import (
    AccountOut,
    CardOut,
    ConsentIn,
    ConsentOut,
    EntryOut,
    EntryPage,
    ExplanationOut,
    LevelOut,
    OpenAccountIn,
    ParameterOut,
    RankOut,
    ScenarioOut,
    ScenarioTotalOut,
    SettingsIn,
    StatementLineOut,
    StatementOut,
    TermsOut,
    grams,
)
from greenbank.carbon.staff_router import router as staff_router
from greenbank.identity.deps import CurrentCustomer

router = APIRouter(prefix="/api/v1/carbon", tags=["carbon"])
router.include_router(staff_router)
router.include_router(certificate_router)

TERMS_SUMMARY = (
    "The carbon account is free. With your consent per source and scenario, the bank records "
    "low-carbon behaviour, converts it to CO2e reductions with published methodologies, and "
    "awards points. You can revoke any consent at any time; collection stops from then on."
)


def _level(status_: LevelStatus) -> LevelOut:
    following = status_.next_level
    return LevelOut(
        code=status_.level.code,
        name=status_.level.name,
        next_name=following.name if following else None,
        mg_to_next=status_.mg_to_next,
    )


def _account(summary: queries.Summary) -> AccountOut:
    return AccountOut(
        customer_id=summary.customer_id,
        opened_at=summary.opened_at,
        terms_version=summary.terms_version,
        today_mg=summary.today_mg,
        month_mg=summary.month_mg,
        lifetime_mg=summary.lifetime_mg,
        lifetime_g=grams(summary.lifetime_mg),
        points_balance=summary.points_balance,
        points_earned=summary.points_earned,
        level=_level(summary.level),
        trees=summary.trees,
        rank_opt_in=summary.rank_opt_in,
        card_public_id=summary.public_id,
        scenarios=[ScenarioTotalOut.model_validate(s) for s in summary.scenarios],
    )


@router.get("/terms", summary="The current carbon account terms (public)")
def terms() -> TermsOut:
    return TermsOut(version=consent.TERMS_VERSION, summary=TERMS_SUMMARY)


@router.get("/scenarios", summary="Scenarios with the methodology in force (public)")
def scenarios(container: ContainerDep) -> list[ScenarioOut]:
    with container.uow() as uow:
        catalog = load_catalog(uow.session)
    latest: dict[str, Methodology] = {}
    for m in catalog.methodologies:
        if m.scenario not in latest or m.version > latest[m.scenario].version:
            latest[m.scenario] = m
    return [
        ScenarioOut(
            code=m.scenario,
            name=m.name,
            version=m.version,
            effective_from=m.effective_from,
            baseline=m.baseline,
            published_formula=m.published_formula,
            provisional=m.provisional,
            parameters=[_parameter(p) for p in m.parameters],
        )
        for m in sorted(latest.values(), key=lambda m: m.scenario)
    ]


@router.post(
    "/account",
    status_code=status.HTTP_201_CREATED,
    summary="Open my carbon account (free; needs consent to the terms)",
)
def open_account(body: OpenAccountIn, me: CurrentCustomer, container: ContainerDep) -> AccountOut:
    consent.open_account(
        container.uow,
        container.clock,
        customer_id=me.id,
        accept_terms=body.accept_terms,
        terms_version=body.terms_version,
        grant_bank_scenarios=body.bank_scenarios,
    )
    return _account(queries.summary(container.uow, container.clock, customer_id=me.id))


@router.get("/account", summary="My account: totals, points, level")
def account(me: CurrentCustomer, container: ContainerDep) -> AccountOut:
    return _account(queries.summary(container.uow, container.clock, customer_id=me.id))


@router.get("/totals", summary="Today, this month, lifetime, and per scenario")
def totals(me: CurrentCustomer, container: ContainerDep) -> AccountOut:
    return account(me, container)


@router.get("/consents", summary="My consents (active and revoked)")
def list_consents(
    me: CurrentCustomer, container: ContainerDep, active: bool = False
) -> list[ConsentOut]:
    views = consent.list_consents(container.uow, customer_id=me.id, active_only=active)
    return [ConsentOut.model_validate(v) for v in views]


@router.post(
    "/consents",
    status_code=status.HTTP_201_CREATED,
    summary="Authorise a source (bank or a partner) for scenarios",
)
def grant(body: ConsentIn, me: CurrentCustomer, container: ContainerDep) -> list[ConsentOut]:
    views = consent.grant(
        container.uow,
        container.clock,
        customer_id=me.id,
        source=body.source,
        scenarios=body.scenarios,
    )
    return [ConsentOut.model_validate(v) for v in views]


@router.delete("/consents/{consent_id}", summary="Revoke a consent (collection stops now)")
def revoke(consent_id: str, me: CurrentCustomer, container: ContainerDep) -> ConsentOut:
    view = consent.revoke(container.uow, container.clock, customer_id=me.id, consent_id=consent_id)
    return ConsentOut.model_validate(view)


@router.get("/entries", summary="My carbon history, newest first")
def entries(
    me: CurrentCustomer,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    before: str | None = None,
) -> EntryPage:
    items, next_before = queries.history(
        container.uow, customer_id=me.id, limit=limit, before=before
    )
    return EntryPage(items=[EntryOut.model_validate(i) for i in items], next_before=next_before)


@router.get(
    "/entries/{entry_id}/explanation",
    summary="Why did I get this much? The arithmetic, the factors and their sources",
)
def explanation(entry_id: str, me: CurrentCustomer, container: ContainerDep) -> ExplanationOut:
    found = queries.explain(container.uow, customer_id=me.id, entry_id=entry_id)
    return ExplanationOut(
        entry=EntryOut.model_validate(found.entry),
        note=found.note,
        scenario_name=found.scenario_name,
        source=found.source,
        source_event_id=found.source_event_id,
        occurred_at=found.occurred_at,
        inputs=found.inputs,
        methodology_id=found.methodology_id,
        methodology_version=found.methodology_version,
        baseline=found.baseline,
        formula=found.formula,
        published_formula=found.published_formula,
        standard=found.standard,
        parameters=[_parameter(p) for p in found.parameters],
        provisional=found.provisional,
        related=[EntryOut.model_validate(r) for r in found.related],
    )


@router.put("/settings", summary="My settings (rank percentile opt-in)")
def settings(body: SettingsIn, me: CurrentCustomer, container: ContainerDep) -> SettingsIn:
    on = consent.set_rank_opt_in(
        container.uow, container.clock, customer_id=me.id, on=body.rank_opt_in
    )
    return SettingsIn(rank_opt_in=on)


@router.get("/rank", summary="My percentile among account holders (opt-in)")
def rank(me: CurrentCustomer, container: ContainerDep) -> RankOut:
    found = queries.rank(container.uow, customer_id=me.id)
    return RankOut(percentile=found.percentile, accounts=found.accounts)


@router.get("/statements/{month}", summary="My monthly low-carbon statement")
def statement(
    month: Annotated[str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2026-03"])],
    me: CurrentCustomer,
    container: ContainerDep,
) -> StatementOut:
    year, number = (int(part) for part in month.split("-"))
    found = queries.monthly_statement(container.uow, customer_id=me.id, year=year, month=number)
    return StatementOut(
        customer_id=found.customer_id,
        month=found.month,
        lines=[StatementLineOut.model_validate(line) for line in found.lines],
        total_mg=found.total_mg,
        total_g=grams(found.total_mg),
        points=found.points,
        provisional_mg=found.provisional_mg,
        trees=found.trees,
        tree_factor_source=found.tree_factor_source,
        level=_level(found.level_at_issue),
    )


def _card(request: Request, container: ContainerDep, customer_id: str) -> card.CardData:
    with container.uow() as uow:
        return card.card_for_customer(uow.session, customer_id, str(request.base_url))


@router.get("/card.png", summary="My green life card (PNG)", response_class=Response)
def card_png(request: Request, me: CurrentCustomer, container: ContainerDep) -> Response:
    png = card.render_png(_card(request, container, me.id))
    return Response(png, media_type="image/png")


@router.get("/card.svg", summary="My green life card (SVG)", response_class=Response)
def card_svg(request: Request, me: CurrentCustomer, container: ContainerDep) -> Response:
    svg = card.render_svg(_card(request, container, me.id))
    return Response(svg, media_type="image/svg+xml")


@router.get("/cards/{public_id}", summary="Verify a green life card (public, masked)")
def verify_card(public_id: str, request: Request, container: ContainerDep) -> CardOut:
    with container.uow() as uow:
        data = card.card_by_public_id(uow.session, public_id, str(request.base_url))
    return CardOut.model_validate(data)


def _parameter(p: Parameter) -> ParameterOut:
    return ParameterOut(
        name=p.name, value=str(p.value), unit=p.unit, status=p.status.value, source=p.source
    )
