"""A carbon credit evaluates the perk rules through the bus: ingesting a utility payment (89 g)
publishes one ``carbon.credited`` for the customer, and the ``rewards.perks`` consumer grants the
rule it crossed — once, however often the event is delivered."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from test_perks import activate

from greenbank.bootstrap import Container
from greenbank.bus.consumers import REGISTRY, ConsumerRegistry
from greenbank.bus.dispatcher import Dispatcher
from greenbank.bus.events import REGISTRY as EVENTS
from greenbank.bus.events import EventMeta
from greenbank.bus.models import OutboxEvent
from greenbank.carbon import consent
from greenbank.carbon.catalog import install_v1
from greenbank.carbon.events import CarbonCredited
from greenbank.carbon.ingest import ingest_events
from greenbank.carbon.pipeline import RawEvent
from greenbank.clock import FixedClock
from greenbank.rewards import perks
from greenbank.rewards.consumers import PERKS_CONSUMER, evaluate_perks
from greenbank.rewards.models import GrantRow

TEN_POINTS: dict[str, Any] = {  # 1 point per 10 g: one payment (89 g) earns 8, two earn 17
    "code": "first_ten_points",
    "kind": "credit_limit_upgrade",
    "conditions": [{"field": "points_earned", "op": ">=", "value": 10}],
    "params": {"suggested_increase_fen": 500_000},
    "frequency": "once",
}


def _customer_with_consent(container: Container, customer: str) -> None:
    with container.uow() as uow:
        install_v1(uow.session, now=container.clock.now(), actor="test")
        uow.commit()
    kw = {"uow_factory": container.uow, "clock": container.clock, "customer_id": customer}
    consent.open_account(**kw, accept_terms=True, terms_version=consent.TERMS_VERSION)
    consent.grant(**kw, source="bank", scenarios=["online_utility_payment"])
    assert isinstance(container.clock, FixedClock)
    container.clock.advance(timedelta(hours=1))


def _bill(container: Container, payment: str, customer: str, utility: str) -> RawEvent:
    at = container.clock.now() - timedelta(minutes=1)
    inputs = {"utility": utility}
    return RawEvent("bank", payment, customer, "online_utility_payment", at, inputs)


def _pay(container: Container, payment: str, customer: str, utility: str) -> None:
    raw = _bill(container, payment, customer, utility)
    [result] = ingest_events(container.uow, container.clock, [raw])
    assert result.outcome == "accepted", result


def _grants(container: Container, customer: str) -> list[tuple[str, int]]:
    with container.uow() as uow:
        rows = uow.session.scalars(select(GrantRow).where(GrantRow.customer_id == customer))
        return [(g.rule_code, g.rule_version) for g in rows]


def _credited(container: Container) -> list[CarbonCredited]:
    """The ``carbon.credited`` events in the outbox, read back as a consumer gets them."""
    with container.uow() as uow:
        query = select(OutboxEvent).where(OutboxEvent.event_type == CarbonCredited.type)
        found = []
        for row in uow.session.scalars(query.order_by(OutboxEvent.sequence)):
            meta = EventMeta(id=row.id, aggregate_type=row.aggregate_type,
                             aggregate_id=row.aggregate_id, sequence=row.sequence,
                             created_at=row.created_at, headers=row.headers)  # fmt: skip
            event = EVENTS.parse(row.event_type, row.version, row.payload, meta)
            assert isinstance(event, CarbonCredited)
            found.append(event)
        return found


def test_a_credit_over_a_rule_threshold_grants_the_right_once(container: Container) -> None:
    activate(container, TEN_POINTS)
    _customer_with_consent(container, "c1")
    handler = REGISTRY.get(PERKS_CONSUMER)
    assert handler is not None
    dispatcher = Dispatcher(container, consumers=ConsumerRegistry([handler]))

    _pay(container, "utility:p1", "c1", "water")  # 89 g: 8 points
    dispatcher.drain()
    assert _grants(container, "c1") == []

    _pay(container, "utility:p2", "c1", "gas")  # 178 g: 17 points
    dispatcher.drain()
    assert _grants(container, "c1") == [("first_ten_points", 1)]

    first, second = _credited(container)
    assert (second.customer_id, second.credited_mg, second.lifetime_mg, second.level) == (
        "c1",
        89_000,
        178_000,
        first.level,
    )
    assert (first.meta.aggregate_type, first.meta.aggregate_id) == ("carbon_account", "c1")
    assert second.meta.sequence == first.meta.sequence + 1

    with container.uow() as uow:  # a redelivery that got past the bus's own record
        evaluate_perks(second, uow)
        uow.commit()
    assert _grants(container, "c1") == [("first_ten_points", 1)]
    assert perks.evaluate_all(uow=container.uow, clock=container.clock).granted == 0


def test_a_batch_publishes_one_event_per_credited_customer(container: Container) -> None:
    _customer_with_consent(container, "c1")
    batch = [
        _bill(container, f"utility:{n}", customer, utility)
        for n, (customer, utility) in enumerate(
            [("c1", "water"), ("c1", "gas"), ("nobody", "gas"), ("c1", "electricity")]
        )
    ]
    results = ingest_events(container.uow, container.clock, batch)
    assert [r.outcome for r in results] == ["accepted", "accepted", "rejected", "accepted"]
    [event] = _credited(container)
    assert (event.customer_id, event.credited_mg, event.lifetime_mg) == ("c1", 267_000, 267_000)
