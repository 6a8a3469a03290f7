"""Ingestion: the pure pipeline over one batch, with its context read from the database and its
outcome written back in the same transaction.

Order inside the transaction: lock the carbon-account rows of the batch's customers (sorted, so
two batches never deadlock; ``FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), then
read seen keys, consents and cap counters, run ``run_pipeline``, and bulk-insert events, ledger
entries and rejections. Because the counters are read under the lock, two concurrent batches for
one customer cannot both spend the same cap.

Idempotency: ``(source, source_event_id)`` is UNIQUE on ``carbon_events``. Sending an event again
returns ``duplicate`` carrying the first answer (``first``), and credits nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from greenbank.carbon.catalog import load_catalog
from greenbank.carbon.domain import MG_PER_G
from greenbank.carbon.expr import plain
from greenbank.carbon.models import (
    ACCEPTED,
    ACCOUNTS,
    CONSENTS,
    COUNTERS,
    CREDIT,
    ENTRIES,
    EVENTS,
    REJECTED,
    REJECTIONS,
)
from greenbank.carbon.pipeline import (
    MAX_ID_CHARS,
    Accepted,
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
from greenbank.carbon.points import DEFAULT_MG_PER_POINT, award_points, level_for
from greenbank.clock import Clock, business_date
from greenbank.db import UowFactory, run_with_retry
from greenbank.ids import new_id

MG_PER_POINT = DEFAULT_MG_PER_POINT
BANK_SOURCE = "bank"  # the bank's own channels; partners use their partner id
# Refusals that consume the key: a retry must get the same answer. Malformed and unknown-scenario
# events do not, so the sender can correct and resend them.
CONSUMING = frozenset({Reason.LATE_EVENT, Reason.FUTURE_EVENT, Reason.UNCONSENTED, Reason.OVER_CAP})
_CHUNK = 500
T = TypeVar("T")


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


@dataclass
class _Account:
    lifetime_mg: int
    carried_mg: int
    points_earned: int
    points_balance: int
    changed: bool = False


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
    keys = [_key(event) for event in items]
    customers = sorted({e.customer_ref for e, k in zip(items, keys, strict=True) if k})
    accounts = _lock_accounts(session, customers)
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
                _rejection_row(event, Reason.DUPLICATE, results[index].detail or "", now)
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
        consents=_consents(session, [c for c in customers if c in accounts]),
        counters=_counters(session, fresh, accounts),
        seen_keys=frozenset(seen),
        settings=settings or PipelineSettings(),
    )
    outcome = run_pipeline(fresh, context)
    event_rows: list[dict[str, Any]] = []
    entry_rows: list[dict[str, Any]] = []
    for accepted in outcome.accepted:
        index = positions[id(accepted.event)].pop(0)
        event_id, entry_id = new_id(), new_id()
        account = accounts[accepted.event.customer_ref]
        points, account.carried_mg = award_points(
            account.carried_mg, accepted.credited_mg, MG_PER_POINT
        )
        account.lifetime_mg += accepted.credited_mg
        account.points_earned += points
        account.points_balance += points
        account.changed = True
        event_rows.append(_event_row(event_id, accepted.event, now, accepted, None))
        row_id = catalog.row_ids[
            (accepted.event.scenario, accepted.computation.methodology_version)
        ]
        entry_rows.append(_entry_row(entry_id, event_id, row_id, accepted, points, now))
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
            event_rows.append(_event_row(stored_id, rejected.event, now, None, rejected))
        rejection_rows.append(_rejection_row(rejected.event, rejected.reason, rejected.detail, now))
        key = _key(rejected.event)
        earlier = known.get(key) if key and rejected.reason is Reason.DUPLICATE else None
        results[index] = _rejected_result(
            index, rejected, stored_id, earlier[1] if earlier else None
        )
    _write(session, event_rows, entry_rows, rejection_rows)
    _save_counters(session, outcome.counters, context.counters)
    _save_accounts(session, accounts, now)
    return [results[index] for index in range(len(items))]


def fingerprint(event: RawEvent) -> str:
    """What must match for a resent key to count as the same event."""
    body = json.dumps(
        [event.customer_ref, event.scenario, event.occurred_at.isoformat(), json_inputs(event)],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def json_inputs(event: RawEvent) -> dict[str, Any]:
    inputs = event.inputs if isinstance(event.inputs, Mapping) else {}
    return {
        str(k): v if isinstance(v, str | int | bool | None) else str(v) for k, v in inputs.items()
    }


def chunks(values: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# -- reading the context ---------------------------------------------------------------------


def _key(event: object) -> EventKey | None:
    """The event's key when it is well-formed enough to have one (else ``validate`` refuses it)."""
    if not isinstance(event, RawEvent):
        return None
    fields = (event.source, event.source_event_id, event.customer_ref, event.scenario)
    if not all(isinstance(f, str) and 0 < len(f) <= MAX_ID_CHARS for f in fields):
        return None
    if not isinstance(event.occurred_at, datetime) or event.occurred_at.utcoffset() is None:
        return None
    return event.key


