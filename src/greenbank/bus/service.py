"""Staff use cases: list dead letters, replay them, look at the bus's backlog.

A dead letter is either an event nobody could route (no schema for its type/version, or an
invalid payload: ``consumer`` is None) or one consumer's delivery that failed ``max_attempts``
times. Replaying re-queues it with fresh attempts; the consumer's processed-events record still
guarantees its effect happens once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update

from greenbank.audit.service import record
from greenbank.bus.models import DEAD, PENDING, Delivery, OutboxEvent
from greenbank.bus.outbox import mark_for_wake_up
from greenbank.clock import Clock
from greenbank.db import UowFactory
from greenbank.errors import NotFound


class DeadLetterNotFound(NotFound):
    code = "bus_dead_letter_not_found"
    title = "No dead letter with this event id"


@dataclass(frozen=True)
class DeadLetter:
    event_id: str
    event_type: str
    version: int
    aggregate_type: str
    aggregate_id: str
    consumer: str | None  # None: the event itself could not be routed
    attempts: int
    last_error: str | None
    created_at: datetime
    failed_at: datetime | None


@dataclass(frozen=True)
class BusStats:
    events: dict[str, int]  # outbox status -> count
    deliveries: dict[str, dict[str, int]]  # consumer -> status -> count
    oldest_pending_at: datetime | None  # creation time of the oldest undelivered event


def dead_letters(*, uow_factory: UowFactory, limit: int = 100) -> list[DeadLetter]:
    """Newest first: undeliverable deliveries and unroutable events."""
    with uow_factory() as uow:
        deliveries = uow.session.execute(
            select(Delivery, OutboxEvent)
            .join(OutboxEvent, Delivery.event_id == OutboxEvent.id)
            .where(Delivery.status == DEAD)
            .order_by(Delivery.updated_at.desc())
            .limit(limit)
        ).all()
        unroutable = uow.session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.status == DEAD)
            .order_by(OutboxEvent.id.desc())
            .limit(limit)
        ).all()
        letters = [
            _letter(event, d.consumer, d.attempts, d.last_error, d.updated_at)
            for d, event in deliveries
        ]
        letters += [_letter(e, None, 0, e.last_error, e.routed_at) for e in unroutable]
    letters.sort(key=lambda x: (x.failed_at or x.created_at, x.event_id), reverse=True)
    return letters[:limit]


def _letter(
    event: OutboxEvent,
    consumer: str | None,
    attempts: int,
    error: str | None,
    failed_at: datetime | None,
) -> DeadLetter:
    return DeadLetter(
        event_id=event.id,
        event_type=event.event_type,
        version=event.version,
        aggregate_type=event.aggregate_type,
        aggregate_id=event.aggregate_id,
        consumer=consumer,
        attempts=attempts,
        last_error=error,
        created_at=event.created_at,
        failed_at=failed_at,
    )


def replay(
    *,
    uow_factory: UowFactory,
    clock: Clock,
    event_id: str,
    consumer: str | None = None,
    actor: str = "staff",
) -> int:
    """Re-queue the dead letters of ``event_id`` (only ``consumer``'s, if given); returns how
    many. Raises DeadLetterNotFound when there is nothing dead to replay."""
    now = clock.now()
    with uow_factory() as uow:
        session = uow.session
        where = [Delivery.event_id == event_id, Delivery.status == DEAD]
        if consumer is not None:
            where.append(Delivery.consumer == consumer)
        requeued = _rowcount(
            session.execute(
                update(Delivery)
                .where(*where)
                .values(
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    locked_by=None,
                    locked_until=None,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
        )
        if consumer is None:
            requeued += _rowcount(
                session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id == event_id, OutboxEvent.status == DEAD)
                    .values(status=PENDING, routed_at=None)
                    .execution_options(synchronize_session=False)
                )
            )
        if not requeued:
            raise DeadLetterNotFound(f"no dead letter for event {event_id}", event_id=event_id)
        record(
            session,
            clock,
            actor=actor,
            action="bus.replay",
            subject=event_id,
            consumer=consumer,
            requeued=requeued,
        )
        mark_for_wake_up(session)
        uow.commit()
    return int(requeued)


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def stats(*, uow_factory: UowFactory) -> BusStats:
    with uow_factory() as uow:
        events = {
            status: count
            for status, count in uow.session.execute(
                select(OutboxEvent.status, func.count()).group_by(OutboxEvent.status)
            )
        }
        deliveries: dict[str, dict[str, int]] = {}
        for name, status, count in uow.session.execute(
            select(Delivery.consumer, Delivery.status, func.count()).group_by(
                Delivery.consumer, Delivery.status
            )
        ):
            deliveries.setdefault(name, {})[status] = count
        oldest = uow.session.scalar(
            select(func.min(OutboxEvent.created_at))
            .join(Delivery, Delivery.event_id == OutboxEvent.id, isouter=True)
            .where((OutboxEvent.status == PENDING) | (Delivery.status == PENDING))
        )
    return BusStats(events=events, deliveries=deliveries, oldest_pending_at=oldest)


__all__ = ["BusStats", "DeadLetter", "DeadLetterNotFound", "dead_letters", "replay", "stats"]
