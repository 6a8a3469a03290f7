"""Retries with back-off, dead letters and replay, idempotent redelivery, leases, ordering."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bus_support import (
    DispatcherFactory,
    Recorder,
    ThingHappened,
    delivery,
    effects,
    publish_one,
)
from sqlalchemy import select, update

from greenbank.audit.models import AuditLine
from greenbank.bootstrap import Container
from greenbank.bus import service
from greenbank.bus.models import Delivery, OutboxEvent
from greenbank.clock import FixedClock


def test_failing_consumer_backs_off_then_dead_letters_then_replays(
    container: Container,
    clock: FixedClock,
    make_dispatcher: DispatcherFactory,
    receipts: Recorder,
    carbon: Recorder,
) -> None:
    receipts.fail_times = 3  # max_attempts=3, backoff_base=10 s, jitter pinned to the low end
    dispatcher = make_dispatcher()
    event_id = publish_one(container, ThingHappened(n=1))
    start = clock.now()

    dispatcher.drain()
    row = delivery(container, event_id, receipts.name)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == start + timedelta(seconds=5)  # 10 * 2**0, halved by jitter
    assert row.last_error == "RuntimeError: bustest.receipts is down"
    assert delivery(container, event_id, carbon.name).status == "delivered"

    clock.advance(timedelta(seconds=4.9))
    assert dispatcher.drain() == 0  # not due yet
    clock.advance(timedelta(seconds=0.1))
    dispatcher.drain()
    row = delivery(container, event_id, receipts.name)
    assert row.attempts == 2
    assert row.next_attempt_at == clock.now() + timedelta(seconds=10)  # 10 * 2**1, halved

    clock.advance(timedelta(seconds=10))
    dispatcher.drain()
    row = delivery(container, event_id, receipts.name)
    assert (row.status, row.attempts) == ("dead", 3)
    assert len(receipts.calls) == 3
    assert len(carbon.calls) == 1  # the healthy consumer never ran again

    [letter] = service.dead_letters(uow_factory=container.uow)
    assert (letter.event_id, letter.consumer, letter.attempts) == (event_id, receipts.name, 3)
    assert letter.last_error == "RuntimeError: bustest.receipts is down"

    assert service.replay(uow_factory=container.uow, clock=clock, event_id=event_id) == 1
    dispatcher.drain()
    assert delivery(container, event_id, receipts.name).status == "delivered"
    assert len(receipts.calls) == 4
    assert len(carbon.calls) == 1
    assert effects(container, receipts.name) == 1
    assert service.dead_letters(uow_factory=container.uow) == []
    with container.uow() as uow:
        audit = uow.session.scalar(select(AuditLine).where(AuditLine.action == "bus.replay"))
        assert audit is not None and audit.subject == event_id
    with pytest.raises(service.DeadLetterNotFound):
        service.replay(uow_factory=container.uow, clock=clock, event_id=event_id)


def test_redelivery_after_a_lost_acknowledgement_applies_the_effect_once(
    container: Container, make_dispatcher: DispatcherFactory, receipts: Recorder
) -> None:
    """A crash after the consumer's transaction but before the delivery was marked looks, to
    the next worker, like a pending delivery whose event was already processed."""
    event_id = publish_one(container, ThingHappened(n=1))
    dispatcher = make_dispatcher()
    dispatcher.drain()
    with container.uow() as uow:
        uow.session.execute(
            update(Delivery)
            .where(Delivery.event_id == event_id, Delivery.consumer == receipts.name)
            .values(status="pending")
        )
        uow.commit()
    assert dispatcher.drain() == 1
    assert delivery(container, event_id, receipts.name).status == "delivered"
    assert len(receipts.calls) == 1
    assert effects(container, receipts.name) == 1


def test_a_leased_delivery_is_invisible_to_others_until_the_lease_expires(
    container: Container, clock: FixedClock, make_dispatcher: DispatcherFactory, receipts: Recorder
) -> None:
    first, second = make_dispatcher(lease_seconds=30), make_dispatcher(lease_seconds=30)
    publish_one(container, ThingHappened(n=1))
    first._route()
    claims = first._claim()  # first "crashes" before delivering
    assert {c.consumer for c in claims} == {receipts.name, "bustest.carbon"}
    assert second.run_once() == 0
    clock.advance(timedelta(seconds=31))
    assert second.drain() == 2
    for claim in claims:  # the first worker wakes up: its lease is gone, nothing is redone
        first._deliver(claim)
    assert len(receipts.calls) == 1
    assert effects(container) == 2


def test_a_retrying_event_holds_back_later_events_of_its_aggregate_for_that_consumer_only(
    container: Container,
    clock: FixedClock,
    make_dispatcher: DispatcherFactory,
    receipts: Recorder,
    carbon: Recorder,
) -> None:
    receipts.fail_times = 3
    dispatcher = make_dispatcher()
    publish_one(container, ThingHappened(n=1), aggregate_id="x")
    publish_one(container, ThingHappened(n=2), aggregate_id="x")
    publish_one(container, ThingHappened(n=3), aggregate_id="y")
    dispatcher.drain()
    assert receipts.calls == [("x", 1, 1), ("y", 1, 3)]
    assert sorted(carbon.calls) == [("x", 1, 1), ("x", 2, 2), ("y", 1, 3)]
    clock.advance(timedelta(seconds=5))
    dispatcher.drain()
    clock.advance(timedelta(seconds=10))
    dispatcher.drain()  # third failure: x/1 is dead, which releases x/2
    assert receipts.calls[-2:] == [("x", 1, 1), ("x", 2, 2)]


def test_an_event_not_yet_routed_holds_back_later_ones(
    container: Container, make_dispatcher: DispatcherFactory, receipts: Recorder
) -> None:
    dispatcher = make_dispatcher()
    first = publish_one(container, ThingHappened(n=1))
    publish_one(container, ThingHappened(n=2))
    _set_status(container, first, "parked")  # a racing worker routes event 2 before event 1
    dispatcher._route()
    _set_status(container, first, "pending")
    assert dispatcher._claim() == []  # event 2 waits: event 1 is not even routed yet
    dispatcher.drain()
    assert [seq for _, seq, _ in receipts.calls] == [1, 2]


def _set_status(container: Container, event_id: str, status: str) -> None:
    with container.uow() as uow:
        uow.session.execute(
            update(OutboxEvent).where(OutboxEvent.id == event_id).values(status=status)
        )
        uow.commit()
