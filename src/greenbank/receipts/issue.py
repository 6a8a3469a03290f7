"""Issuing a receipt inside the business transaction that posted the money.

The business services (top-up, withdrawal, deposit purchase, early withdrawal, interest,
maturity) call ``issue_receipt`` in their own unit of work, next to their ledger posting: the
receipt number, the row and the ``receipts.seal_requested`` event commit with the posting or not
at all; the number is taken at commit (``numbering``). Sealing happens afterwards, on the bus.
See README.md ("Service layer").
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.bus import publish
from greenbank.clock import Clock, business_date
from greenbank.crypto import hmac_sm3
from greenbank.ids import new_id
from greenbank.receipts.codes import verification_code
from greenbank.receipts.events import ReceiptSealRequested
from greenbank.receipts.models import PENDING, Receipt
from greenbank.receipts.numbering import format_receipt_no, number_at_commit, unnumbered
from greenbank.receipts.render import ReceiptType, mask_account, mask_name

Text = Annotated[str, Field(min_length=1, max_length=100)]


class PartyIn(BaseModel):
    """One side as the business service knows it; masked before it is stored."""

    model_config = ConfigDict(frozen=True)

    name: Text
    account: Annotated[str, Field(min_length=1, max_length=40)]
    bank: Text
    organisation: bool = False  # the bank's own accounts: the name is printed in full


class ReceiptRequest(BaseModel):
    """Everything printed on a receipt, plus the business event it belongs to.

    ``(source_type, source_id)`` names that event (e.g. ``("deposit_purchase", holding_id)``);
    it is UNIQUE, so a retried posting gets the receipt it already has.
    """

    model_config = ConfigDict(frozen=True)

    type: ReceiptType
    source_type: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.]{1,39}$")]
    source_id: Annotated[str, Field(min_length=1, max_length=64)]
    customer_id: Annotated[str | None, Field(max_length=36)] = None
    time: AwareDatetime
    serial_no: Annotated[str, Field(min_length=1, max_length=64)]
    payer: PartyIn
    payee: PartyIn
    amount_fen: Annotated[int, Field(gt=0)]
    product: Text | None = None
    term: Annotated[str | None, Field(max_length=20)] = None
    rate: Decimal | None = None
    rate_bonus: Decimal | None = None
    value_date: date | None = None
    maturity_date: date | None = None


def code_key(secret: str) -> bytes:
    """The verification-code MAC key, derived from the deployment secret for this one purpose."""
    return hmac_sm3(secret.encode(), b"greenbank/receipts/verification-code")


def find_by_source(session: Session, source_type: str, source_id: str) -> Receipt | None:
    for receipt in unnumbered(session):
        if (receipt.source_type, receipt.source_id) == (source_type, source_id):
            return receipt
    return session.scalars(
        select(Receipt).where(Receipt.source_type == source_type, Receipt.source_id == source_id)
    ).first()


def issue_receipt(
    session: Session,
    request: ReceiptRequest,
    *,
    clock: Clock,
    code_key: bytes,
    new_source: bool = False,
) -> Receipt:
    """Store and announce the receipt of one business event, in the caller's transaction.

    The receipt gets its number, its verification code and its row when the caller commits
    (``numbering``); until then ``receipt_no`` is ``None``. Idempotent per
    ``(source_type, source_id)``: a second call returns the first receipt. Should the same event
    be issued by two transactions at once, the UNIQUE constraint fails the later commit whole.
    ``new_source=True`` says the source was created in this transaction, so it has no receipt
    yet: no look-up (were it not so, that UNIQUE constraint would fail the commit).
    """
    if not new_source:
        existing = find_by_source(session, request.source_type, request.source_id)
        if existing is not None:
            return existing
    receipt = _new_receipt(request, clock)

    def finish(receipt: Receipt, sequence: int) -> None:
        receipt.sequence = sequence
        receipt.receipt_no = format_receipt_no(request.type, receipt.business_date, sequence)
        receipt.verification_code = verification_code(
            code_key,
            receipt_no=receipt.receipt_no,
            amount_fen=receipt.amount_fen,
            on=receipt.business_date,
            payee_account=receipt.payee_account,
            mac=hmac_sm3,
        )

    number_at_commit(session, receipt, finish)
    publish(
        session,
        ReceiptSealRequested(receipt_id=receipt.id),
        aggregate_type="receipt",
        aggregate_id=receipt.id,
        headers={"idempotency_key": f"{request.source_type}:{request.source_id}"},
        clock=clock,
        new_aggregate=True,
    )
    return receipt


def _new_receipt(req: ReceiptRequest, clock: Clock) -> Receipt:
    return Receipt(
        id=new_id(),
        type=req.type.value,
        business_date=business_date(req.time),
        status=PENDING,
        source_type=req.source_type,
        source_id=req.source_id,
        customer_id=req.customer_id,
        transaction_time=req.time,
        serial_no=req.serial_no,
        payer_name=req.payer.name if req.payer.organisation else mask_name(req.payer.name),
        payer_account=mask_account(req.payer.account),
        payer_bank=req.payer.bank,
        payer_is_org=req.payer.organisation,
        payee_name=req.payee.name if req.payee.organisation else mask_name(req.payee.name),
        payee_account=mask_account(req.payee.account),
        payee_bank=req.payee.bank,
        payee_is_org=req.payee.organisation,
        amount_fen=req.amount_fen,
        product=req.product,
        term=req.term,
        rate=None if req.rate is None else str(req.rate),
        rate_bonus=None if req.rate_bonus is None else str(req.rate_bonus),
        value_date=req.value_date,
        maturity_date=req.maturity_date,
        created_at=clock.now(),
    )
