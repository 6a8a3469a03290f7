"""Ingestion: the pure pipeline over one batch, with its context read from the database and its
outcome written back in the same transaction.

Order inside the transaction: lock the carbon-account rows of the batch's customers (sorted, so
two batches never deadlock; ``FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), then
read seen keys, consents and the cap counters the caps read, run ``run_pipeline``, bulk-insert
events, ledger entries and rejections, add the batch to the counters, write each account once,
and publish one ``carbon.credited`` per credited customer. Because the counters are read under
the lock, two concurrent batches for one customer cannot both spend the same cap.

Everything is set-based: each read is one query for the whole batch (the keys go as one
parameter, ``db.among``) and each write one executemany or statement, so a batch costs the same
dozen round trips whatever its size.

Idempotency: ``(source, source_event_id)`` is UNIQUE on ``carbon_events``. Sending an event again
returns ``duplicate`` carrying the first answer (``first``), and credits nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from greenbank.bus.outbox import Outgoing, publish_many
from greenbank.carbon.catalog import load_catalog
from greenbank.carbon.events import CarbonCredited
from greenbank.carbon.ingest_rows import (
    entry_row,
    event_key,
    event_row,
    fingerprint,
    rejection_row,
)
from greenbank.carbon.methodology import Methodology
from greenbank.carbon.models import (
    ACCEPTED,
    CONSENTS,
    COUNTERS,
    EVENTS,
    REJECTED,
)
from greenbank.carbon.pipeline import (
    ConsentInterval,
    ConsentKey,
    CounterKey,
    EventKey,
    PipelineContext,
    PipelineSettings,
    RawEvent,
    Reason,
    Rejected,
    Usage,
    Window,
    day_and_month,
    run_pipeline,
    windows_read,
)
from greenbank.carbon.points import level_for
from greenbank.carbon.store import (
    AccountTotals,
    insert_rows,
    lock_accounts,
    plan_for_actual_values,
    save_accounts,
    save_counters,
)
from greenbank.clock import Clock, business_date
from greenbank.db import UowFactory, among, run_with_retry
from greenbank.ids import new_id

BANK_SOURCE = "bank"  # the bank's own channels; partners use their partner id
# Refusals that consume the key: a retry must get the same answer. Malformed and unknown-scenario
# events do not, so the sender can correct and resend them.
CONSUMING = frozenset({Reason.LATE_EVENT, Reason.FUTURE_EVENT, Reason.UNCONSENTED, Reason.OVER_CAP})


@dataclass(frozen=True)
class FirstAnswer:
    """What the first ingestion of an event key decided (returned to a retry)."""

    event_id: str
    outcome: str
    reason: str | None
    credited_mg: int


@dataclass(frozen=True)
class IngestResult:
    """The answer for one event of a batch, in the batch's order."""

    index: int
    source: str | None
    source_event_id: str | None
    outcome: str  # accepted | rejected
    reason: str | None = None  # a pipeline Reason code when rejected
    detail: str | None = None
    event_id: str | None = None
    entry_id: str | None = None
    credited_mg: int = 0
    provisional: bool = False
    capped: bool = False
    first: FirstAnswer | None = None  # on a duplicate of an event ingested earlier


def ingest_events(
    uow_factory: UowFactory,
    clock: Clock,
    events: Sequence[RawEvent],
    *,
    settings: PipelineSettings | None = None,
) -> list[IngestResult]:
    """Ingest one batch in one transaction (retried on deadlock / lock timeout / key race)."""

    def attempt() -> list[IngestResult]:
        with uow_factory() as uow:
            results = ingest_in_session(uow.session, clock, events, settings=settings)
            uow.commit()
            return results

    try:
        return run_with_retry(attempt)
    except IntegrityError:
        # A concurrent batch stored one of our keys first (another customer's lock): run again,
        # and the key is now seen.
        return run_with_retry(attempt)


