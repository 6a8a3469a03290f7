"""The bus tables: the outbox, one delivery row per (event, consumer), processed events.

* ``bus_outbox`` — one row per published event, written in the publisher's transaction.
  ``status``: ``pending`` (not yet fanned out) -> ``routed`` (delivery rows exist) or ``dead``
  (no Event class for its type/version, or its payload does not validate).
* ``bus_deliveries`` — the unit of work of the dispatcher: one row per (event, consumer), with
  its own attempts, back-off and lease, so one failing consumer never re-runs or blocks the
  others. ``status``: ``pending`` -> ``delivered`` or ``dead``. Aggregate and sequence are copied
  from the event so the "is an earlier event of this aggregate still pending for this consumer?"
  check is one indexed look-up.
* ``bus_processed_events`` — (consumer, event_id), written in the consumer's own transaction:
  the idempotency record that makes a redelivered event a no-op.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from greenbank.db import Base
from greenbank.ids import new_id

PENDING = "pending"
ROUTED = "routed"
DELIVERED = "delivered"
DEAD = "dead"


class OutboxEvent(Base):
    __tablename__ = "bus_outbox"
    __table_args__ = (UniqueConstraint("aggregate_type", "aggregate_id", "sequence"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    event_type: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    aggregate_type: Mapped[str] = mapped_column(String(60))
    aggregate_id: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), index=True, default=PENDING)
    routed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class Delivery(Base):
    __tablename__ = "bus_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "consumer"),
        Index("ix_bus_deliveries_due", "status", "next_attempt_at"),
        Index("ix_bus_deliveries_chain", "consumer", "aggregate_type", "aggregate_id", "sequence"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    event_id: Mapped[str] = mapped_column(String(36), ForeignKey("bus_outbox.id"))
    consumer: Mapped[str] = mapped_column(String(100))
    aggregate_type: Mapped[str] = mapped_column(String(60))
    aggregate_id: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class ProcessedEvent(Base):
    __tablename__ = "bus_processed_events"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    processed_at: Mapped[datetime]
