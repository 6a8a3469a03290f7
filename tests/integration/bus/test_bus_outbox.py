"""Publishing and routing: an event exists iff its transaction committed, and is delivered once."""

from __future__ import annotations

import pytest
from bus_support import (
    DispatcherFactory,
    OtherHappened,
    Recorder,
    ThingHappened,
    delivery,
    effects,
    outbox_row,
    publish_one,
)
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from greenbank.bootstrap import Container
from greenbank.bus import service
from greenbank.bus.models import Delivery, OutboxEvent, ProcessedEvent
from greenbank.bus.outbox import Outgoing, publish, publish_many
from greenbank.ids import new_id
from greenbank.logs import reset_request_id, set_request_id


def _count(container: Container, model: type[object]) -> int:
    with container.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


def test_rolled_back_publish_leaves_no_event(
    container: Container, make_dispatcher: DispatcherFactory, receipts: Recorder
) -> None:
    publish_one(container, ThingHappened(n=1), commit=False)
    assert _count(container, OutboxEvent) == 0
    assert make_dispatcher().drain() == 0
    assert receipts.calls == []


def test_committed_event_is_delivered_once_to_each_subscriber(
    container: Container, make_dispatcher: DispatcherFactory, receipts: Recorder, carbon: Recorder
) -> None:
    event_id = publish_one(container, ThingHappened(n=7))
    dispatcher = make_dispatcher()
    assert dispatcher.drain() == 3  # one routed event + two deliveries
    assert dispatcher.drain() == 0
    assert receipts.calls == [("a1", 1, 7)]
    assert carbon.calls == [("a1", 1, 7)]
    assert effects(container) == 2
    assert outbox_row(container, event_id).status == "routed"
    for name in (receipts.name, carbon.name):
        row = delivery(container, event_id, name)
        assert (row.status, row.attempts, row.locked_by) == ("delivered", 1, None)
    assert _count(container, ProcessedEvent) == 2


def test_only_subscribed_consumers_get_a_delivery(
    container: Container, make_dispatcher: DispatcherFactory, receipts: Recorder, carbon: Recorder
) -> None:
    publish_one(container, OtherHappened(note="x"))
    make_dispatcher().drain()
    assert len(receipts.calls) == 1
    assert carbon.calls == []
    assert _count(container, Delivery) == 1


def test_sequence_counts_per_aggregate_and_headers_carry_context(container: Container) -> None:
    token = set_request_id("req-42")
    try:
        with container.uow() as uow:
            ids = [
                publish(
                    uow.session,
                    ThingHappened(n=i),
                    aggregate_type="bustest",
                    aggregate_id=agg,
                    headers={"idempotency_key": f"k{i}"},
                    clock=container.clock,
                )
                for i, agg in enumerate(["a", "a", "b", "a"])
            ]
            uow.commit()
    finally:
        reset_request_id(token)
    rows = [outbox_row(container, event_id) for event_id in ids]
    assert [(r.aggregate_id, r.sequence) for r in rows] == [("a", 1), ("a", 2), ("b", 1), ("a", 3)]
    assert rows[3].headers == {"request_id": "req-42", "idempotency_key": "k3"}
    assert rows[0].payload == {"n": 0}
    assert (rows[0].event_type, rows[0].version) == ("bustest.thing_happened", 1)
    assert rows[0].created_at == container.clock.now()


def test_publish_many_continues_each_aggregate_in_the_order_given(
    container: Container, make_dispatcher: DispatcherFactory, receipts: Recorder
) -> None:
    with container.uow() as uow:
        publish(uow.session, ThingHappened(n=0), aggregate_type="bustest", aggregate_id="a")
        uow.commit()
    token = set_request_id("req-7")
    try:
        with container.uow() as uow:
            ids = publish_many(
                uow.session,
                [
                    Outgoing(ThingHappened(n=1), "bustest", "a"),
                    Outgoing(ThingHappened(n=2), "bustest", "b", {"idempotency_key": "k2"}),
                    Outgoing(ThingHappened(n=3), "bustest", "a"),
                ],
                clock=container.clock,
            )
            assert publish_many(uow.session, []) == []
            uow.commit()
    finally:
        reset_request_id(token)
    rows = [outbox_row(container, event_id) for event_id in ids]
    assert [(r.aggregate_id, r.sequence, r.payload) for r in rows] == [
        ("a", 2, {"n": 1}),
        ("b", 1, {"n": 2}),
        ("a", 3, {"n": 3}),
    ]
    assert rows[1].headers == {"request_id": "req-7", "idempotency_key": "k2"}
    assert {r.created_at for r in rows} == {container.clock.now()}
    assert make_dispatcher().drain() == 12  # four routed events, two deliveries each
    assert [(agg, seq, n) for agg, seq, n in receipts.calls if agg == "a"] == [
        ("a", 1, 0),
        ("a", 2, 1),
        ("a", 3, 3),
    ]


def test_publish_many_refuses_an_event_without_an_ordering_key() -> None:
    with pytest.raises(ValueError, match="aggregate_type and aggregate_id"):
        Outgoing(ThingHappened(n=1), "bustest", "")


def _raw_event(container: Container, event_type: str, payload: dict[str, object]) -> str:
    event_id = new_id()
    with container.uow() as uow:
        uow.session.add(
            OutboxEvent(
                id=event_id,
                event_type=event_type,
                version=1,
                aggregate_type="bustest",
                aggregate_id="raw",
                sequence=1,
                payload=payload,
                headers={},
                created_at=container.clock.now(),
                status="pending",
            )
        )
        uow.commit()
    return event_id


def test_unknown_event_type_is_a_dead_letter_with_a_clear_reason(
    container: Container, make_dispatcher: DispatcherFactory, receipts: Recorder
) -> None:
    event_id = _raw_event(container, "bustest.never_defined", {"n": 1})
    make_dispatcher().drain()
    row = outbox_row(container, event_id)
    assert row.status == "dead"
    assert row.last_error is not None
    assert row.last_error.startswith("bus_unknown_event_type: no Event class for")
    assert "'bustest.never_defined' version 1" in row.last_error
    [letter] = service.dead_letters(uow_factory=container.uow)
    assert (letter.event_id, letter.consumer) == (event_id, None)
    assert receipts.calls == []


def test_invalid_payload_is_a_dead_letter_naming_the_field(
    container: Container, make_dispatcher: DispatcherFactory
) -> None:
    event_id = _raw_event(container, "bustest.thing_happened", {"n": "not a number"})
    make_dispatcher().drain()
    row = outbox_row(container, event_id)
    assert row.status == "dead"
    assert row.last_error is not None
    assert "bus_invalid_event_payload" in row.last_error
    assert "n: Input should be a valid integer" in row.last_error


def test_a_new_aggregates_first_event_skips_the_look_up_and_a_wrong_claim_fails(
    container: Container,
) -> None:
    with container.uow() as uow:
        first = publish(
            uow.session, ThingHappened(n=1), aggregate_type="thing", aggregate_id="new-1",
            new_aggregate=True,
        )  # fmt: skip
        uow.commit()
    assert outbox_row(container, first).sequence == 1
    with pytest.raises(IntegrityError), container.uow() as uow:  # "new-1" already has events
        publish(
            uow.session, ThingHappened(n=2), aggregate_type="thing", aggregate_id="new-1",
            new_aggregate=True,
        )  # fmt: skip
        uow.commit()
    assert _count(container, OutboxEvent) == 1
