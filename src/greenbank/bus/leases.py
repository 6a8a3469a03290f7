"""Claims and leases for the dispatcher (``greenbank.bus.dispatcher``).

A claimed delivery is leased (``locked_by``/``locked_until``) rather than held under a row lock;
only the head of its (consumer, aggregate) chain may be claimed. Failed attempts back off with
jitter (``backoff_delay``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists
from sqlalchemy.orm import aliased

from greenbank.bus.events import EventMeta
from greenbank.bus.models import PENDING, Delivery, OutboxEvent


def backoff_delay(
    attempt: int, *, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Seconds before retry ``attempt + 1``: ``min(cap, base * 2**(attempt-1))`` with "equal
    jitter" (uniform in the upper half), so retries spread out but never come back early."""
    ceiling = min(cap, base * 2.0 ** min(attempt - 1, 62))
    return ceiling / 2 + ceiling / 2 * rand()


@dataclass(frozen=True)
class Claim:
    delivery_id: str
    consumer: str
    attempts: int
    event_type: str
    version: int
    payload: dict[str, Any]
    meta: EventMeta


class LeaseLost(Exception):
    """Another worker took the delivery over (our lease expired); our transaction rolls back."""


def chain_blockers() -> tuple[Any, Any]:
    """``EXISTS`` clauses true when a delivery is not the head of its (consumer, aggregate)
    chain: an earlier delivery still pending for that consumer, or an earlier event unrouted."""
    earlier = aliased(Delivery)
    earlier_pending = exists().where(
        earlier.consumer == Delivery.consumer,
        earlier.aggregate_type == Delivery.aggregate_type,
        earlier.aggregate_id == Delivery.aggregate_id,
        earlier.sequence < Delivery.sequence,
        earlier.status == PENDING,
    )
    earlier_unrouted = exists().where(
        OutboxEvent.aggregate_type == Delivery.aggregate_type,
        OutboxEvent.aggregate_id == Delivery.aggregate_id,
        OutboxEvent.sequence < Delivery.sequence,
        OutboxEvent.status == PENDING,
    )
    return earlier_pending, earlier_unrouted


def claim_of(delivery: Delivery, event: OutboxEvent) -> Claim:
    return Claim(
        delivery_id=delivery.id,
        consumer=delivery.consumer,
        attempts=delivery.attempts,
        event_type=event.event_type,
        version=event.version,
        payload=event.payload,
        meta=EventMeta(
            id=event.id,
            aggregate_type=event.aggregate_type,
            aggregate_id=event.aggregate_id,
            sequence=event.sequence,
            created_at=event.created_at,
            headers=event.headers,
        ),
    )


__all__ = ["Claim", "LeaseLost", "backoff_delay", "chain_blockers", "claim_of"]