def ingest_in_session(
    session: Session,
    clock: Clock,
    events: Sequence[RawEvent],
    *,
    settings: PipelineSettings | None = None,
) -> list[IngestResult]:
    """The same, inside the caller's transaction (bus consumers); the caller commits."""
    now = clock.now()
    plan_for_actual_values(session)
    items = list(events)
    keys = [event_key(event) for event in items]
    accounts = lock_accounts(
        session, {e.customer_ref for e, k in zip(items, keys, strict=True) if k}
    )
    known = _known(session, [k for k in keys if k])
    results: dict[int, IngestResult] = {}
    rejection_rows: list[dict[str, Any]] = []
    fresh: list[RawEvent] = []
    keyed: list[RawEvent] = []  # fresh, well-formed enough to read context for, account open
    positions: dict[int, list[int]] = defaultdict(list)
    seen: set[EventKey] = set()
    for index, (event, key) in enumerate(zip(items, keys, strict=True)):
        first = known.get(key) if key else None
        if key and first is not None and first[0] == fingerprint(event):
            results[index] = replay = _replay(index, key, first[1])
            rejection_rows.append(rejection_row(event, Reason.DUPLICATE, replay.detail or "", now))
            continue
        if key and first is not None:
            seen.add(key)
        fresh.append(event)
        positions[id(event)].append(index)
        if key and event.customer_ref in accounts:
            keyed.append(event)
    catalog = load_catalog(session)
    context = PipelineContext(
        now=now,
        methodologies=catalog.methodologies,
        consents=_consents(session, keyed),
        counters=_counters(session, keyed, catalog.methodologies),
        seen_keys=frozenset(seen),
        settings=settings or PipelineSettings(),
    )
    outcome = run_pipeline(fresh, context)
    event_rows: list[dict[str, Any]] = []
    entry_rows: list[dict[str, Any]] = []
    credited: dict[str, int] = defaultdict(int)
    for accepted in outcome.accepted:
        event = accepted.event
        index = positions[id(event)].pop(0)
        event_id, entry_id = new_id(), new_id()
        points = accounts[event.customer_ref].add(accepted.credited_mg)
        credited[event.customer_ref] += accepted.credited_mg
        event_rows.append(event_row(event_id, event, now, accepted, None))
        row_id = catalog.row_ids[(event.scenario, accepted.computation.methodology_version)]
        entry_rows.append(entry_row(entry_id, event_id, row_id, accepted, points, now))
        results[index] = IngestResult(
            index=index,
            source=event.source,
            source_event_id=event.source_event_id,
            outcome=ACCEPTED,
            event_id=event_id,
            entry_id=entry_id,
            credited_mg=accepted.credited_mg,
            provisional=accepted.computation.provisional,
            capped=accepted.capped,
        )
    ordered = sorted(outcome.rejected, key=lambda r: r.reason is Reason.DUPLICATE)
    for rejected in ordered:
        index = positions[id(rejected.event)].pop(0)
        stored_id = None
        if rejected.reason in CONSUMING:
            stored_id = new_id()
            event_rows.append(event_row(stored_id, rejected.event, now, None, rejected))
        rejection_rows.append(rejection_row(rejected.event, rejected.reason, rejected.detail, now))
        key = keys[index]
        earlier = known.get(key) if key and rejected.reason is Reason.DUPLICATE else None
        results[index] = _rejected_result(
            index, rejected, stored_id, earlier[1] if earlier else None
        )
    insert_rows(session, event_rows, entry_rows, rejection_rows)
    save_counters(session, outcome.counters, context.counters)
    save_accounts(session, accounts, now)
    _announce(session, clock, credited, accounts)
    return [results[index] for index in range(len(items))]


def _announce(
    session: Session,
    clock: Clock,
    credited: Mapping[str, int],
    accounts: Mapping[str, AccountTotals],
) -> None:
    """One ``carbon.credited`` per customer the batch credited, published while the accounts are
    still locked (per-customer order on the bus), in one ``publish_many``."""
    now = clock.now()
    outgoing = []
    for customer in sorted(c for c, mg in credited.items() if mg > 0):
        lifetime = accounts[customer].lifetime_mg
        event = CarbonCredited(
            customer_id=customer,
            credited_mg=credited[customer],
            lifetime_mg=lifetime,
            level=level_for(max(0, lifetime)).level.code,
            occurred_at=now,
        )
        outgoing.append(Outgoing(event, "carbon_account", customer))
    publish_many(session, outgoing, clock=clock)


# -- reading the context ---------------------------------------------------------------------