def _lock_accounts(session: Session, customers: Sequence[str]) -> dict[str, _Account]:
    accounts: dict[str, _Account] = {}
    table = ACCOUNTS
    for part in chunks(customers):
        query = (
            select(
                table.c.customer_id,
                table.c.lifetime_mg,
                table.c.carried_mg,
                table.c.points_earned,
                table.c.points_balance,
            )
            .where(table.c.customer_id.in_(part))
            .order_by(table.c.customer_id)
            .with_for_update()
        )
        for row in session.execute(query):
            accounts[row[0]] = _Account(*row[1:])
    return accounts


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
    session: Session, customers: Sequence[str]
) -> dict[ConsentKey, list[ConsentInterval]]:
    consents: dict[ConsentKey, list[ConsentInterval]] = defaultdict(list)
    table = CONSENTS
    for part in chunks(customers):
        query = select(
            table.c.customer_id,
            table.c.source,
            table.c.scenario,
            table.c.granted_at,
            table.c.revoked_at,
        ).where(table.c.customer_id.in_(part))
        for customer, source, scenario, granted, revoked in session.execute(query):
            consents[(customer, source, scenario)].append(ConsentInterval(granted, revoked))
    return consents


def _counters(
    session: Session, events: Sequence[RawEvent], accounts: Mapping[str, _Account]
) -> dict[CounterKey, Usage]:
    """The counters the batch may read: its customers' day, month and lifetime windows."""
    customers: set[str] = set()
    periods = {"lifetime"}
    months: set[str] = set()
    for event in events:
        if _key(event) is None or event.customer_ref not in accounts:
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


# -- writing the outcome ---------------------------------------------------------------------


def _event_row(
    event_id: str,
    event: RawEvent,
    now: datetime,
    accepted: Accepted | None,
    rejected: Rejected | None,
) -> dict[str, Any]:
    inputs = (
        {k: v if isinstance(v, str) else plain(v) for k, v in accepted.computation.inputs.items()}
        if accepted is not None
        else json_inputs(event)
    )
    return {
        "id": event_id,
        "source": event.source,
        "source_event_id": event.source_event_id,
        "customer_id": event.customer_ref,
        "scenario": event.scenario,
        "occurred_at": event.occurred_at,
        "received_at": event.received_at or now,
        "status": ACCEPTED if accepted is not None else REJECTED,
        "reason": rejected.reason.value if rejected is not None else None,
        "detail": rejected.detail[:500] if rejected is not None else None,
        "inputs": inputs,
        "fingerprint": fingerprint(event),
        "credited_mg": accepted.credited_mg if accepted is not None else 0,
    }


