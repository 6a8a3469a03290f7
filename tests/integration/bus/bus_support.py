"""Test events, a recording consumer and helpers shared by the bus integration tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select

from greenbank.audit.models import AuditLine
from greenbank.audit.service import record
from greenbank.bootstrap import Container
from greenbank.bus.dispatcher import Dispatcher
from greenbank.bus.events import Event
from greenbank.bus.models import Delivery, OutboxEvent
from greenbank.bus.outbox import publish
from greenbank.clock import SystemClock
from greenbank.db import UnitOfWork

DispatcherFactory = Callable[..., Dispatcher]


class ThingHappened(Event):
    type = "bustest.thing_happened"
    n: int


class OtherHappened(Event):
    type = "bustest.other_happened"
    note: str = ""


@dataclass
class Recorder:
    """A consumer handler that writes an audit line (its database effect) and remembers calls.

    ``fail_times`` makes the first N calls raise, to exercise retries.
    """

    name: str
    fail_times: int = 0
    calls: list[tuple[str, int, int]] = field(default_factory=list)  # (aggregate, seq, n)
    hook: Callable[[], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: Event, uow: UnitOfWork) -> None:
        assert isinstance(event, ThingHappened | OtherHappened)
        with self._lock:
            self.calls.append(
                (event.meta.aggregate_id, event.meta.sequence, getattr(event, "n", -1))
            )
            failing = self.fail_times > 0
            if failing:
                self.fail_times -= 1
        if self.hook is not None:
            self.hook()
        if failing:
            raise RuntimeError(f"{self.name} is down")
        record(
            uow.session,
            SystemClock(),
            actor=self.name,
            action="bustest.effect",
            subject=event.meta.id,
        )


def publish_one(
    container: Container, event: Event, *, aggregate_id: str = "a1", commit: bool = True
) -> str:
    with container.uow() as uow:
        event_id = publish(
            uow.session,
            event,
            aggregate_type="bustest",
            aggregate_id=aggregate_id,
            clock=container.clock,
        )
        if commit:
            uow.commit()
    return event_id


def effects(container: Container, consumer: str | None = None) -> int:
    query = select(func.count()).select_from(AuditLine).where(AuditLine.action == "bustest.effect")
    if consumer is not None:
        query = query.where(AuditLine.actor == consumer)
    with container.uow() as uow:
        return uow.session.scalar(query) or 0


def delivery(container: Container, event_id: str, consumer: str) -> Delivery:
    with container.uow() as uow:
        row = uow.session.scalar(
            select(Delivery).where(Delivery.event_id == event_id, Delivery.consumer == consumer)
        )
        assert row is not None
        uow.session.expunge(row)  # keep its loaded values after the read-only rollback
    return row


def outbox_row(container: Container, event_id: str) -> OutboxEvent:
    with container.uow() as uow:
        row = uow.session.get(OutboxEvent, event_id)
        assert row is not None
        uow.session.expunge(row)
    return row
