"""Forwarding events to an external broker (NATS JetStream or Redis Streams).

The outbox stays the source of truth: the built-in ``broker.publish`` consumer forwards every
event at least once, and the broker drops the duplicates a redelivery may cause (JetStream by the
``Nats-Msg-Id`` header, Redis by a short-lived ``SET NX`` guard on the event id). Kafka fits the
same ``BrokerPublisher`` shape; see the package README.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from greenbank.bus.consumers import Consumer
from greenbank.bus.events import Event
from greenbank.db import UnitOfWork
from greenbank.errors import ConfigurationError, ServiceUnavailable

T = TypeVar("T")
log = logging.getLogger(__name__)
BROKER_CONSUMER = "broker.publish"
SUBJECT_PREFIX = "greenbank.events"


class BrokerUnavailable(ServiceUnavailable):
    code = "bus_broker_unavailable"
    title = "The external message broker did not accept the event"


class BrokerPublisher(Protocol):
    def publish(
        self, subject: str, payload: bytes, headers: Mapping[str, str], msg_id: str
    ) -> None:
        """Hand one message to the broker; return only once the broker has stored it."""
        ...

    def close(self) -> None: ...


class NatsJetStreamPublisher:
    """JetStream publisher on a private asyncio loop thread (nats-py is asyncio-only).

    Connects lazily, so a dispatcher starts even while NATS is down; the delivery just retries.
    The stream (subjects ``greenbank.events.>``) is created when missing.
    """

    def __init__(
        self,
        url: str,
        *,
        stream: str = "GREENBANK",
        subjects: Sequence[str] = (f"{SUBJECT_PREFIX}.>",),
        timeout: float = 5.0,
    ) -> None:
        self._url = url
        self._stream = stream
        self._subjects = list(subjects)
        self._timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="greenbank-nats", daemon=True
        )
        self._thread.start()
        self._lock = threading.Lock()
        self._js: Any = None
        self._nc: Any = None

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(self._timeout * 2)
        finally:
            future.cancel()  # no-op when done; stops a hung connect from retrying forever

    async def _connect(self) -> Any:
        import nats
        from nats.js.errors import NotFoundError

        async def quiet(err: Exception) -> None:
            log.debug("nats: %s", err)

        # No automatic reconnect: a failed publish drops the connection and the next one
        # (the dispatcher's retry) connects afresh, so errors surface as retries, not hangs.
        nc = await nats.connect(
            self._url,
            connect_timeout=self._timeout,
            allow_reconnect=False,
            max_reconnect_attempts=1,  # also bounds the *initial* connect's tries
            reconnect_time_wait=0,
            error_cb=quiet,
        )
        js = nc.jetstream(timeout=self._timeout)
        try:
            await js.stream_info(self._stream)
        except NotFoundError:
            await js.add_stream(name=self._stream, subjects=self._subjects)
        self._nc = nc
        return js

    def publish(
        self, subject: str, payload: bytes, headers: Mapping[str, str], msg_id: str
    ) -> None:
        with self._lock:
            try:
                if self._js is None:
                    self._js = self._run(self._connect())
                self._run(
                    self._js.publish(subject, payload, headers={**headers, "Nats-Msg-Id": msg_id})
                )
            except Exception as err:
                self._disconnect()
                raise BrokerUnavailable(f"NATS {self._url}: {type(err).__name__}: {err}") from err

    def _disconnect(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None:
            with contextlib.suppress(Exception):  # closing a broken connection: nothing to do
                self._run(nc.close())

    def close(self) -> None:
        with self._lock:
            if self._nc is not None:
                with contextlib.suppress(Exception):
                    self._run(self._nc.drain())
                self._disconnect()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(self._timeout)
        self._loop.close()


# SET NX a guard key, then XADD: a redelivered event id within the window is not added twice.
_XADD_ONCE = """
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then
  return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
end
return false
"""


class RedisStreamPublisher:
    """XADD to one stream (``greenbank:events``); every field set carries the event id."""

    def __init__(
        self,
        url: str,
        *,
        stream: str = "greenbank:events",
        dedupe_seconds: int = 86_400,
        max_len: int = 1_000_000,
        timeout: float = 5.0,
    ) -> None:
        import redis

        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._stream = stream
        self._dedupe_seconds = dedupe_seconds
        self._max_len = max_len
        self._script = self._client.register_script(_XADD_ONCE)
        self._url = url

    def publish(
        self, subject: str, payload: bytes, headers: Mapping[str, str], msg_id: str
    ) -> None:
        fields: dict[str, str | bytes] = {
            "id": msg_id,
            "subject": subject,
            "headers": json.dumps(dict(headers), ensure_ascii=False),
            "payload": payload,
        }
        flat = [part for pair in fields.items() for part in pair]
        keys = [self._stream, f"{self._stream}:seen:{msg_id}"]
        try:
            self._script(keys=keys, args=[self._dedupe_seconds, self._max_len, *flat])
        except Exception as err:
            raise BrokerUnavailable(f"Redis {self._url}: {type(err).__name__}: {err}") from err

    def close(self) -> None:
        self._client.close()


def publisher_from_url(url: str) -> BrokerPublisher:
    """``nats://host:4222`` -> JetStream; ``redis://host:6379/0`` (or rediss) -> Redis Streams."""
    scheme = urlsplit(url).scheme
    if scheme in {"nats", "tls"}:
        return NatsJetStreamPublisher(url)
    if scheme in {"redis", "rediss"}:
        return RedisStreamPublisher(url)
    raise ConfigurationError(
        f"GREENBANK_BUS_BROKER_URL {url!r}: use nats://host:4222 or redis://host:6379/0"
    )


def broker_consumer(publisher: BrokerPublisher) -> Consumer:
    """The built-in consumer that forwards every event (subject ``greenbank.events.<type>``)."""

    def forward(event: Event, _uow: UnitOfWork) -> None:
        meta = event.meta
        headers = {
            **meta.headers,
            "event-type": event.type,
            "event-version": str(event.version),
            "aggregate-type": meta.aggregate_type,
            "aggregate-id": meta.aggregate_id,
            "sequence": str(meta.sequence),
        }
        publisher.publish(
            f"{SUBJECT_PREFIX}.{event.type}",
            event.model_dump_json().encode(),
            headers,
            meta.id,
        )

    return Consumer(BROKER_CONSUMER, forward, None)


__all__ = [
    "BROKER_CONSUMER",
    "BrokerPublisher",
    "BrokerUnavailable",
    "NatsJetStreamPublisher",
    "RedisStreamPublisher",
    "broker_consumer",
    "publisher_from_url",
]
