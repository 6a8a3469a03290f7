"""Ingestion: the pure pipeline over one batch, with its context read from the database and its
outcome written back in the same transaction.

Order inside the transaction: lock the carbon-account rows of the batch's customers (sorted, so
two batches never deadlock; ``FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), then
read seen keys, consents and cap counters, run ``run_pipeline``, bulk-insert events, ledger
entries and rejections, and publish one ``carbon.credited`` per credited customer. Because the
counters are read under the lock, two concurrent batches for one customer cannot both spend the
same cap.

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

from greenbank.bus import publish
from greenbank.carbon.catalog import load_catalog
from greenbank.carbon.events import CarbonCredited
from greenbank.carbon.ingest_rows import (
    entry_row,
    event_key,
    event_row,
    fingerprint,
    rejection_row,
)
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
    run_pipeline,
)
from greenbank.carbon.points import level_for
from greenbank.carbon.store import (
    AccountTotals,
    chunks,
    insert_rows,
    lock_accounts,
    save_accounts,
    save_counters,
)
from greenbank.clock import Clock, business_date
from greenbank.db import UowFactory, run_with_retry
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
    items = list(events)
    keys = [event_key(event) for event in items]
    customers = sorted({e.customer_ref for e, k in zip(items, keys, strict=True) if k})
    accounts = lock_accounts(session, customers)
    known = _known(session, [k for k in keys if k])
    results: dict[int, IngestResult] = {}
    rejection_rows: list[dict[str, Any]] = []
    fresh: list[RawEvent] = []
    positions: dict[int, list[int]] = defaultdict(list)
    seen: set[EventKey] = set()
    for index, (event, key) in enumerate(zip(items, keys, strict=True)):
        first = known.get(key) if key else None
        if key and first is not None and first[0] == fingerprint(event):
            results[index] = _replay(index, key, first[1])
            rejection_rows.append(
                rejection_row(event, Reason.DUPLICATE, results[index].detail or "", now)
            )
            continue
        if key and first is not None:
            seen.add(key)
        fresh.append(event)
        positions[id(event)].append(index)
    catalog = load_catalog(session)
    context = PipelineContext(
        now=now,
        methodologies=catalog.methodologies,
        consents=_consents(session, fresh, accounts),
        counters=_counters(session, fresh, accounts),
        seen_keys=frozenset(seen),
        settings=settings or PipelineSettings(),
    )
    outcome = run_pipeline(fresh, context)
    event_rows: list[dict[str, Any]] = []
    entry_rows: list[dict[str, Any]] = []
    credited: dict[str, int] = defaultdict(int)
    for accepted in outcome.accepted:
        index = positions[id(accepted.event)].pop(0)
        event_id, entry_id = new_id(), new_id()
        points = accounts[accepted.event.customer_ref].add(accepted.credited_mg)
        credited[accepted.event.customer_ref] += accepted.credited_mg
        event_rows.append(event_row(event_id, accepted.event, now, accepted, None))
        row_id = catalog.row_ids[
            (accepted.event.scenario, accepted.computation.methodology_version)
        ]
        entry_rows.append(entry_row(entry_id, event_id, row_id, accepted, points, now))
        results[index] = IngestResult(
            index=index,
            source=accepted.event.source,
            source_event_id=accepted.event.source_event_id,
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
        key = event_key(rejected.event)
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
    still locked (per-customer order on the bus)."""
    now = clock.now()
    for customer in sorted(c for c, mg in credited.items() if mg > 0):
        lifetime = accounts[customer].lifetime_mg
        event = CarbonCredited(
            customer_id=customer,
            credited_mg=credited[customer],
            lifetime_mg=lifetime,
            level=level_for(max(0, lifetime)).level.code,
            occurred_at=now,
        )
        publish(session, event, aggregate_type="carbon_account", aggregate_id=customer, clock=clock)


# -- reading the context ---------------------------------------------------------------------


def _known(session: Session, keys: Iterable[EventKey]) -> dict[EventKey, tuple[str, FirstAnswer]]:
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, source_event_id in set(keys):
        by_source[source].append(source_event_id)
    table = EVENTS
    known: dict[EventKey, tuple[str, FirstAnswer]] = {}
    for source, ids in by_source.items():
        for part in chunks(ids):
            query = select(
                table.c.source_event_id,
                table.c.fingerprint,
                table.c.id,
                table.c.status,
                table.c.reason,
                table.c.credited_mg,
            ).where(table.c.source == source, table.c.source_event_id.in_(part))
            for sid, fp, event_id, status, reason, credited in session.execute(query):
                known[(source, sid)] = (fp, FirstAnswer(event_id, status, reason, credited))
    return known


def _consents(
    session: Session, events: Sequence[RawEvent], accounts: Mapping[str, AccountTotals]
) -> dict[ConsentKey, list[ConsentInterval]]:
    """The consent intervals for the (customer, source, scenario) triples of the batch."""
    wanted = {
        (e.customer_ref, e.source, e.scenario)
        for e in events
        if event_key(e) is not None and e.customer_ref in accounts
    }
    customers = sorted({c for c, _, _ in wanted})
    sources, scenarios = {s for _, s, _ in wanted}, {s for _, _, s in wanted}
    consents: dict[ConsentKey, list[ConsentInterval]] = defaultdict(list)
    table = CONSENTS
    for part in chunks(customers):
        query = select(
            table.c.customer_id,
            table.c.source,
            table.c.scenario,
            table.c.granted_at,
            table.c.revoked_at,
        ).where(
            table.c.customer_id.in_(part),
            table.c.source.in_(sources),
            table.c.scenario.in_(scenarios),
        )
        for customer, source, scenario, granted, revoked in session.execute(query):
            consents[(customer, source, scenario)].append(ConsentInterval(granted, revoked))
    return consents


def _counters(
    session: Session, events: Sequence[RawEvent], accounts: Mapping[str, AccountTotals]
) -> dict[CounterKey, Usage]:
    """The counters the batch may read: its customers' day, month and lifetime windows."""
    customers: set[str] = set()
    periods = {"lifetime"}
    months: set[str] = set()
    for event in events:
        if event_key(event) is None or event.customer_ref not in accounts:
            continue
        customers.add(event.customer_ref)
        day = business_date(event.occurred_at)
        periods.add(f"day:{day.isoformat()}")
        months.add(f"month:{day:%Y-%m}")
    if not customers:
        return {}
    table = COUNTERS
    found: dict[CounterKey, Usage] = {}
    for part in chunks(sorted(customers)):
        query = select(
            table.c.customer_id, table.c.scenario, table.c.period, table.c.events, table.c.co2e_mg
        ).where(table.c.customer_id.in_(part))
        query = query.where(
            or_(
                table.c.period.in_(sorted(periods | months)),
                *(table.c.period.like(f"{month}:%") for month in sorted(months)),
            )
        )
        for customer, scenario, period, count, mg in session.execute(query):
            found[CounterKey(customer, scenario, period)] = Usage(count, mg)
    return found


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
