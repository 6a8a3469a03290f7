"""Forwarding to the real NATS JetStream and Redis on this machine (skipped when not running)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from typing import Any

import pytest
from bus_support import ThingHappened, publish_one

from greenbank.bootstrap import Container
from greenbank.bus.brokers import (
    BrokerUnavailable,
    NatsJetStreamPublisher,
    RedisStreamPublisher,
)
from greenbank.bus.consumers import ConsumerRegistry
from greenbank.bus.dispatcher import DispatcherGroup

NATS_URL = "nats://127.0.0.1:4222"
REDIS_URL = "redis://127.0.0.1:6379/0"


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


needs_nats = pytest.mark.skipif(not _answers(4222), reason="no NATS on 127.0.0.1:4222")
needs_redis = pytest.mark.skipif(not _answers(6379), reason="no Redis on 127.0.0.1:6379")


async def _stream_contents(stream: str) -> tuple[int, Any]:
    import nats

    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        first = await js.get_msg(stream, seq=1)
        await js.delete_stream(stream)
        return info.state.messages, first
    finally:
        await nc.close()


@needs_nats
def test_jetstream_stores_each_event_id_once() -> None:
    tag = uuid.uuid4().hex[:10]
    stream, prefix = f"GBTEST_{tag}", f"gbtest.{tag}"
    publisher = NatsJetStreamPublisher(NATS_URL, stream=stream, subjects=[f"{prefix}.>"])
    try:
        publisher.publish(f"{prefix}.thing", b'{"n":1}', {"event-type": "t"}, "evt-1")
        publisher.publish(f"{prefix}.thing", b'{"n":1}', {"event-type": "t"}, "evt-1")  # again
        publisher.publish(f"{prefix}.thing", b'{"n":2}', {}, "evt-2")
    finally:
        publisher.close()
    count, first = asyncio.run(_stream_contents(stream))
    assert count == 2
    assert first.data == b'{"n":1}'
    assert first.headers["Nats-Msg-Id"] == "evt-1"
    assert first.headers["event-type"] == "t"


def test_unreachable_brokers_fail_fast_with_a_retryable_error() -> None:
    for publisher in (
        NatsJetStreamPublisher("nats://127.0.0.1:1", timeout=1.0),
        RedisStreamPublisher("redis://127.0.0.1:1/0", timeout=1.0),
    ):
        try:
            with pytest.raises(BrokerUnavailable) as caught:
                publisher.publish("gbtest.x", b"{}", {}, "evt-1")
            assert caught.value.code == "bus_broker_unavailable"
        finally:
            publisher.close()


@needs_redis
def test_redis_stream_adds_each_event_id_once() -> None:
    import redis

    stream = f"gbtest:{uuid.uuid4().hex[:10]}"
    publisher = RedisStreamPublisher(REDIS_URL, stream=stream)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        publisher.publish("s.thing", b'{"n":1}', {"k": "v"}, "evt-1")
        publisher.publish("s.thing", b'{"n":1}', {"k": "v"}, "evt-1")  # redelivery
        publisher.publish("s.thing", b'{"n":2}', {}, "evt-2")
        entries = client.xrange(stream)
    finally:
        publisher.close()
        client.delete(stream, f"{stream}:seen:evt-1", f"{stream}:seen:evt-2")
        client.close()
    assert [fields[b"id"] for _, fields in entries] == [b"evt-1", b"evt-2"]
    assert entries[0][1][b"payload"] == b'{"n":1}'
    assert entries[0][1][b"headers"] == b'{"k": "v"}'
    assert entries[0][1][b"subject"] == b"s.thing"


@needs_redis
def test_broker_url_setting_forwards_committed_events(container: Container) -> None:
    import redis

    container.settings = container.settings.model_copy(update={"bus_broker_url": REDIS_URL})
    group = DispatcherGroup(container, consumers=ConsumerRegistry())
    event_id = publish_one(container, ThingHappened(n=5), aggregate_id="broker")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        assert group.drain() == 2  # routed + forwarded
        mine = [
            (entry_id, fields)
            for entry_id, fields in client.xrevrange("greenbank:events", count=1000)
            if fields[b"id"] == event_id.encode()
        ]
    finally:
        group.stop()
        client.delete(f"greenbank:events:seen:{event_id}")
        for entry_id, _ in mine:
            client.xdel("greenbank:events", entry_id)
        client.close()
    [(_, fields)] = mine
    assert fields[b"subject"] == b"greenbank.events.bustest.thing_happened"
    assert fields[b"payload"] == b'{"n":5}'
