"""Partners report behaviour events; the carbon pipeline decides what they are worth.

One request is one transaction: resolve each customer token to its authorisation, hand the
events to ``carbon.ingest.ingest_in_session`` as ``RawEvent``s with source = partner id, record
what became of each (first answer wins), queue webhooks, store the idempotent answer.

A scenario outside the partner's profile refuses the whole request (``scenario_not_allowed``).
Token problems refuse a single event (``customer_token_unknown``, ``token_wrong_partner``,
``authorisation_revoked``, ``scenario_not_authorised``): as a problem+json for ``POST /events``,
as that item's result in a batch. The carbon pipeline's reasons (``duplicate``, ``unconsented``,
``over_cap``, ``late_event``, ``future_event``, ``malformed``, ``no_methodology``) come back per
item as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.bootstrap import Container
from greenbank.carbon.ingest import CONSUMING, IngestResult, ingest_in_session
from greenbank.carbon.pipeline import RawEvent, Reason
from greenbank.carbon.queries import summary
from greenbank.clock import Clock
from greenbank.errors import GreenbankError
from greenbank.partners import domain
from greenbank.partners.authorisations import token_hash
from greenbank.partners.errors import (
    AuthorisationRevoked,
    CustomerTokenUnknown,
    EventNotFound,
    ScenarioNotAuthorised,
    TokenWrongPartner,
)
from greenbank.partners.gateway import Caller, reader
from greenbank.partners.models import ACTIVE, Authorisation, Report
from greenbank.partners.schemas import (
    BatchOut,
    CarbonTotalOut,
    EventIn,
    EventStatus,
    ItemResult,
    ScenarioTotalOut,
)
from greenbank.partners.webhooks import notify

ACCEPTED, REJECTED = "accepted", "rejected"


def _grant_for(grant: Authorisation | None, caller: Caller, scenario: str | None) -> Authorisation:
    """The authorisation behind a token, or the refusal that applies."""
    if grant is None:
        raise CustomerTokenUnknown()
    if grant.partner_id != caller.partner_id:
        raise TokenWrongPartner()
    if grant.status != ACTIVE:
        raise AuthorisationRevoked()
    if scenario is not None and scenario not in grant.scenarios:
        raise ScenarioNotAuthorised(f"the customer authorised {', '.join(grant.scenarios)}")
    return grant


def _grants(session: Session, tokens: Sequence[str]) -> dict[str, Authorisation]:
    hashes = {token_hash(token): token for token in set(tokens)}
    rows = session.scalars(select(Authorisation).where(Authorisation.token_hash.in_(list(hashes))))
    return {hashes[row.token_hash]: row for row in rows if row.token_hash is not None}


@dataclass
class _Pending:
    index: int
    item: EventIn
    grant: Authorisation


def report(
    session: Session, clock: Clock, caller: Caller, events: Sequence[EventIn], *, single: bool
) -> list[ItemResult]:
    """Report events inside the caller's transaction; returns one result per event, in order."""
    domain.check_batch_size(len(events))
    domain.check_scenarios({e.scenario for e in events}, caller.scenarios)
    grants = _grants(session, [e.customer_token for e in events])
    results: dict[int, ItemResult] = {}
    pending: list[_Pending] = []
    for index, item in enumerate(events):
        try:
            grant = _grant_for(grants.get(item.customer_token), caller, item.scenario)
        except GreenbankError as err:
            if single:
                raise
            results[index] = ItemResult(
                index=index,
                event_id=item.event_id,
                status=REJECTED,
                reason=err.code,
                detail=err.detail,
            )
            continue
        pending.append(_Pending(index, item, grant))
    now = clock.now()
    raw = [
        RawEvent(
            source=caller.partner_id,
            source_event_id=p.item.event_id,
            customer_ref=p.grant.customer_id,
            scenario=p.item.scenario,
            occurred_at=p.item.occurred_at,
            inputs=dict(p.item.inputs),
            received_at=now,
        )
        for p in pending
    ]
    ingested = ingest_in_session(session, clock, raw) if raw else []
    credited: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    for p, outcome in zip(pending, ingested, strict=True):
        result = _result(p, outcome)
        results[p.index] = result
        if outcome.reason == Reason.DUPLICATE.value or not _consumed(outcome):
            continue
        session.add(
            Report(
                partner_id=caller.partner_id,
                event_id=p.item.event_id,
                authorisation_id=p.grant.id,
                scenario=p.item.scenario,
                status=result.status,
                reason=result.reason,
                detail=(result.detail or None) and (result.detail or "")[:500],
                credited_mg=result.credited_mg,
                carbon_event_id=result.carbon_event_id,
                received_at=now,
            )
        )
        payload = result.model_dump(exclude={"index"})
        (credited if result.status == ACCEPTED else refused).append(payload)
    notify(
        session, clock, partner_id=caller.partner_id, event_type="event.credited", payloads=credited
    )
    notify(
        session, clock, partner_id=caller.partner_id, event_type="event.rejected", payloads=refused
    )
    return [results[index] for index in range(len(events))]


def _consumed(outcome: IngestResult) -> bool:
    return outcome.outcome == ACCEPTED or outcome.reason in {r.value for r in CONSUMING}


def _result(p: _Pending, outcome: IngestResult) -> ItemResult:
    return ItemResult(
        index=p.index,
        event_id=p.item.event_id,
        status=ACCEPTED if outcome.outcome == ACCEPTED else REJECTED,
        reason=outcome.reason,
        detail=outcome.detail,
        credited_mg=outcome.credited_mg,
        provisional=outcome.provisional,
        carbon_event_id=outcome.event_id,
        authorisation_id=p.grant.id,
    )


def summarise(results: Sequence[ItemResult]) -> BatchOut:
    accepted = sum(1 for r in results if r.status == ACCEPTED)
    return BatchOut(accepted=accepted, rejected=len(results) - accepted, results=list(results))


def event_status(container: Container, caller: Caller, event_id: str) -> EventStatus:
    with reader(container) as session:
        row = session.get(Report, (caller.partner_id, event_id))
        if row is None:
            raise EventNotFound(f"no event {event_id!r} from {caller.partner_id}")
        return EventStatus(
            event_id=row.event_id,
            authorisation_id=row.authorisation_id,
            scenario=row.scenario,
            status=row.status,
            reason=row.reason,
            detail=row.detail,
            credited_mg=row.credited_mg,
            carbon_event_id=row.carbon_event_id,
            received_at=row.received_at,
        )


def carbon_total(container: Container, caller: Caller, customer_token: str) -> CarbonTotalOut:
    """The customer's carbon totals, and per scenario only those the customer authorised."""
    with reader(container) as session:
        grant = _grant_for(_grants(session, [customer_token]).get(customer_token), caller, None)
        grant_id, customer_id, scenarios = grant.id, grant.customer_id, set(grant.scenarios)
    totals = summary(container.uow, container.clock, customer_id=customer_id)
    return CarbonTotalOut(
        authorisation_id=grant_id,
        lifetime_mg=totals.lifetime_mg,
        month_mg=totals.month_mg,
        today_mg=totals.today_mg,
        level=totals.level.level.code,
        scenarios=[
            ScenarioTotalOut(
                scenario=s.scenario,
                today_mg=s.today_mg,
                month_mg=s.month_mg,
                lifetime_mg=s.lifetime_mg,
            )
            for s in totals.scenarios
            if s.scenario in scenarios
        ],
    )
