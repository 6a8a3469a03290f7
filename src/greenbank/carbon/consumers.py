"""The ``carbon.credit`` bus consumer: the bank's own behaviour events become carbon credits.

Each event is turned into a ``RawEvent`` from source ``bank`` with a stable id (see events.py) and
ingested in the dispatcher's transaction, so the credit and the processed-event record commit
together. Its receipt time is the outbox row's creation time, so redelivery later does not make
an event late. Refusals (no account, no consent, over the cap) are recorded as rejections; the
delivery still succeeds, because retrying would not change the answer.
"""

from __future__ import annotations

from greenbank.bus import Event, consumer
from greenbank.carbon.events import ECreditCardApplied, EStatementOptedIn, UtilityPaid
from greenbank.carbon.ingest import BANK_SOURCE, ingest_in_session
from greenbank.carbon.pipeline import RawEvent
from greenbank.clock import SystemClock
from greenbank.db import UnitOfWork
from greenbank.deposits.events import DepositPurchased
from greenbank.receipts.events import ReceiptSealed

CREDIT_CONSUMER = "carbon.credit"


def raw_event(event: Event) -> RawEvent | None:
    """The behaviour an event stands for, or None when it earns nothing (no customer)."""
    received = event.meta.created_at
    if isinstance(event, DepositPurchased):
        return RawEvent(
            BANK_SOURCE,
            f"deposit:{event.holding_id}",
            event.customer_id,
            "online_deposit",
            event.purchased_at,
            {},
            received,
        )
    if isinstance(event, ReceiptSealed):
        if event.customer_id is None:
            return None
        return RawEvent(
            BANK_SOURCE,
            f"receipt:{event.receipt_id}",
            event.customer_id,
            "e_receipt",
            received,
            {},
            received,
        )
    if isinstance(event, EStatementOptedIn):
        key = f"e-statement:{event.statement_account}:{event.opted_in_at.isoformat()}"
        return RawEvent(
            BANK_SOURCE, key, event.customer_id, "e_statement", event.opted_in_at, {}, received
        )
    if isinstance(event, UtilityPaid):
        return RawEvent(
            BANK_SOURCE,
            f"utility:{event.payment_id}",
            event.customer_id,
            "online_utility_payment",
            event.paid_at,
            {"utility": event.utility},
            received,
        )
    if isinstance(event, ECreditCardApplied):
        return RawEvent(
            BANK_SOURCE,
            f"e-card:{event.application_id}",
            event.customer_id,
            "e_credit_card",
            event.applied_at,
            {},
            received,
        )
    return None


CREDITED: list[type[Event]] = [
    DepositPurchased,
    ReceiptSealed,
    EStatementOptedIn,
    UtilityPaid,
    ECreditCardApplied,
]


@consumer(CREDIT_CONSUMER, event_types=CREDITED)
def credit(event: Event, uow: UnitOfWork) -> None:
    raw = raw_event(event)
    if raw is not None:
        ingest_in_session(uow.session, SystemClock(), [raw])
