"""Events the closed fund loop publishes (the outbox, in the settling transaction).

They carry what an electronic receipt prints — payer, payee, amount, time, serial number — with
names and card numbers already masked, so no plaintext personal data sits in the outbox.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from greenbank.bus import Event


class Party(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str  # masked (张*) for a person, in full for the bank
    account: str  # masked card or account number
    bank: str


class _Completed(Event):
    transfer_id: str  # the transaction serial number
    rail_reference: str | None
    customer_id: str
    account_id: str
    amount_fen: int
    completed_at: datetime
    payer: Party
    payee: Party


class TopUpCompleted(_Completed):
    type = "accounts.top_up_completed"
    version = 1


class WithdrawalCompleted(_Completed):
    type = "accounts.withdrawal_completed"
    version = 1
