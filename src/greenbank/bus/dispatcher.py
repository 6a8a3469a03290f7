"""The dispatcher: fan out new events, claim due deliveries, run consumers, retry, dead-letter.

One round (``run_once``):

1. **Route** — lock a batch of ``pending`` outbox rows (``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises writers), check each parses as a known
   (type, version), insert one ``bus_deliveries`` row per subscribed consumer, mark it ``routed``
   (or ``dead`` with the reason).
2. **Claim** — in a short transaction, pick due deliveries whose consumer runs in this process
   and that are the *head* of their (consumer, aggregate) chain — no earlier event of the
   aggregate is still unrouted or pending for that consumer — and lease them
   (``locked_by``/``locked_until``). The lease, not a held row lock, keeps other workers off
   while the consumer runs, so the same code works on both databases.
3. **Deliver** — per claim, one transaction: consumer effect + ``bus_processed_events`` row +
   delivery marked ``delivered`` (only if we still hold the lease). On error: back-off with
   jitter, or ``dead`` after ``max_attempts``. A dead delivery no longer blocks its chain.

Delivery is at least once; the processed-events record makes a consumer's effect exactly once.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update

from greenbank.bootstrap import Container
from greenbank.bus.brokers import BrokerPublisher, broker_consumer, publisher_from_url
from greenbank.bus.consumers import (
    REGISTRY,
    ConsumerRegistry,
    already_processed,
    load_bus_modules,
    mark_processed,
)
from greenbank.bus.events import REGISTRY as EVENTS
from greenbank.bus.events import EventRegistry, InvalidEventPayload, UnknownEventType
from greenbank.bus.leases import Claim, LeaseLost, backoff_delay, chain_blockers, claim_of
from greenbank.bus.models import DEAD, DELIVERED, PENDING, ROUTED, Delivery, OutboxEvent
from greenbank.bus.outbox import WAKE, WakeSignal
from greenbank.config import Settings
from greenbank.db import run_with_retry
from greenbank.ids import new_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispatcherConfig:
    poll_interval: float = 0.1  # seconds between looks for work when nothing woke us
    batch_size: int = 20
    lease_seconds: float = 60.0  # must outlast one batch of consumer runs
    max_attempts: int = 8
    backoff_base: float = 1.0
    backoff_cap: float = 600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> DispatcherConfig:
        return cls(
            poll_interval=settings.bus_poll_interval_ms / 1000,
            max_attempts=settings.bus_max_attempts,
        )


class Dispatcher:
    """One dispatching loop. Run ``run_once`` yourself, or ``start``/``stop`` a thread."""

    def __init__(
        self,
        container: Container,
        *,
        consumers: ConsumerRegistry | None = None,
        config: DispatcherConfig | None = None,
        events: EventRegistry = EVENTS,
        name: str | None = None,
        wake: WakeSignal = WAKE,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._container = container
        self._consumers = REGISTRY if consumers is None else consumers
        self.config = config or DispatcherConfig.from_settings(container.settings)
        self._events = events
        self.name = name or f"{socket.gethostname()[:30]}:{os.getpid()}:{new_id()[-12:]}"
        self._wake = wake
        self._rand = rand
        self._reader = container.engine.execution_options(sqlite_begin="DEFERRED")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one round -------------------------------------------------------------------------

    def run_once(self) -> int:
        """Route and deliver what is due now; returns how many events/deliveries it handled."""
        has_new, has_due = self._look_for_work()
        handled = self._route() if has_new else 0
        if has_due or handled:
            claims = self._claim()
            for claim in claims:
                self._deliver(claim)
            handled += len(claims)
        return handled

    def drain(self, max_rounds: int = 10_000) -> int:
        """Run rounds until nothing is due (``greenbank worker --once``, tests)."""
        total = 0
        for _ in range(max_rounds):
            handled = self.run_once()
            if not handled:
                break
            total += handled
        return total

    def _look_for_work(self) -> tuple[bool, bool]:
        """A read-only probe (no write lock on SQLite) so an idle dispatcher costs one query."""
        now = self._container.clock.now()
        with self._reader.connect() as conn:
            new = conn.scalar(select(OutboxEvent.id).where(OutboxEvent.status == PENDING).limit(1))
            due = conn.scalar(select(Delivery.id).where(*self._due(now)).limit(1))
        return new is not None, due is not None

    def _due(self, now: datetime) -> list[Any]:
        return [
            Delivery.status == PENDING,
            Delivery.next_attempt_at <= now,
            or_(Delivery.locked_until.is_(None), Delivery.locked_until < now),
            Delivery.consumer.in_(self._consumers.names()),
        ]

    def _route(self) -> int:
        def work() -> int:
            now = self._container.clock.now()
            with self._container.uow() as uow:
                rows = uow.session.scalars(
                    select(OutboxEvent)
                    .where(OutboxEvent.status == PENDING)
                    .order_by(OutboxEvent.id)
                    .limit(self.config.batch_size)
                    .with_for_update(skip_locked=True)
                ).all()
                for row in rows:
                    row.routed_at = now
                    try:
                        self._events.parse(row.event_type, row.version, row.payload, None)
                    except (UnknownEventType, InvalidEventPayload) as err:
                        log.warning("bus: event %s is a dead letter: %s", row.id, err.detail)
                        row.status, row.last_error = DEAD, f"{err.code}: {err.detail}"
                        continue
                    for target in self._consumers.for_event(row.event_type, row.version):
                        uow.session.add(
                            Delivery(
                                id=new_id(),
                                event_id=row.id,
                                consumer=target.name,
                                aggregate_type=row.aggregate_type,
                                aggregate_id=row.aggregate_id,
                                sequence=row.sequence,
                                status=PENDING,
                                attempts=0,
                                next_attempt_at=now,
                                updated_at=now,
                            )
                        )
                    row.status = ROUTED
                uow.commit()
                return len(rows)

        return run_with_retry(work)

    def _claim(self) -> list[Claim]:
        earlier_pending, earlier_unrouted = chain_blockers()

        def work() -> list[Claim]:
            now = self._container.clock.now()
            with self._container.uow() as uow:
                ids = uow.session.scalars(
                    select(Delivery.id)
                    .where(*self._due(now), ~earlier_pending, ~earlier_unrouted)
                    .order_by(Delivery.event_id)
                    .limit(self.config.batch_size)
                    .with_for_update(skip_locked=True, of=Delivery)
                ).all()
                if not ids:
                    return []
                uow.session.execute(
                    update(Delivery)
                    .where(Delivery.id.in_(ids))
                    .values(
                        locked_by=self.name,
                        locked_until=now + timedelta(seconds=self.config.lease_seconds),
                        updated_at=now,
                    )
                    .execution_options(synchronize_session=False)
                )
                rows = uow.session.execute(
                    select(Delivery, OutboxEvent)
                    .join(OutboxEvent, Delivery.event_id == OutboxEvent.id)
                    .where(Delivery.id.in_(ids))
                    .order_by(Delivery.event_id)
                ).all()
                claims = [claim_of(delivery, event) for delivery, event in rows]
                uow.commit()
                return claims

        return run_with_retry(work)

    def _deliver(self, claim: Claim) -> None:
        target = self._consumers.get(claim.consumer)
        assert target is not None  # claims only cover consumers of this registry
        try:
            with self._container.uow() as uow:
                if not already_processed(uow.session, claim.consumer, claim.meta.id):
                    event = self._events.parse(
                        claim.event_type, claim.version, claim.payload, claim.meta
                    )
                    target.handler(event, uow)
                    mark_processed(uow.session, claim.consumer, claim.meta.id, self._now())
                now = self._now()
                done = self._settle(
                    uow.session,
                    claim,
                    status=DELIVERED,
                    attempts=claim.attempts + 1,
                    delivered_at=now,
                    updated_at=now,
                )
                if not done:
                    raise LeaseLost(claim.delivery_id)
                uow.commit()
        except LeaseLost:
            log.warning(
                "bus: lost the lease on delivery %s; another worker has it", claim.delivery_id
            )
        except Exception as err:
            log.warning(
                "bus: consumer %s failed on event %s (attempt %d)",
                claim.consumer,
                claim.meta.id,
                claim.attempts + 1,
                exc_info=True,
            )
            self._record_failure(claim, err)

    def _record_failure(self, claim: Claim, err: Exception) -> None:
        attempts = claim.attempts + 1
        now = self._now()
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_error": f"{type(err).__name__}: {err}"[:4000],
            "updated_at": now,
        }
        if attempts >= self.config.max_attempts:
            values["status"] = DEAD
            log.error(
                "bus: delivery %s is a dead letter after %d attempts", claim.delivery_id, attempts
            )
        else:
            delay = backoff_delay(
                attempts,
                base=self.config.backoff_base,
                cap=self.config.backoff_cap,
                rand=self._rand,
            )
            values["next_attempt_at"] = now + timedelta(seconds=delay)

        def work() -> None:
            with self._container.uow() as uow:
                self._settle(uow.session, claim, **values)
                uow.commit()

        run_with_retry(work)

    def _settle(self, session: Any, claim: Claim, **values: Any) -> bool:
        """Update our leased delivery and release the lease; False when the lease was lost."""
        result = session.execute(
            update(Delivery)
            .where(Delivery.id == claim.delivery_id, Delivery.locked_by == self.name)
            .values(locked_by=None, locked_until=None, **values)
            .execution_options(synchronize_session=False)
        )
        return cast(CursorResult[Any], result).rowcount == 1

    def _now(self) -> datetime:
        return self._container.clock.now()

    # -- background thread -----------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            raise RuntimeError(f"dispatcher {self.name} is already running")
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, name=f"greenbank-dispatcher-{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the current round, then return (the thread is joined)."""
        self._stop.set()
        self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        failing = False
        while not self._stop.is_set():
            seen = self._wake.generation
            try:
                handled = self.run_once()
            except Exception:
                # Database down or not migrated yet: say so once, then retry quietly.
                log.log(
                    logging.DEBUG if failing else logging.ERROR, "bus: round failed", exc_info=True
                )
                failing = True
                self._stop.wait(max(1.0, self.config.poll_interval))
                continue
            failing = False
            if not handled:
                self._wake.wait(seen, self.config.poll_interval)


