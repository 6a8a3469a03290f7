"""Telling the rest of the bank that a top-up or withdrawal settled, in the settling transaction.

Two things happen with the ledger posting, or not at all: the ``accounts.top_up_completed`` /
``accounts.withdrawal_completed`` event (masked payer, payee, amount, time, serial) goes to the
outbox, and the electronic receipt is issued through the receipts service (it numbers the
receipt and queues its sealing on the bus; a repeated settlement returns the same receipt).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from greenbank.accounts.funds_events import Party, TopUpCompleted, WithdrawalCompleted
from greenbank.accounts.funds_models import FundTransfer, TransferKind
from greenbank.accounts.funds_policy import FundsRuntime
from greenbank.accounts.models import BoundCard, ClassIIAccount
from greenbank.bus import publish
from greenbank.crypto import mask_card, mask_name
from greenbank.customers.models import Customer
from greenbank.receipts.issue import PartyIn, ReceiptRequest, issue_receipt
from greenbank.receipts.render import ReceiptType


def announce(
    session: Session, rt: FundsRuntime, account: ClassIIAccount, transfer: FundTransfer
) -> None:
    assert transfer.settled_at is not None
    customer = session.get(Customer, transfer.customer_id)
    name = customer.name if customer is not None and customer.name else "-"
    top_up = transfer.kind == TransferKind.TOP_UP
    event_class = TopUpCompleted if top_up else WithdrawalCompleted
    mine = Party(name=mask_name(name), account=mask_card(account.account_number), bank=rt.bank_name)
    card = Party(name=mine.name, account=transfer.card_masked, bank=transfer.bank_name)
    event = event_class(
        transfer_id=transfer.id,
        rail_reference=transfer.rail_reference,
        customer_id=transfer.customer_id,
        account_id=account.id,
        amount_fen=transfer.amount_fen,
        completed_at=transfer.settled_at,
        payer=card if top_up else mine,
        payee=mine if top_up else card,
    )
    publish(
        session,
        event,
        aggregate_type="fund_transfer",
        aggregate_id=transfer.id,
        headers={"idempotency_key": transfer.idempotency_key},
        clock=rt.clock,
    )
    if rt.receipt_code_key is None:
        return
    own = PartyIn(name=name, account=account.account_number, bank=rt.bank_name)
    other = PartyIn(name=name, account=_card_number(session, transfer), bank=card.bank or "-")
    request = ReceiptRequest(
        type=ReceiptType.TOP_UP if top_up else ReceiptType.WITHDRAWAL,
        source_type="fund_transfer",
        source_id=transfer.id,
        customer_id=transfer.customer_id,
        time=transfer.settled_at,
        serial_no=transfer.id,
        payer=other if top_up else own,
        payee=own if top_up else other,
        amount_fen=transfer.amount_fen,
    )
    issue_receipt(session, request, clock=rt.clock, code_key=rt.receipt_code_key)


def _card_number(session: Session, transfer: FundTransfer) -> str:
    """The full number (the receipt masks it itself), else the masked one we kept."""
    if transfer.card_id is not None:
        card = session.get(BoundCard, transfer.card_id)
        if card is not None:
            return card.card_number
    return transfer.counterparty_card or transfer.card_masked