def _entry_row(
    entry_id: str, event_id: str, methodology_id: str, a: Accepted, points: int, now: datetime
) -> dict[str, Any]:
    computation = a.computation
    explanation = computation.explanation
    if a.capped:
        explanation += f"; credited {plain(_grams(a.credited_mg))} g (daily cap reached)"
    return {
        "id": entry_id,
        "customer_id": a.event.customer_ref,
        "scenario": a.event.scenario,
        "kind": CREDIT,
        "event_id": event_id,
        "methodology_id": methodology_id,
        "methodology_version": computation.methodology_version,
        "co2e_mg": a.credited_mg,
        "computed_mg": computation.co2e_mg,
        "capped": a.capped,
        "provisional": computation.provisional,
        "parameters": {p.name: plain(p.value) for p in computation.parameters},
        "explanation": explanation[:1000],
        "business_date": a.business_date,
        "points": points,
        "created_at": now,
        "run_id": None,
    }


def _grams(mg: int) -> Decimal:
    return Decimal(mg) / MG_PER_G


def _rejection_row(event: object, reason: Reason, detail: str, now: datetime) -> dict[str, Any]:
    fields = {
        name: value if isinstance(value, str) and len(value) <= MAX_ID_CHARS else None
        for name in ("source", "source_event_id", "customer_ref", "scenario")
        for value in [getattr(event, name, None)]
    }
    payload: dict[str, Any] = {"type": type(event).__name__}
    if isinstance(event, RawEvent):
        payload["occurred_at"] = str(event.occurred_at)
        payload["inputs"] = json_inputs(event) if isinstance(event.inputs, Mapping) else None
    return {
        "id": new_id(),
        "received_at": now,
        "source": fields["source"],
        "source_event_id": fields["source_event_id"],
        "customer_id": fields["customer_ref"],
        "scenario": fields["scenario"],
        "reason": reason.value,
        "detail": detail[:500],
        "payload": payload,
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
    key = _key(rejected.event)
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


def _write(
    session: Session,
    events: list[dict[str, Any]],
    entries: list[dict[str, Any]],
    rejections: list[dict[str, Any]],
) -> None:
    """Core executemany inserts: the hot path creates no ORM objects."""
    for table, rows in (
        (EVENTS, events),
        (ENTRIES, entries),
        (REJECTIONS, rejections),
    ):
        if rows:
            session.execute(insert(table), rows)


def _save_counters(
    session: Session, changed: Mapping[CounterKey, Usage], before: Mapping[CounterKey, Usage]
) -> None:
    table = COUNTERS
    updates: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    for key, usage in changed.items():
        row = {
            "b_customer": key.customer_ref,
            "b_scenario": key.scenario,
            "b_period": key.window,
            "b_events": usage.events,
            "b_mg": usage.co2e_mg,
        }
        (updates if key in before else inserts).append(row)
    if updates:
        session.execute(
            update(table)
            .where(
                table.c.customer_id == bindparam("b_customer"),
                table.c.scenario == bindparam("b_scenario"),
                table.c.period == bindparam("b_period"),
            )
            .values(events=bindparam("b_events"), co2e_mg=bindparam("b_mg")),
            updates,
            execution_options={"synchronize_session": False},
        )
    if inserts:
        session.execute(
            insert(table),
            [
                {
                    "customer_id": r["b_customer"],
                    "scenario": r["b_scenario"],
                    "period": r["b_period"],
                    "events": r["b_events"],
                    "co2e_mg": r["b_mg"],
                }
                for r in inserts
            ],
        )


def _save_accounts(session: Session, accounts: Mapping[str, _Account], now: datetime) -> None:
    rows = [
        {
            "b_customer": customer,
            "b_lifetime": account.lifetime_mg,
            "b_carried": account.carried_mg,
            "b_earned": account.points_earned,
            "b_balance": account.points_balance,
            "b_level": level_for(account.lifetime_mg).level.code,
            "b_now": now,
        }
        for customer, account in accounts.items()
        if account.changed
    ]
    if not rows:
        return
    table = ACCOUNTS
    session.execute(
        update(table)
        .where(table.c.customer_id == bindparam("b_customer"))
        .values(
            lifetime_mg=bindparam("b_lifetime"),
            carried_mg=bindparam("b_carried"),
            points_earned=bindparam("b_earned"),
            points_balance=bindparam("b_balance"),
            level=bindparam("b_level"),
            updated_at=bindparam("b_now"),
        ),
        rows,
        execution_options={"synchronize_session": False},
    )
