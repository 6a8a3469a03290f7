"""Subscribers: a named registry of consumers and the processed-events idempotency record.

A consumer is ``handler(event, uow) -> None``. The dispatcher calls it inside an open unit of
work and, in that same transaction, records ``(consumer, event_id)`` in
``bus_processed_events`` and marks the delivery done — so the consumer's effect, the
idempotency record and the bookkeeping commit together or not at all. Handlers never commit;
they call service functions that work in ``uow.session``.

The name is part of the stored state (deliveries, processed events): renaming a consumer makes
it a new subscriber. Consumers subscribe to event *classes*, i.e. (type, version) pairs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.bus.events import Event
from greenbank.bus.models import ProcessedEvent
from greenbank.db import UnitOfWork

# Modules that define events or consumers; workers import them before they start. Each domain
# adds its own line (e.g. "greenbank.receipts.consumers").
BUS_MODULES: tuple[str, ...] = (
    "greenbank.receipts.consumers",
    "greenbank.rewards.consumers",
    "greenbank.carbon.consumers",
    "greenbank.accounts.funds_events",
    "greenbank.partners.consumers",
    "greenbank.deposits.events",
)

E = TypeVar("E", bound=Event)
Handler = Callable[[Event, UnitOfWork], None]


@dataclass(frozen=True)
class Consumer:
    name: str
    handler: Handler
    event_types: frozenset[tuple[str, int]] | None  # None: every event

    def wants(self, event_type: str, version: int) -> bool:
        return self.event_types is None or (event_type, version) in self.event_types


class ConsumerRegistry:
    """Consumers by name. The process-wide one is ``REGISTRY``; tests build their own."""

    def __init__(self, consumers: Sequence[Consumer] = ()) -> None:
        self._consumers: dict[str, Consumer] = {}
        for item in consumers:
            self.add(item)

    def add(self, item: Consumer) -> None:
        known = self._consumers.get(item.name)
        if known is not None and known.handler.__qualname__ != item.handler.__qualname__:
            raise ValueError(f"consumer name {item.name!r} is already taken")
        self._consumers[item.name] = item

    def consumer(
        self, name: str, *, event_types: Sequence[type[E]] | None
    ) -> Callable[[Callable[[E, UnitOfWork], None]], Callable[[E, UnitOfWork], None]]:
        """Register the decorated handler for ``event_types`` (``None``: every event)."""
        if event_types is not None and not event_types:
            raise ValueError(f"consumer {name!r}: list at least one event type (or None for all)")
        wanted = (
            None if event_types is None else frozenset((t.type, t.version) for t in event_types)
        )

        def register(
            handler: Callable[[E, UnitOfWork], None],
        ) -> Callable[[E, UnitOfWork], None]:
            self.add(Consumer(name, cast(Handler, handler), wanted))
            return handler

        return register

    def get(self, name: str) -> Consumer | None:
        return self._consumers.get(name)

    def names(self) -> list[str]:
        return sorted(self._consumers)

    def for_event(self, event_type: str, version: int) -> list[Consumer]:
        return [c for c in self._consumers.values() if c.wants(event_type, version)]

    def with_consumer(self, extra: Consumer) -> ConsumerRegistry:
        """A copy with one more consumer (how settings add the built-in broker forwarder)."""
        return ConsumerRegistry([*self._consumers.values(), extra])

    def __iter__(self) -> Iterator[Consumer]:
        return iter(self._consumers.values())

    def __len__(self) -> int:
        return len(self._consumers)


REGISTRY = ConsumerRegistry()


def consumer(
    name: str, *, event_types: Sequence[type[E]] | None
) -> Callable[[Callable[[E, UnitOfWork], None]], Callable[[E, UnitOfWork], None]]:
    """``@consumer("receipts.seal", event_types=[DepositPurchased])`` on a module-level handler."""
    return REGISTRY.consumer(name, event_types=event_types)


def load_bus_modules(modules: Sequence[str] = BUS_MODULES) -> None:
    for module in modules:
        importlib.import_module(module)


def already_processed(session: Session, consumer_name: str, event_id: str) -> bool:
    found = session.scalar(
        select(ProcessedEvent.event_id).where(
            ProcessedEvent.consumer == consumer_name, ProcessedEvent.event_id == event_id
        )
    )
    return found is not None


def mark_processed(session: Session, consumer_name: str, event_id: str, at: datetime) -> None:
    """Insert the idempotency record; a concurrent duplicate fails on the primary key."""
    session.add(ProcessedEvent(consumer=consumer_name, event_id=event_id, processed_at=at))


__all__ = [
    "BUS_MODULES",
    "REGISTRY",
    "Consumer",
    "ConsumerRegistry",
    "already_processed",
    "consumer",
    "load_bus_modules",
    "mark_processed",
]
