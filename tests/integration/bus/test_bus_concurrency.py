"""Several dispatchers at once: per-aggregate order holds and nothing is processed twice."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
from bus_support import DispatcherFactory, Recorder, ThingHappened, publish_one
from sqlalchemy import func, select

from greenbank.bootstrap import Container
from greenbank.bus.models import Delivery, ProcessedEvent


def _wait_until(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the dispatchers")
        time.sleep(0.02)


def _undelivered(container: Container) -> int:
    with container.uow() as uow:
        query = select(func.count()).select_from(Delivery).where(Delivery.status != "delivered")
        return uow.session.scalar(query) or 0


def _jitter() -> None:
    time.sleep(random.random() / 500)  # interleave the workers


def test_order_per_aggregate_holds_with_three_dispatchers_and_live_publishers(
    container: Container, make_dispatcher: DispatcherFactory, receipts: Recorder, carbon: Recorder
) -> None:
    receipts.hook = carbon.hook = _jitter
    dispatchers = [make_dispatcher(batch_size=5) for _ in range(3)]
    for dispatcher in dispatchers:
        dispatcher.start()
    per_aggregate = 12
    groups = [["a", "b", "c"], ["d", "e", "f"]]  # one publisher per aggregate, as under its lock

    def publisher(aggregates: list[str]) -> None:
        for n in range(per_aggregate):
            for aggregate in aggregates:
                publish_one(container, ThingHappened(n=n), aggregate_id=aggregate)

    threads = [threading.Thread(target=publisher, args=(group,)) for group in groups]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _wait_until(lambda: len(receipts.calls) >= 72 and _undelivered(container) == 0)
    for dispatcher in dispatchers:
        dispatcher.stop()

    for recorder in (receipts, carbon):
        for aggregate in "abcdef":
            seen = [(seq, n) for agg, seq, n in recorder.calls if agg == aggregate]
            assert seen == [(i + 1, i) for i in range(per_aggregate)], (recorder.name, aggregate)


@pytest.mark.postgres_only
def test_four_dispatchers_never_process_an_event_twice(
    container: Container, make_dispatcher: DispatcherFactory, receipts: Recorder, carbon: Recorder
) -> None:
    workers: Counter[str] = Counter()

    def note_worker() -> None:
        workers[threading.current_thread().name] += 1

    receipts.hook = note_worker
    event_ids = [
        publish_one(container, ThingHappened(n=n), aggregate_id=f"agg{n % 20}") for n in range(200)
    ]
    dispatchers = [make_dispatcher(batch_size=10) for _ in range(4)]
    for dispatcher in dispatchers:
        dispatcher.start()
    _wait_until(lambda: len(receipts.calls) >= 200 and _undelivered(container) == 0)
    for dispatcher in dispatchers:
        dispatcher.stop()

    for recorder in (receipts, carbon):
        per_event = Counter((agg, seq) for agg, seq, _ in recorder.calls)
        assert len(per_event) == 200
        assert set(per_event.values()) == {1}
    with container.uow() as uow:
        processed = uow.session.scalar(select(func.count()).select_from(ProcessedEvent))
    assert processed == 2 * len(event_ids)
    assert len(workers) >= 2  # the work really was shared
