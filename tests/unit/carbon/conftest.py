"""Fixtures for the pure carbon core: the packaged methodologies and an event factory."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

import pytest
from carbon_support import GRANTED, NOW, ContextFactory, EventFactory

from greenbank.carbon.loader import load_methodologies
from greenbank.carbon.methodology import Methodology
from greenbank.carbon.pipeline import ConsentInterval, PipelineContext, RawEvent


@cache
def _methodologies() -> tuple[Methodology, ...]:
    return load_methodologies()


@pytest.fixture
def methodologies() -> tuple[Methodology, ...]:
    return _methodologies()


@pytest.fixture
def by_scenario(methodologies: tuple[Methodology, ...]) -> dict[str, Methodology]:
    return {m.scenario: m for m in methodologies}


@pytest.fixture
def make_event() -> EventFactory:
    counter = iter(range(1, 1_000_000))

    def make(scenario: str = "metro_trip", **overrides: Any) -> RawEvent:
        fields: dict[str, Any] = {
            "source": "metro_sz",
            "source_event_id": f"ev-{next(counter)}",
            "customer_ref": "cust-1",
            "scenario": scenario,
            "occurred_at": NOW - timedelta(hours=1),
            "inputs": {},
        }
        fields.update(overrides)
        return RawEvent(**fields)

    return make


@pytest.fixture
def make_context(methodologies: tuple[Methodology, ...]) -> ContextFactory:
    """A context in which every customer consented to every (source, scenario) it is given."""

    def make(
        events: list[RawEvent] | tuple[RawEvent, ...] = (), **overrides: Any
    ) -> PipelineContext:
        consents = {
            (e.customer_ref, e.source, e.scenario): (ConsentInterval(GRANTED),) for e in events
        }
        fields: dict[str, Any] = {"now": NOW, "methodologies": methodologies, "consents": consents}
        fields.update(overrides)
        return PipelineContext(**fields)

    return make
