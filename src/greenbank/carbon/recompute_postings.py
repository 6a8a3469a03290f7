"""Posting a recomputation batch: ``ADJUSTMENT`` entries, account totals and points, and the
counters' grams (used by ``greenbank.carbon.recomputation``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from greenbank.carbon.domain import MG_PER_G
from greenbank.carbon.expr import plain
from greenbank.carbon.methodology import Methodology
from greenbank.carbon.models import ADJUSTMENT, COUNTERS, ENTRIES, MethodologyRow
from greenbank.carbon.pipeline import EventKey, counter_keys
from greenbank.carbon.recompute import Adjustment
from greenbank.carbon.store import AccountTotals
from greenbank.db import insert_many
from greenbank.ids import new_id


def post_adjustments(
    session: Session,
    adjustments: list[Adjustment],
    stored: Mapping[EventKey, tuple[str, date]],
    accounts: Mapping[str, AccountTotals],
    methodology: Methodology,
    run_id: str,
    now: datetime,
) -> None:
    """Adjustment entries, account totals and points, and the counters' grams."""
    if not adjustments:
        return
    methodology_id = session.scalar(
        select(MethodologyRow.id).where(
            MethodologyRow.scenario == methodology.scenario,
            MethodologyRow.version == methodology.version,
        )
    )
    counters: dict[tuple[str, str], int] = defaultdict(int)
    entries = []
    for a in adjustments:
        totals = accounts.get(a.customer_ref)
        points = totals.add(a.delta_mg) if totals is not None else 0
        event_id, day = stored[a.event_key]
        for key in counter_keys(a.customer_ref, a.scenario, day, methodology.caps, {})[:3]:
            counters[(key.customer_ref, key.window)] += a.delta_mg
        entries.append(_entry(a, event_id, methodology_id, day, points, run_id, now))
    insert_many(session, ENTRIES, entries)
    _bump_counters(session, methodology.scenario, counters)


def _entry(
    a: Adjustment,
    event_id: str,
    methodology_id: str | None,
    day: date,
    points: int,
    run_id: str,
    now: datetime,
) -> dict[str, Any]:
    new = a.computation
    explanation = (
        f"re-computed under v{a.new_version}: {new.explanation}; credited "
        f"{plain(Decimal(a.new_credited_mg) / MG_PER_G)} g instead of "
        f"{plain(Decimal(a.old_credited_mg) / MG_PER_G)} g"
    )
    return {
        "id": new_id(),
        "customer_id": a.customer_ref,
        "scenario": a.scenario,
        "kind": ADJUSTMENT,
        "event_id": event_id,
        "methodology_id": methodology_id,
        "methodology_version": a.new_version,
        "co2e_mg": a.delta_mg,
        "computed_mg": new.co2e_mg,
        "capped": a.new_credited_mg < new.co2e_mg,
        "provisional": new.provisional,
        "parameters": {p.name: plain(p.value) for p in new.parameters},
        "explanation": explanation[:1000],
        "business_date": day,
        "points": points,
        "created_at": now,
        "run_id": run_id,
    }


def _bump_counters(session: Session, scenario: str, deltas: Mapping[tuple[str, str], int]) -> None:
    rows = [
        {"b_customer": customer, "b_period": period, "b_delta": delta}
        for (customer, period), delta in deltas.items()
        if delta
    ]
    if rows:
        session.execute(
            update(COUNTERS)
            .where(
                COUNTERS.c.customer_id == bindparam("b_customer"),
                COUNTERS.c.scenario == scenario,
                COUNTERS.c.period == bindparam("b_period"),
            )
            .values(co2e_mg=COUNTERS.c.co2e_mg + bindparam("b_delta")),
            rows,
            execution_options={"synchronize_session": False},
        )


__all__ = ["post_adjustments"]