class DispatcherGroup:
    """The dispatchers of one process: the registered consumers (plus the broker forwarder when
    ``GREENBANK_BUS_BROKER_URL`` is set), ``concurrency`` loops, one broker connection."""

    def __init__(
        self,
        container: Container,
        *,
        concurrency: int = 1,
        consumers: ConsumerRegistry | None = None,
        config: DispatcherConfig | None = None,
    ) -> None:
        if consumers is None:
            load_bus_modules()
            consumers = REGISTRY
        self._publisher: BrokerPublisher | None = None
        url = container.settings.bus_broker_url
        if url:
            self._publisher = publisher_from_url(url)
            consumers = consumers.with_consumer(broker_consumer(self._publisher))
        self.dispatchers = [
            Dispatcher(container, consumers=consumers, config=config) for _ in range(concurrency)
        ]

    def start(self) -> None:
        for dispatcher in self.dispatchers:
            dispatcher.start()

    def stop(self, timeout: float = 10.0) -> None:
        for dispatcher in self.dispatchers:
            dispatcher.stop(timeout)
        if self._publisher is not None:
            self._publisher.close()
            self._publisher = None

    def drain(self) -> int:
        return sum(dispatcher.drain() for dispatcher in self.dispatchers)


def start_embedded(container: Container) -> DispatcherGroup | None:
    """For ``greenbank serve``: a dispatcher thread unless GREENBANK_BUS_EMBEDDED_DISPATCHER=0."""
    if not container.settings.bus_embedded_dispatcher:
        return None
    group = DispatcherGroup(container)
    group.start()
    return group


__all__ = [
    "Dispatcher",
    "DispatcherConfig",
    "DispatcherGroup",
    "start_embedded",
]
