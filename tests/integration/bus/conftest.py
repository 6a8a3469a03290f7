"""Fixtures for the bus tests: a private consumer registry and dispatcher factory per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bus_support import DispatcherFactory, OtherHappened, Recorder, ThingHappened

from greenbank.bootstrap import Container
from greenbank.bus.consumers import ConsumerRegistry
from greenbank.bus.dispatcher import Dispatcher, DispatcherConfig


@pytest.fixture
def receipts() -> Recorder:
    return Recorder("bustest.receipts")


@pytest.fixture
def carbon() -> Recorder:
    return Recorder("bustest.carbon")


@pytest.fixture
def registry(receipts: Recorder, carbon: Recorder) -> ConsumerRegistry:
    local = ConsumerRegistry()
    local.consumer(receipts.name, event_types=[ThingHappened, OtherHappened])(receipts)
    local.consumer(carbon.name, event_types=[ThingHappened])(carbon)
    return local


@pytest.fixture
def make_dispatcher(
    container: Container, registry: ConsumerRegistry
) -> Iterator[DispatcherFactory]:
    """Dispatchers on this test's database; any started thread is stopped at teardown."""
    made: list[Dispatcher] = []

    def make(**overrides: Any) -> Dispatcher:
        config = DispatcherConfig(
            **{"max_attempts": 3, "backoff_base": 10.0, "poll_interval": 0.02, **overrides}
        )
        dispatcher = Dispatcher(container, consumers=registry, config=config, rand=lambda: 0.0)
        made.append(dispatcher)
        return dispatcher

    yield make
    for dispatcher in made:
        dispatcher.stop()
