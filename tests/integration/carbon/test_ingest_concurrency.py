"""Concurrent batches for one customer never exceed a cap, and a key is credited once even when
two batches race with it (PostgreSQL: real concurrent transactions on the account-row lock)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from carbon_db_support import event, open_with
from sqlalchemy import func, select

from greenbank.bootstrap import Container
from greenbank.carbon.ingest import IngestResult, ingest_events
from greenbank.carbon.models import CarbonAccount, Entry
from greenbank.carbon.pipeline import RawEvent

pytestmark = pytest.mark.postgres_only


def _race(container: Container, batches: list[list[RawEvent]]) -> list[list[IngestResult]]:
    barrier = threading.Barrier(len(batches))

    def one(batch: list[RawEvent]) -> list[IngestResult]:
        barrier.wait()
        return ingest_events(container.uow, container.clock, batch)

    with ThreadPoolExecutor(len(batches)) as pool:
        return list(pool.map(one, batches))


def test_concurrent_batches_respect_the_daily_cap(carbon: Container) -> None:
    customers = [f"c{n}" for n in range(5)]
    for customer in customers:
        open_with(carbon, customer, scenarios=["online_deposit"])
    now = carbon.clock.now()
    for customer in customers:  # cap: 2 online deposits a day; 4 batches of 2 race for it
        batches = [
            [event(f"{customer}-{b}-{i}", customer, "online_deposit", now) for i in range(2)]
            for b in range(4)
        ]
        results = [r for batch in _race(carbon, batches) for r in batch]
        assert sum(r.outcome == "accepted" for r in results) == 2
        assert sum(r.reason == "over_cap" for r in results) == 6
    with carbon.uow() as uow:
        credited = uow.session.execute(
            select(Entry.customer_id, func.sum(Entry.co2e_mg)).group_by(Entry.customer_id)
        ).all()
        assert {c: int(mg) for c, mg in credited} == {c: 178_000 for c in customers}
        lifetimes = uow.session.scalars(select(CarbonAccount.lifetime_mg)).all()
        assert lifetimes == [178_000] * 5


def test_the_same_event_raced_by_two_batches_is_credited_once(carbon: Container) -> None:
    open_with(carbon, "c1", scenarios=["e_receipt"])
    open_with(carbon, "c2", scenarios=["e_receipt"])
    now = carbon.clock.now()
    same = event("r1", "c1", "e_receipt", now)
    # Batch B also touches c2, so the two batches lock different sets of accounts.
    results = _race(carbon, [[same], [event("r2", "c2", "e_receipt", now), same]])
    flat = [r for batch in results for r in batch if r.source_event_id == "r1"]
    assert sorted((r.outcome, r.reason) for r in flat) == [
        ("accepted", None),
        ("rejected", "duplicate"),
    ]
    with carbon.uow() as uow:
        total = uow.session.scalar(select(func.sum(Entry.co2e_mg)))
        assert total == 48_000
