"""Invariants of ingestion over random batches: caps hold per day, totals equal the ledger,
points plus the carried remainder equal the reduction, and re-sending credits nothing."""

from __future__ import annotations

import itertools
from datetime import timedelta

from carbon_db_support import event, open_with
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from greenbank.bootstrap import Container
from greenbank.carbon.ingest import ingest_events
from greenbank.carbon.models import CarbonAccount, Counter, Entry
from greenbank.carbon.pipeline import RawEvent
from greenbank.carbon.store import MG_PER_POINT
from greenbank.clock import FixedClock

_RUN = itertools.count()
SCENARIOS = ["online_deposit", "e_receipt", "walking"]

events_strategy = st.lists(
    st.tuples(
        st.integers(0, 2),  # customer
        st.sampled_from(SCENARIOS),
        st.integers(0, 47),  # half-hours back from now (two business days)
        st.integers(1, 20_000),  # steps (walking only)
    ),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(specs=events_strategy, cut=st.integers(1, 40))
def test_ingestion_invariants(
    carbon: Container, specs: list[tuple[int, str, int, int]], cut: int
) -> None:
    run = next(_RUN)
    customers = [f"p{run}-{n}" for n in range(3)]
    clock = carbon.clock
    assert isinstance(clock, FixedClock)
    now = clock.now() + timedelta(hours=1)
    clock.set(now - timedelta(days=3))  # consents granted well before the events
    for customer in customers:
        open_with(carbon, customer, scenarios=SCENARIOS)
    clock.set(now)
    batch: list[RawEvent] = [
        event(
            f"{run}-{n}",
            customers[c],
            scenario,
            now - timedelta(minutes=30 * back),
            {"steps": steps} if scenario == "walking" else {},
        )
        for n, (c, scenario, back, steps) in enumerate(specs)
    ]
    first = ingest_events(carbon.uow, carbon.clock, batch[:cut]) + ingest_events(
        carbon.uow, carbon.clock, batch[cut:]
    )
    assert first[0].outcome == "accepted"  # fresh customers, consent in force: never refused
    again = ingest_events(carbon.uow, carbon.clock, batch)
    assert all(r.reason == "duplicate" and r.credited_mg == 0 for r in again)
    assert [r.first.credited_mg for r in again if r.first] == [r.credited_mg for r in first]
    with carbon.uow() as uow:
        per_day = uow.session.execute(
            select(
                Entry.customer_id,
                Entry.scenario,
                Entry.business_date,
                func.count(),
                func.sum(Entry.co2e_mg),
            )
            .where(Entry.customer_id.in_(customers))
            .group_by(Entry.customer_id, Entry.scenario, Entry.business_date)
        ).all()
        for _, scenario, _, count, mg in per_day:
            if scenario == "online_deposit":
                assert count <= 2
            if scenario == "e_receipt":
                assert count <= 5
            if scenario == "walking":
                assert mg <= 296_000
        for customer in customers:
            account = uow.session.get(CarbonAccount, customer)
            assert account is not None
            ledger = uow.session.scalar(
                select(func.coalesce(func.sum(Entry.co2e_mg), 0)).where(
                    Entry.customer_id == customer
                )
            )
            assert account.lifetime_mg == ledger
            assert account.points_balance * MG_PER_POINT + account.carried_mg == ledger
        # Every counter, read by a cap or only added to (month, lifetime), matches the ledger.
        expected: dict[tuple[str, str, str], tuple[int, int]] = {}
        for customer, scenario, day, count, mg in per_day:
            for period in (f"day:{day.isoformat()}", f"month:{day:%Y-%m}", "lifetime"):
                events, total = expected.get((customer, scenario, period), (0, 0))
                expected[(customer, scenario, period)] = (events + count, total + mg)
        stored = uow.session.execute(
            select(
                Counter.customer_id,
                Counter.scenario,
                Counter.period,
                Counter.events,
                Counter.co2e_mg,
            ).where(Counter.customer_id.in_(customers))
        )
        assert {(c, s, p): (n, mg) for c, s, p, n, mg in stored} == expected
