"""Publishing: the event row is written in the caller's transaction, so it exists iff the change
it announces committed. Nothing here commits.

Order per aggregate is the ``sequence`` column (max + 1 within the aggregate, UNIQUE). Publish
while you hold the aggregate's lock (every service that changes the aggregate does): two
unlocked concurrent publishers for one aggregate make the second commit fail on the UNIQUE
constraint instead of silently reordering the stream.

``publish_many`` writes many events in one go (one query for the last sequences, one
executemany), for batch writers that announce hundreds of aggregates per transaction.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from greenbank.bus.events import Event
from greenbank.bus.models import PENDING, OutboxEvent
from greenbank.clock import Clock, SystemClock
from greenbank.db import among, insert_many
from greenbank.ids import new_id
from greenbank.logs import current_request_id

_PUBLISHED = "greenbank.bus.published"
_OUTBOX = cast(Table, OutboxEvent.__table__)


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


@dataclass(frozen=True)
class Outgoing:
    """An event with its ordering key and headers (``publish_many`` takes a list of them)."""

    event: Event
    aggregate_type: str
    aggregate_id: str
    headers: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if not self.aggregate_type or not self.aggregate_id:
            raise ValueError("publish needs an aggregate_type and aggregate_id (the ordering key)")


def publish(
    session: Session,
    event: Event,
    *,
    aggregate_type: str,
    aggregate_id: str,
    headers: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    new_aggregate: bool = False,
) -> str:
    """Add ``event`` to the outbox in the caller's transaction; returns the event id.

    ``headers`` carry tracing context (the request id is added automatically) and, for commands
    that have one, the idempotency key. ``new_aggregate=True`` says the aggregate was created in
    this transaction and this is its first event: sequence 1 without a look-up (were it not
    so, the UNIQUE (aggregate, sequence) constraint would fail the commit).
    """
    outgoing = Outgoing(event, aggregate_type, aggregate_id, headers)  # checks the key
    last = (
        0
        if new_aggregate
        else session.scalar(
            select(func.coalesce(func.max(OutboxEvent.sequence), 0)).where(
                OutboxEvent.aggregate_type == aggregate_type,
                OutboxEvent.aggregate_id == aggregate_id,
            )
        )
    )
    row = OutboxEvent(**_row(outgoing, int(last or 0) + 1, (clock or SystemClock()).now()))
    session.add(row)
    mark_for_wake_up(session)
    return row.id


def publish_many(
    session: Session, outgoing: Sequence[Outgoing], *, clock: Clock | None = None
) -> list[str]:
    """``publish`` for many events at once: one query for the last sequences, one ``insert_many``.

    For batch writers that publish one event per aggregate they changed (hundreds per
    transaction). Events of one aggregate get consecutive sequences in the order given. The same
    locking rule as ``publish`` applies. Returns the event ids in order.
    """
    if not outgoing:
        return []
    last = _last_sequences(session, {(o.aggregate_type, o.aggregate_id) for o in outgoing})
    now = (clock or SystemClock()).now()
    rows = []
    for item in outgoing:
        key = (item.aggregate_type, item.aggregate_id)
        last[key] = last.get(key, 0) + 1
        rows.append(_row(item, last[key], now))
    insert_many(session, _OUTBOX, rows)
    mark_for_wake_up(session)
    return [row["id"] for row in rows]


def _last_sequences(session: Session, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The last sequence of each aggregate that has one: a query per aggregate type."""
    by_type: dict[str, set[str]] = defaultdict(set)
    for aggregate_type, aggregate_id in keys:
        by_type[aggregate_type].add(aggregate_id)
    found: dict[tuple[str, str], int] = {}
    for aggregate_type, ids in by_type.items():
        query = (
            select(_OUTBOX.c.aggregate_id, func.max(_OUTBOX.c.sequence))
            .where(
                _OUTBOX.c.aggregate_type == aggregate_type,
                among(session, _OUTBOX.c.aggregate_id, ids),
            )
            .group_by(_OUTBOX.c.aggregate_id)
        )
        for aggregate_id, sequence in session.execute(query):
            found[(aggregate_type, aggregate_id)] = int(sequence)
    return found


def _row(item: Outgoing, sequence: int, now: datetime) -> dict[str, Any]:
    headers: dict[str, str] = {}
    request_id = current_request_id()
    if request_id:
        headers["request_id"] = request_id
    headers.update(item.headers or {})
    return {
        "id": new_id(),
        "event_type": item.event.type,
        "version": item.event.version,
        "aggregate_type": item.aggregate_type,
        "aggregate_id": item.aggregate_id,
        "sequence": sequence,
        "payload": item.event.model_dump(mode="json"),
        "headers": headers,
        "created_at": now,
        "status": PENDING,
    }


__all__ = ["WAKE", "Outgoing", "WakeSignal", "mark_for_wake_up", "publish", "publish_many"]
