"""Helpers for the carbon integration tests: open an account with consents (then move
the clock on an hour), build events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from greenbank.bootstrap import Container
from greenbank.carbon import consent
from greenbank.carbon.pipeline import RawEvent
from greenbank.clock import FixedClock


def open_with(
    container: Container, customer_id: str, source: str = "bank", scenarios: Sequence[str] = ()
) -> None:
    consent.open_account(
        container.uow,
        container.clock,
        customer_id=customer_id,
        accept_terms=True,
        terms_version=consent.TERMS_VERSION,
    )
    if scenarios:
        consent.grant(
            container.uow,
            container.clock,
            customer_id=customer_id,
            source=source,
            scenarios=scenarios,
        )
    clock = container.clock
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(hours=1))  # events from now on happen after the consent


def event(
    event_id: str,
    customer: str,
    scenario: str,
    at: datetime,
    inputs: dict[str, object] | None = None,
    source: str = "bank",
) -> RawEvent:
    return RawEvent(source, event_id, customer, scenario, at, inputs or {})
