"""Publishing: the event row is written in the caller's transaction, so it exists iff the change
it announces committed. Nothing here commits.

Order per aggregate is the ``sequence`` column (max + 1 within the aggregate, UNIQUE). Publish
while you hold the aggregate's lock (every service that changes the aggregate does): two
unlocked concurrent publishers for one aggregate make the second commit fail on the UNIQUE
constraint instead of silently reordering the stream.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from greenbank.bus.events import Event
from greenbank.bus.models import PENDING, OutboxEvent
from greenbank.clock import Clock, SystemClock
from greenbank.ids import new_id
from greenbank.logs import current_request_id

_PUBLISHED = "greenbank.bus.published"


class WakeSignal:
    """Generation counter + condition: in-process dispatchers wake as soon as an event commits.

    A waiter passes the generation it saw *before* looking for work, so a notification that
    lands between the look and the wait is never lost.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0

    @property
    def generation(self) -> int:
        with self._cond:
            return self._generation

    def notify(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        with self._cond:
            self._cond.wait_for(lambda: self._generation != seen, timeout=timeout)
            return self._generation


WAKE = WakeSignal()


def mark_for_wake_up(session: Session) -> None:
    """Wake local dispatchers when this session commits (outbox rows or re-queued letters)."""
    session.info[_PUBLISHED] = True


@sa_event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.info.pop(_PUBLISHED, False):
        WAKE.notify()


@sa_event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PUBLISHED, None)


def publish(
    session: Session,
    event: Event,
    *,
    aggregate_type: str,
    aggregate_id: str,
    headers: Mapping[str, str] | None = None,
    clock: Clock | None = None,
) -> str:
    """Add ``event`` to the outbox in the caller's transaction; returns the event id.

    ``headers`` carry tracing context (the request id is added automatically) and, for commands
    that have one, the idempotency key.
    """
    if not aggregate_type or not aggregate_id:
        raise ValueError("publish needs an aggregate_type and aggregate_id (the ordering key)")
    last = session.scalar(
        select(func.coalesce(func.max(OutboxEvent.sequence), 0)).where(
            OutboxEvent.aggregate_type == aggregate_type,
            OutboxEvent.aggregate_id == aggregate_id,
        )
    )
    all_headers: dict[str, str] = {}
    request_id = current_request_id()
    if request_id:
        all_headers["request_id"] = request_id
    all_headers.update(headers or {})
    payload: dict[str, Any] = event.model_dump(mode="json")
    row = OutboxEvent(
        id=new_id(),
        event_type=event.type,
        version=event.version,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        sequence=int(last or 0) + 1,
        payload=payload,
        headers=all_headers,
        created_at=(clock or SystemClock()).now(),
        status=PENDING,
    )
    session.add(row)
    mark_for_wake_up(session)
    return row.id


__all__ = ["WAKE", "WakeSignal", "mark_for_wake_up", "publish"]