def _known(session: Session, keys: Iterable[EventKey]) -> dict[EventKey, tuple[str, FirstAnswer]]:
    """The stored answer of each key seen before: one query per source (usually one a batch)."""
    by_source: dict[str, set[str]] = defaultdict(set)
    for source, source_event_id in keys:
        by_source[source].add(source_event_id)
    table = EVENTS
    known: dict[EventKey, tuple[str, FirstAnswer]] = {}
    for source, ids in by_source.items():
        query = select(
            table.c.source_event_id,
            table.c.fingerprint,
            table.c.id,
            table.c.status,
            table.c.reason,
            table.c.credited_mg,
        ).where(table.c.source == source, among(session, table.c.source_event_id, ids))
        for sid, fp, event_id, status, reason, credited in session.execute(query):
            known[(source, sid)] = (fp, FirstAnswer(event_id, status, reason, credited))
    return known


def _consents(
    session: Session, events: Sequence[RawEvent]
) -> dict[ConsentKey, list[ConsentInterval]]:
    """The consent intervals for the (customer, source, scenario) triples of ``events``."""
    consents: dict[ConsentKey, list[ConsentInterval]] = defaultdict(list)
    if not events:
        return consents
    wanted = {(e.customer_ref, e.source, e.scenario) for e in events}
    table = CONSENTS
    query = select(
        table.c.customer_id,
        table.c.source,
        table.c.scenario,
        table.c.granted_at,
        table.c.revoked_at,
    ).where(
        among(session, table.c.customer_id, {c for c, _, _ in wanted}),
        table.c.source.in_({s for _, s, _ in wanted}),
        table.c.scenario.in_({s for _, _, s in wanted}),
    )
    for customer, source, scenario, granted, revoked in session.execute(query):
        consents[(customer, source, scenario)].append(ConsentInterval(granted, revoked))
    return consents


def _counters(
    session: Session, events: Sequence[RawEvent], methodologies: Sequence[Methodology]
) -> dict[CounterKey, Usage]:
    """The stored counters the caps of ``events`` read (``windows_read``), for their customers,
    scenarios and days. The other counters are only bumped: ``save_counters`` adds to them."""
    in_batch = {event.scenario for event in events}
    scenarios: set[str] = set()
    read: set[Window] = set()
    for methodology in methodologies:
        if methodology.scenario in in_batch:
            scenarios.add(methodology.scenario)
            read |= windows_read(methodology.caps)
    if not read:
        return {}
    periods = {"lifetime"} if Window.LIFETIME in read else set()
    patterns = set()  # the months' per-input windows
    for day in {business_date(event.occurred_at) for event in events}:
        day_window, month_window = day_and_month(day)
        if Window.DAY in read:
            periods.add(day_window)
        if Window.MONTH in read:
            periods.add(month_window)
        if Window.MONTH_PER_INPUT in read:
            patterns.add(f"{month_window}:%")
    table = COUNTERS
    query = select(
        table.c.customer_id, table.c.scenario, table.c.period, table.c.events, table.c.co2e_mg
    ).where(
        among(session, table.c.customer_id, {event.customer_ref for event in events}),
        table.c.scenario.in_(scenarios),
        or_(table.c.period.in_(periods), *(table.c.period.like(p) for p in sorted(patterns))),
    )
    return {
        CounterKey(customer, scenario, period): Usage(count, mg)
        for customer, scenario, period, count, mg in session.execute(query)
    }


def _replay(index: int, key: EventKey, first: FirstAnswer) -> IngestResult:
    return IngestResult(
        index=index,
        source=key[0],
        source_event_id=key[1],
        outcome=REJECTED,
        reason=Reason.DUPLICATE.value,
        detail=f"{key[0]}/{key[1]} was ingested before ({first.outcome}); nothing new credited",
        event_id=first.event_id,
        first=first,
    )


def _rejected_result(
    index: int, rejected: Rejected, event_id: str | None, first: FirstAnswer | None
) -> IngestResult:
    key = event_key(rejected.event)
    return IngestResult(
        index=index,
        source=key[0] if key else None,
        source_event_id=key[1] if key else None,
        outcome=REJECTED,
        reason=rejected.reason.value,
        detail=rejected.detail,
        event_id=event_id or (first.event_id if first else None),
        first=first,
    )
