"""The dispatcher embedded in the web app: woken by commits, started and stopped by the lifespan."""

from __future__ import annotations

import threading
import time

import pytest
from bus_support import Recorder, ThingHappened, publish_one
from fastapi.testclient import TestClient

from greenbank.api import create_app
from greenbank.bootstrap import Container
from greenbank.bus.consumers import ConsumerRegistry


def _dispatcher_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("greenbank-dispatcher")}


def test_embedded_dispatcher_delivers_well_under_a_second_and_stops_with_the_app(
    container: Container,
    registry: ConsumerRegistry,
    receipts: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("greenbank.bus.dispatcher.REGISTRY", registry)
    # A slow poll: only the in-process wake-up on commit can make delivery fast.
    container.settings = container.settings.model_copy(update={"bus_poll_interval_ms": 5000})
    delivered = threading.Event()
    receipts.hook = delivered.set
    before = _dispatcher_threads()
    latencies = []
    with TestClient(create_app(container=container)):
        assert len(_dispatcher_threads() - before) == 1
        time.sleep(0.05)  # let the thread reach its idle wait
        for n in range(20):
            delivered.clear()
            started = time.monotonic()
            publish_one(container, ThingHappened(n=n))
            assert delivered.wait(2.0)  # far below the 5 s poll: the commit woke the dispatcher
            latencies.append(time.monotonic() - started)
    assert _dispatcher_threads() <= before
    assert sorted(latencies)[len(latencies) // 2] < 0.5, latencies  # a loaded host may stall one
    assert [n for _, _, n in receipts.calls] == list(range(20))


def test_embedded_dispatcher_can_be_switched_off(container: Container) -> None:
    container.settings = container.settings.model_copy(update={"bus_embedded_dispatcher": False})
    before = _dispatcher_threads()
    with TestClient(create_app(container=container)):
        assert _dispatcher_threads() == before
