"""Re-computation of credited history under a new methodology version (the pure part).

Credits are never edited: a re-computation yields adjustments (new minus old credited mg) that the
service posts as correcting entries, plus a per-customer change report for the audit trail.
The new version's grams-per-day cap is re-applied to each customer's day in event order; count
caps are not, because the events were already accepted. Pass every credited record of the
affected days so that the daily room is right.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from greenbank.carbon.domain import Computation, compute
from greenbank.carbon.methodology import MalformedInputs, Methodology
from greenbank.carbon.pipeline import EventKey


@dataclass(frozen=True)
class CreditedRecord:
    """What the carbon ledger holds for one accepted event."""

    event_key: EventKey
    customer_ref: str
    occurred_at: datetime
    business_date: date
    computation: Computation
    credited_mg: int


@dataclass(frozen=True)
class Adjustment:
    event_key: EventKey
    customer_ref: str
    scenario: str
    old_version: int
    new_version: int
    old_credited_mg: int
    new_credited_mg: int
    computation: Computation  # under the new version

    @property
    def delta_mg(self) -> int:
        return self.new_credited_mg - self.old_credited_mg


@dataclass(frozen=True)
class RecomputeFailure:
    record: CreditedRecord
    detail: str  # the record keeps its old credit


@dataclass(frozen=True)
class CustomerChange:
    customer_ref: str
    events: int
    old_mg: int
    new_mg: int

    @property
    def delta_mg(self) -> int:
        return self.new_mg - self.old_mg


@dataclass(frozen=True)
class RecomputationPlan:
    adjustments: tuple[Adjustment, ...]
    failures: tuple[RecomputeFailure, ...]
    report: tuple[CustomerChange, ...]

    @property
    def delta_mg(self) -> int:
        return sum(a.delta_mg for a in self.adjustments)


def recompute_credit(
    record: CreditedRecord, methodology: Methodology, room_mg: int | None = None
) -> Adjustment:
    """The adjustment for one record; ``room_mg`` is what is left of its day's grams cap."""
    old = record.computation
    if old.scenario != methodology.scenario:
        raise MalformedInputs(f"a {old.scenario} credit cannot use a {methodology.scenario} method")
    new = compute(methodology, old.inputs)
    credited = new.co2e_mg if room_mg is None else min(new.co2e_mg, max(0, room_mg))
    return Adjustment(
        event_key=record.event_key,
        customer_ref=record.customer_ref,
        scenario=old.scenario,
        old_version=old.methodology_version,
        new_version=methodology.version,
        old_credited_mg=record.credited_mg,
        new_credited_mg=credited,
        computation=new,
    )


def plan_recomputation(
    records: Iterable[CreditedRecord], methodology: Methodology
) -> RecomputationPlan:
    """Adjustments for every record, failures collected rather than raised, and the report."""
    adjustments: list[Adjustment] = []
    failures: list[RecomputeFailure] = []
    used: dict[tuple[str, date], int] = {}  # grams credited per customer-day under the new version
    per_day_mg = methodology.caps.per_day_mg
    for record in sorted(records, key=lambda r: (r.occurred_at, r.event_key)):
        day = (record.customer_ref, record.business_date)
        room = None if per_day_mg is None else per_day_mg - used.get(day, 0)
        try:
            adjustment = recompute_credit(record, methodology, room)
        except MalformedInputs as exc:
            failures.append(RecomputeFailure(record, exc.detail))
            used[day] = used.get(day, 0) + record.credited_mg
            continue
        used[day] = used.get(day, 0) + adjustment.new_credited_mg
        adjustments.append(adjustment)
    return RecomputationPlan(tuple(adjustments), tuple(failures), change_report(adjustments))


def change_report(adjustments: Iterable[Adjustment]) -> tuple[CustomerChange, ...]:
    """One row per customer: how many events changed hands and the old and new totals."""
    rows: dict[str, CustomerChange] = {}
    for a in adjustments:
        row = rows.get(a.customer_ref, CustomerChange(a.customer_ref, 0, 0, 0))
        rows[a.customer_ref] = CustomerChange(
            a.customer_ref,
            row.events + 1,
            row.old_mg + a.old_credited_mg,
            row.new_mg + a.new_credited_mg,
        )
    return tuple(rows[customer] for customer in sorted(rows))
