"""Bank events on the bus become credits: an online deposit purchase is credited within a second
and explained as 89 g from the provisional online-deposit methodology."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from carbon_db_support import open_with

from greenbank.bootstrap import Container
from greenbank.bus import Event, publish
from greenbank.bus.consumers import REGISTRY, ConsumerRegistry
from greenbank.bus.dispatcher import Dispatcher, DispatcherGroup
from greenbank.carbon import queries
from greenbank.carbon.consumers import CREDIT_CONSUMER
from greenbank.carbon.events import ECreditCardApplied, EStatementOptedIn, UtilityPaid
from greenbank.deposits.events import DepositPurchased
from greenbank.receipts.events import ReceiptSealed


def _registry() -> ConsumerRegistry:
    import greenbank.carbon.consumers  # noqa: F401  (registers the consumer)

    credit = REGISTRY.get(CREDIT_CONSUMER)
    assert credit is not None
    return ConsumerRegistry([credit])


def _publish(container: Container, event: Event, aggregate: str) -> None:
    with container.uow() as uow:
        publish(
            uow.session, event, aggregate_type="test", aggregate_id=aggregate, clock=container.clock
        )
        uow.commit()


def _purchase(container: Container, holding: str, at: datetime) -> DepositPurchased:
    return DepositPurchased(
        holding_id=holding,
        customer_id="c1",
        product_code="TD1Y",
        amount_fen=500_000,
        term="1Y",
        purchased_at=at,
    )


def test_a_deposit_purchase_is_credited_within_a_second_and_explained(carbon: Container) -> None:
    open_with(carbon, "c1", scenarios=["online_deposit"])
    group = DispatcherGroup(carbon, consumers=_registry())
    group.start()
    try:
        time.sleep(0.05)
        started = time.monotonic()
        _publish(carbon, _purchase(carbon, "h1", carbon.clock.now()), "h1")
        history: list[queries.HistoryItem] = []
        while time.monotonic() - started < 1.0 and not history:
            history, _ = queries.history(carbon.uow, customer_id="c1")
            time.sleep(0.01)
        elapsed = time.monotonic() - started
    finally:
        group.stop()
    assert history and elapsed < 1.0, elapsed
    [entry] = history
    explanation = queries.explain(carbon.uow, customer_id="c1", entry_id=entry.id)
    assert explanation.entry.co2e_mg == 89_000
    assert (explanation.scenario_name, explanation.methodology_version) == (
        "线上存款（替代柜台办理）",
        1,
    )
    assert explanation.provisional is True
    [factor] = explanation.parameters
    assert (factor.name, str(factor.value), factor.status.value) == (
        "factor_g_per_transaction",
        "89",
        "provisional",
    )
    assert explanation.note.startswith("89 g from the 线上存款（替代柜台办理） methodology")
    assert explanation.source_event_id == "deposit:h1"


def test_every_bank_event_credits_its_scenario_once(carbon: Container) -> None:
    scenarios = [
        "online_deposit",
        "e_receipt",
        "e_statement",
        "online_utility_payment",
        "e_credit_card",
    ]
    open_with(carbon, "c1", scenarios=scenarios)
    at = carbon.clock.now()
    events: list[Event] = [
        _purchase(carbon, "h1", at),
        ReceiptSealed(
            receipt_id="r1",
            receipt_no="R1",
            receipt_type="purchase",
            customer_id="c1",
            pdf_sm3="00",
        ),
        ReceiptSealed(
            receipt_id="r2",
            receipt_no="R2",
            receipt_type="purchase",
            customer_id=None,
            pdf_sm3="00",
        ),
        EStatementOptedIn(customer_id="c1", statement_account="6217****1234", opted_in_at=at),
        UtilityPaid(customer_id="c1", payment_id="p1", utility="gas", amount_fen=100, paid_at=at),
        ECreditCardApplied(customer_id="c1", application_id="a1", applied_at=at),
        ECreditCardApplied(customer_id="c1", application_id="a2", applied_at=at),  # lifetime 1
    ]
    for n, event in enumerate(events):
        _publish(carbon, event, f"agg-{n}")
    dispatcher = Dispatcher(carbon, consumers=_registry())
    dispatcher.drain()
    dispatcher.drain()  # nothing left: redelivery would be skipped anyway
    summary = queries.summary(carbon.uow, carbon.clock, customer_id="c1")
    by_scenario = {t.scenario: t.lifetime_mg for t in summary.scenarios}
    assert by_scenario == {
        "online_deposit": 89_000,
        "e_receipt": 24_000,
        "e_statement": 24_000,
        "online_utility_payment": 89_000,
        "e_credit_card": 89_000,
    }
    assert summary.lifetime_mg == 315_000 and summary.today_mg == 315_000


def test_a_late_delivery_is_judged_by_when_the_bank_recorded_it(carbon: Container) -> None:
    open_with(carbon, "c1", scenarios=["online_deposit"])
    _publish(carbon, _purchase(carbon, "h1", carbon.clock.now()), "h1")
    carbon.clock.advance(timedelta(days=30))  # type: ignore[attr-defined]
    Dispatcher(carbon, consumers=_registry()).drain()
    history, _ = queries.history(carbon.uow, customer_id="c1")
    assert [item.co2e_mg for item in history] == [89_000]
