"""The broker forwarder's message shape and the URL -> adapter choice (no network)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import cast

import pytest

from greenbank.bus.brokers import (
    BROKER_CONSUMER,
    NatsJetStreamPublisher,
    RedisStreamPublisher,
    broker_consumer,
    publisher_from_url,
)
from greenbank.bus.events import REGISTRY, Event, EventMeta
from greenbank.db import UnitOfWork
from greenbank.errors import ConfigurationError


class CardIssued(Event):
    type = "unittest.card_issued"
    version = 2
    card_id: str


class FakeBroker:
    """Remembers what it was asked to publish."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, dict[str, str], str]] = []

    def publish(
        self, subject: str, payload: bytes, headers: Mapping[str, str], msg_id: str
    ) -> None:
        self.sent.append((subject, payload, dict(headers), msg_id))

    def close(self) -> None:
        return None


def test_forwarder_sends_every_event_with_its_id_as_message_id() -> None:
    broker = FakeBroker()
    forwarder = broker_consumer(broker)
    assert forwarder.name == BROKER_CONSUMER
    assert forwarder.wants("anything.at_all", 7)
    meta = EventMeta(
        id="evt-1",
        aggregate_type="card",
        aggregate_id="c9",
        sequence=4,
        created_at=datetime(2026, 3, 2, tzinfo=UTC),
        headers={"request_id": "r1"},
    )
    event = REGISTRY.parse("unittest.card_issued", 2, {"card_id": "c9"}, meta)
    forwarder.handler(event, cast(UnitOfWork, None))
    assert broker.sent == [
        (
            "greenbank.events.unittest.card_issued",
            b'{"card_id":"c9"}',
            {
                "request_id": "r1",
                "event-type": "unittest.card_issued",
                "event-version": "2",
                "aggregate-type": "card",
                "aggregate-id": "c9",
                "sequence": "4",
            },
            "evt-1",
        )
    ]


def test_url_scheme_picks_the_adapter() -> None:
    nats = publisher_from_url("nats://127.0.0.1:4222")
    redis = publisher_from_url("redis://127.0.0.1:6379/0")
    try:
        assert isinstance(nats, NatsJetStreamPublisher)
        assert isinstance(redis, RedisStreamPublisher)
    finally:
        nats.close()
        redis.close()
    with pytest.raises(ConfigurationError, match="use nats://"):
        publisher_from_url("kafka://127.0.0.1:9092")
