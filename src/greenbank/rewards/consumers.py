"""The bus consumers of rewards: settle green-deposit rate bonuses when deposits pay interest,
and evaluate the perk rules when the carbon account credits a customer.

Listed in ``greenbank.bus.consumers.BUS_MODULES``. The dispatcher runs it in a unit of work and
records the processed event in the same transaction; the ledger entry's idempotency key
(``rewards:rate_bonus:<holding>``) and the bonus row's status make a redelivery a no-op as well.
The event's own time is the clock, so the entry's date is the payout's, not the worker's.
Perk grants are keyed (rule, customer, period), UNIQUE, so evaluating again grants nothing twice.
"""

from __future__ import annotations

from greenbank.bus import Event, consumer
from greenbank.carbon.events import CarbonCredited
from greenbank.clock import FixedClock
from greenbank.db import UnitOfWork
from greenbank.deposits.events import DepositWithdrawn, MaturityBatchProcessed
from greenbank.rewards.perks import evaluate_customer
from greenbank.rewards.rate_bonus import forfeit_rate_bonus, pay_rate_bonus, shrink_rate_bonus

RATE_BONUS_CONSUMER = "rewards.rate_bonus"
PERKS_CONSUMER = "rewards.perks"


SETTLES: list[type[Event]] = [MaturityBatchProcessed, DepositWithdrawn]


@consumer(RATE_BONUS_CONSUMER, event_types=SETTLES)
def settle_rate_bonus(event: Event, uow: UnitOfWork) -> None:
    clock = FixedClock(event.meta.created_at)
    if isinstance(event, MaturityBatchProcessed):  # matured or rolled over: term interest paid
        for holding in event.holdings:
            pay_rate_bonus(uow.session, clock=clock, holding_id=holding.holding_id)
    elif isinstance(event, DepositWithdrawn):
        if event.kind == "maturity":
            pay_rate_bonus(uow.session, clock=clock, holding_id=event.holding_id)
        elif event.kind == "full_early":
            forfeit_rate_bonus(uow.session, clock=clock, holding_id=event.holding_id)
        else:  # partial_early
            shrink_rate_bonus(
                uow.session, holding_id=event.holding_id, remaining_fen=event.remaining_fen
            )


@consumer(PERKS_CONSUMER, event_types=[CarbonCredited])
def evaluate_perks(event: Event, uow: UnitOfWork) -> None:
    """A credit may take the customer over a rule's threshold: grant what the rules give now."""
    assert isinstance(event, CarbonCredited)
    evaluate_customer(uow.session, FixedClock(event.meta.created_at), event.customer_id)
