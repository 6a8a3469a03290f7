"""Bus events from the bank's simulated card and bill systems, which the carbon account credits.

The deposit and receipt events are defined by their domains (``deposits.purchase_completed``,
``receipts.sealed``). The card and bill-payment systems are outside greenbank, so their events
are defined here; a bank wires its real systems to publish the same schemas (or posts the
behaviour through the partner/ingestion API). ``greenbank carbon simulate`` publishes them.

Event (version 1) -> scenario credited, and the event id used (source ``bank``):

* ``deposits.purchase_completed`` -> ``online_deposit`` (89 g, provisional),
  ``deposit:<holding_id>``
* ``receipts.sealed`` with a customer -> ``e_receipt`` (24 g, provisional), ``receipt:<receipt_id>``
* ``cards.e_statement_opted_in`` -> ``e_statement`` (24 g),
  ``e-statement:<statement_account>:<opted_in_at>``
* ``billpay.utility_paid`` -> ``online_utility_payment`` (89 g), ``utility:<payment_id>``
* ``cards.e_credit_card_applied`` -> ``e_credit_card`` (89 g, once), ``e-card:<application_id>``

The carbon account publishes one event of its own: ``carbon.credited``, once per customer credited
by an ingested batch, so other domains (rewards' perk rules) react to a customer's new totals.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from greenbank.bus import Event


class EStatementOptedIn(Event):
    """The customer switched a card or account to electronic statements."""

    type = "cards.e_statement_opted_in"
    version = 1
    customer_id: str
    statement_account: str  # masked card or account the statements are for
    opted_in_at: datetime


class UtilityPaid(Event):
    """A water, electricity or gas bill paid online instead of at a counter."""

    type = "billpay.utility_paid"
    version = 1
    customer_id: str
    payment_id: str
    utility: Literal["water", "electricity", "gas"]
    amount_fen: int
    paid_at: datetime


class ECreditCardApplied(Event):
    """An application for an electronic credit card instead of a plastic one."""

    type = "cards.e_credit_card_applied"
    version = 1
    customer_id: str
    application_id: str
    applied_at: datetime


class CarbonCredited(Event):
    """A batch credited this customer's carbon account (one event per customer per batch).

    Published by ingestion under the account's row lock, aggregate ``carbon_account`` /
    customer id, so a customer's events are in credit order."""

    type = "carbon.credited"
    version = 1
    customer_id: str
    credited_mg: int  # this batch's credits for the customer
    lifetime_mg: int  # the account's lifetime reduction after the batch
    level: str  # the level code after the batch
    occurred_at: datetime
