"""Events the deposits domain publishes on the bus (the outbox, in the posting transaction).

``deposits.purchase_completed`` is what the carbon account credits (an online deposit instead of
a branch visit) and what a receipt is issued for; ``deposits.withdrawal_completed`` announces an
early withdrawal or a payout at maturity a customer asked for; ``deposits.maturity_batch_processed``
lists what one batch of the maturity job did (one event per batch keeps the job set-based).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

from greenbank.bus import Event


class DepositPurchased(Event):
    type = "deposits.purchase_completed"
    version = 1
    holding_id: str
    customer_id: str
    product_code: str
    amount_fen: int
    term: str
    channel: Literal["online"] = "online"
    purchased_at: datetime


class DepositWithdrawn(Event):
    type = "deposits.withdrawal_completed"
    version = 1
    holding_id: str
    customer_id: str
    payout_id: str
    kind: str  # full_early, partial_early or maturity
    principal_fen: int
    interest_fen: int
    tax_fen: int
    remaining_fen: int
    paid_on: date


class MaturedHolding(BaseModel):
    holding_id: str
    customer_id: str
    kind: str  # rollover or maturity
    principal_fen: int  # paid out (0 for a rollover)
    interest_fen: int
    new_principal_fen: int  # on deposit afterwards


class MaturityBatchProcessed(Event):
    type = "deposits.maturity_batch_processed"
    version = 1
    business_date: date
    entry_ids: list[str]
    holdings: list[MaturedHolding]
