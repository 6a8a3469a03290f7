"""Re-computing credited history under a newly published version, in resumable batches.

A run works through the customers with credits in the scenario on or after the version's
``effective_from``, a batch of customers per transaction (so each customer's days are complete
for the grams-per-day cap). For each batch ``plan_recomputation`` gives the adjustments; they are
posted as ``adjustment`` entries (history is never edited), the accounts and cap counters take
the deltas, and the per-customer change report and the cursor are stored in the same
transaction. Re-running continues after the last finished batch; a finished run is a no-op.

Points: a positive adjustment earns points like a credit; a negative one lowers the reduction
totals but takes back no points already granted (they may have been spent).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from greenbank.audit.service import record
from greenbank.carbon.catalog import parsed
from greenbank.carbon.domain import MG_PER_G, Computation
from greenbank.carbon.errors import MethodologyNotFound, RecomputeNotNeeded
from greenbank.carbon.methodology import Methodology
from greenbank.carbon.models import (
    CREDIT,
    ENTRIES,
    EVENTS,
    PUBLISHED,
    MethodologyRow,
    RecomputeChange,
    RecomputeRun,
)
from greenbank.carbon.pipeline import EventKey
from greenbank.carbon.recompute import (
    CreditedRecord,
    CustomerChange,
    plan_recomputation,
)
from greenbank.carbon.recompute_postings import post_adjustments
from greenbank.carbon.store import chunks, lock_accounts, save_accounts
from greenbank.clock import Clock
from greenbank.db import UowFactory, run_with_retry
from greenbank.ids import new_id

RUNNING, DONE = "running", "done"


@dataclass(frozen=True)
class RunView:
    id: str
    scenario: str
    version: int
    status: str
    customers_done: int
    events_seen: int
    adjusted: int
    failures: int
    delta_mg: int
    total_events: int  # credits in range when the view was taken (for progress)


def run(
    uow_factory: UowFactory,
    clock: Clock,
    *,
    scenario: str,
    version: int,
    actor: str,
    batch_customers: int = 200,
    max_batches: int | None = None,
    on_batch: Callable[[RunView], None] | None = None,
) -> RunView:
    """Run (or resume) the re-computation for ``scenario`` v``version``; returns its progress."""
    run_id, methodology, total = _start(uow_factory, clock, scenario, version, actor)
    batches = 0
    while max_batches is None or batches < max_batches:
        current = run_with_retry(
            lambda: _batch(uow_factory, clock, run_id, methodology, batch_customers, total)
        )
        batches += 1
        if on_batch is not None:
            on_batch(current)
        if current.status == DONE:
            return current
    return progress(uow_factory, run_id)


def progress(uow_factory: UowFactory, run_id: str) -> RunView:
    with uow_factory() as uow:
        row = uow.session.get(RecomputeRun, run_id)
        if row is None:
            raise MethodologyNotFound("no such re-computation run")
        return _view(row, _credits(uow.session, row.scenario, _effective(uow.session, row)))


def change_report(uow_factory: UowFactory, run_id: str) -> list[CustomerChange]:
    """The stored per-customer report of a run: events changed, old and new totals."""
    with uow_factory() as uow:
        rows = uow.session.scalars(
            select(RecomputeChange)
            .where(RecomputeChange.run_id == run_id)
            .order_by(RecomputeChange.customer_id)
        )
        return [CustomerChange(r.customer_id, r.events, r.old_mg, r.new_mg) for r in rows]


def _start(
    uow_factory: UowFactory, clock: Clock, scenario: str, version: int, actor: str
) -> tuple[str, Methodology, int]:
    with uow_factory() as uow:
        session = uow.session
        row = session.scalar(
            select(MethodologyRow).where(
                MethodologyRow.scenario == scenario, MethodologyRow.version == version
            )
        )
        if row is None or row.status != PUBLISHED:
            raise RecomputeNotNeeded(f"{scenario} v{version} is not a published version")
        methodology = parsed(row.id, row.definition)
        existing = session.scalar(select(RecomputeRun).where(RecomputeRun.methodology_id == row.id))
        now = clock.now()
        if existing is None:
            existing = RecomputeRun(
                id=new_id(),
                methodology_id=row.id,
                scenario=scenario,
                version=version,
                status=RUNNING,
                started_by=actor,
                started_at=now,
                updated_at=now,
            )
            session.add(existing)
            record(
                session,
                clock,
                actor=actor,
                action="carbon.recompute.start",
                subject=existing.id,
                scenario=scenario,
                version=version,
            )
        total = _credits(session, scenario, methodology.effective_from)
        run_id = existing.id
        uow.commit()
        return run_id, methodology, total


def _batch(
    uow_factory: UowFactory,
    clock: Clock,
    run_id: str,
    methodology: Methodology,
    size: int,
    total: int,
) -> RunView:
    with uow_factory() as uow:
        session = uow.session
        run_row = session.scalar(
            select(RecomputeRun).where(RecomputeRun.id == run_id).with_for_update()
        )
        assert run_row is not None
        if run_row.status == DONE:
            return _view(run_row, total)
        effective = methodology.effective_from
        query = (
            select(ENTRIES.c.customer_id)
            .where(
                ENTRIES.c.scenario == methodology.scenario,
                ENTRIES.c.business_date >= effective,
            )
            .distinct()
            .order_by(ENTRIES.c.customer_id)
            .limit(size)
        )
        if run_row.cursor is not None:
            query = query.where(ENTRIES.c.customer_id > run_row.cursor)
        customers = list(session.scalars(query))
        now = clock.now()
        run_row.updated_at = now
        if not customers:
            run_row.status, run_row.finished_at = DONE, now
            record(
                session,
                clock,
                actor=run_row.started_by,
                action="carbon.recompute.done",
                subject=run_id,
                adjusted=run_row.adjusted,
                delta_mg=run_row.delta_mg,
            )
            uow.commit()
            return _view(run_row, total)
        accounts = lock_accounts(session, customers)
        records, stored = _records(session, methodology.scenario, effective, customers)
        plan = plan_recomputation(records, methodology)
        changed = [a for a in plan.adjustments if a.delta_mg != 0]
        post_adjustments(session, changed, stored, accounts, methodology, run_id, now)
        save_accounts(session, accounts, now)
        report = [
            {
                "run_id": run_id,
                "customer_id": c.customer_ref,
                "events": c.events,
                "old_mg": c.old_mg,
                "new_mg": c.new_mg,
            }
            for c in plan.report
            if c.delta_mg != 0
        ]
        if report:
            session.execute(insert(RecomputeChange), report)
        run_row.cursor = customers[-1]
        run_row.customers_done += len(customers)
        run_row.events_seen += len(records)
        run_row.adjusted += len(changed)
        run_row.failures += len(plan.failures)
        run_row.delta_mg += plan.delta_mg
        view = _view(run_row, total)
        uow.commit()
        return view


def _records(
    session: Session, scenario: str, effective: date, customers: list[str]
) -> tuple[list[CreditedRecord], dict[EventKey, tuple[str, date]]]:
    """Every credited event of these customers in range, with its credit after adjustments,
    and the stored id of each event."""
    credited: dict[str, int] = defaultdict(int)
    versions: dict[str, int] = {}
    days: dict[str, date] = {}
    for part in chunks(customers):
        rows = session.execute(
            select(
                ENTRIES.c.event_id,
                ENTRIES.c.co2e_mg,
                ENTRIES.c.methodology_version,
                ENTRIES.c.business_date,
            ).where(
                ENTRIES.c.scenario == scenario,
                ENTRIES.c.customer_id.in_(part),
                ENTRIES.c.business_date >= effective,
            )
        )
        for event_id, mg, version, day in rows:
            credited[event_id] += mg
            versions[event_id] = max(version, versions.get(event_id, 0))
            days[event_id] = day
    records = []
    stored: dict[EventKey, tuple[str, date]] = {}
    for part in chunks(list(credited)):
        found = session.execute(
            select(
                EVENTS.c.id,
                EVENTS.c.source,
                EVENTS.c.source_event_id,
                EVENTS.c.customer_id,
                EVENTS.c.occurred_at,
                EVENTS.c.inputs,
            ).where(EVENTS.c.id.in_(part))
        )
        for event_id, source, source_event_id, customer, occurred_at, inputs in found:
            mg = credited[event_id]
            computation = Computation(
                scenario=scenario,
                methodology_version=versions[event_id],
                inputs=inputs,
                co2e_mg=mg,
                exact_g=Decimal(mg) / MG_PER_G,
                parameters=(),
                provisional=False,
                used_fallback=False,
                explanation="",
            )
            key = (source, source_event_id)
            stored[key] = (event_id, days[event_id])
            records.append(
                CreditedRecord(key, customer, occurred_at, days[event_id], computation, mg)
            )
    return records, stored


def _credits(session: Session, scenario: str, effective: date) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(ENTRIES)
            .where(
                ENTRIES.c.scenario == scenario,
                ENTRIES.c.business_date >= effective,
                ENTRIES.c.kind == CREDIT,
            )
        )
        or 0
    )


def _effective(session: Session, row: RecomputeRun) -> date:
    effective = session.scalar(
        select(MethodologyRow.effective_from).where(MethodologyRow.id == row.methodology_id)
    )
    assert effective is not None
    return effective


def _view(row: RecomputeRun, total: int) -> RunView:
    return RunView(
        id=row.id,
        scenario=row.scenario,
        version=row.version,
        status=row.status,
        customers_done=row.customers_done,
        events_seen=row.events_seen,
        adjusted=row.adjusted,
        failures=row.failures,
        delta_mg=row.delta_mg,
        total_events=total,
    )
