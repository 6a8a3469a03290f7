"""Event schemas, the (type, version) registry, the consumer registry and the back-off rule."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenbank.bus.consumers import ConsumerRegistry
from greenbank.bus.events import (
    REGISTRY,
    Event,
    EventMeta,
    EventRegistry,
    InvalidEventPayload,
    UnknownEventType,
)
from greenbank.bus.leases import backoff_delay
from greenbank.db import UnitOfWork


class DepositPurchasedV1(Event):
    type = "unittest.purchase_completed"
    holding_id: str
    amount_fen: int
    rate: Decimal
    value_date: date


class DepositPurchasedV2(Event):
    type = "unittest.purchase_completed"
    version = 2
    holding_id: str
    amount_fen: int
    rate: Decimal
    value_date: date
    channel: str


META = EventMeta(
    id="0190-evt",
    aggregate_type="holding",
    aggregate_id="h1",
    sequence=3,
    created_at=datetime(2026, 3, 2, tzinfo=UTC),
    headers={"request_id": "r1"},
)


def test_payload_round_trips_through_json_with_exact_decimals_and_dates() -> None:
    event = DepositPurchasedV1(
        holding_id="h1", amount_fen=1_000_000, rate=Decimal("0.0175"), value_date=date(2026, 3, 2)
    )
    payload = event.model_dump(mode="json")
    assert payload == {
        "holding_id": "h1",
        "amount_fen": 1_000_000,
        "rate": "0.0175",
        "value_date": "2026-03-02",
    }
    parsed = REGISTRY.parse("unittest.purchase_completed", 1, payload, META)
    assert parsed.model_dump() == event.model_dump()
    assert isinstance(parsed, DepositPurchasedV1)
    assert parsed.meta.id == "0190-evt"


def test_each_version_parses_into_its_own_class() -> None:
    payload = {
        "holding_id": "h1",
        "amount_fen": 1,
        "rate": "0.01",
        "value_date": "2026-03-02",
        "channel": "app",
    }
    parsed = REGISTRY.parse("unittest.purchase_completed", 2, payload, None)
    assert type(parsed) is DepositPurchasedV2
    with pytest.raises(InvalidEventPayload, match="channel: Extra inputs are not permitted"):
        REGISTRY.parse("unittest.purchase_completed", 1, payload, None)


def test_unknown_type_or_version_is_a_clear_error() -> None:
    with pytest.raises(UnknownEventType, match=r"'unittest.purchase_completed' version 3"):
        REGISTRY.lookup("unittest.purchase_completed", 3)
    with pytest.raises(UnknownEventType) as caught:
        REGISTRY.lookup("nobody.knows", 1)
    assert caught.value.code == "bus_unknown_event_type"


def test_meta_exists_only_on_events_read_back() -> None:
    event = DepositPurchasedV1(
        holding_id="h", amount_fen=1, rate=Decimal(1), value_date=date(2026, 1, 1)
    )
    with pytest.raises(RuntimeError, match="read back from the outbox"):
        _ = event.meta


def test_registry_refuses_bad_names_and_clashing_classes() -> None:
    local = EventRegistry()

    class Badly(Event):
        type = "unittest.badly_named"

    Badly.type = "NoDots"
    with pytest.raises(ValueError, match=r"domain\.what_happened"):
        local.register(Badly)
    Badly.type = "unittest.badly_named"
    local.register(Badly)
    local.register(Badly)  # the same class again (a re-import) is fine

    class Other(Event):
        type = "unittest.other_thing"

    Other.type = "unittest.badly_named"
    with pytest.raises(ValueError, match="already"):
        local.register(Other)


def _noop(event: Event, uow: UnitOfWork) -> None:
    return None


def test_consumer_registry_routes_by_type_and_version() -> None:
    registry = ConsumerRegistry()
    registry.consumer("receipts.seal", event_types=[DepositPurchasedV1])(_noop)
    registry.consumer("audit.everything", event_types=None)(_noop)
    wanted = [c.name for c in registry.for_event("unittest.purchase_completed", 1)]
    assert sorted(wanted) == ["audit.everything", "receipts.seal"]
    assert [c.name for c in registry.for_event("unittest.purchase_completed", 2)] == [
        "audit.everything"
    ]
    assert registry.names() == ["audit.everything", "receipts.seal"]


def test_consumer_names_are_unique_and_lists_not_empty() -> None:
    registry = ConsumerRegistry()
    registry.consumer("receipts.seal", event_types=[DepositPurchasedV1])(_noop)

    def other(event: Event, uow: UnitOfWork) -> None:
        return None

    with pytest.raises(ValueError, match="already taken"):
        registry.consumer("receipts.seal", event_types=[DepositPurchasedV1])(other)
    with pytest.raises(ValueError, match="at least one"):
        registry.consumer("x.y", event_types=[])


@pytest.mark.parametrize(
    ("attempt", "rand", "expected"),
    [
        (1, 0.0, 0.5),  # ceiling 1 s, lower half
        (1, 1.0, 1.0),
        (4, 0.0, 4.0),  # ceiling 8 s
        (4, 0.5, 6.0),
        (11, 1.0, 600.0),  # 1024 s capped at 600 s
        (500, 0.0, 300.0),  # no overflow for absurd attempt counts
    ],
)
def test_backoff_worked_examples(attempt: int, rand: float, expected: float) -> None:
    assert backoff_delay(attempt, base=1.0, cap=600.0, rand=lambda: rand) == expected


@given(
    attempt=st.integers(min_value=1, max_value=100),
    r=st.floats(min_value=0, max_value=1),
    base=st.floats(min_value=0.01, max_value=10),
)
def test_backoff_stays_within_the_upper_half_of_a_growing_capped_ceiling(
    attempt: int, r: float, base: float
) -> None:
    ceiling = min(300.0, base * 2 ** (attempt - 1))
    delay = backoff_delay(attempt, base=base, cap=300.0, rand=lambda: r)
    assert ceiling / 2 <= delay <= ceiling * (1 + 1e-12)
    assert backoff_delay(attempt + 1, base=base, cap=300.0, rand=lambda: 0.0) >= ceiling / 2
