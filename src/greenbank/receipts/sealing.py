"""Render, seal, store: turning a pending receipt row into a sealed PDF, exactly once.

Runs in the bus consumer's transaction. The rules that make one business event end with exactly
one sealed file, whatever the dispatcher or the workers do:

1. The receipt row is locked (``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``), and a
   receipt already ``sealed`` is left alone — a second delivery, or a worker whose lease ran out
   while another finished, changes nothing.
2. A file already stored for a *pending* receipt is what a worker left when it died after
   storing and before committing. It is verified: if it is intact, sealed by our receipt seal
   and carries this receipt number, it is **adopted** (its hash recorded, no second rendering);
   otherwise it is **replaced** by a fresh seal. Re-rendering cannot reproduce the old bytes (the
   signature and timestamp differ every time), so adoption is what keeps the first file.
3. The store is write-once: ``put`` of different bytes under an existing key is refused.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.bus import publish
from greenbank.crypto import sm3
from greenbank.errors import NotFound
from greenbank.receipts.events import ReceiptSealed
from greenbank.receipts.models import SEALED, Receipt
from greenbank.receipts.render import Party, ReceiptData, ReceiptType, render_receipt
from greenbank.receipts.runtime import ReceiptsRuntime
from greenbank.receipts.signing import seal_pdf
from greenbank.receipts.store import storage_key
from greenbank.receipts.verify import verify_receipt_pdf


class ReceiptNotFound(NotFound):
    code = "receipt_not_found"
    title = "No such receipt"


class SealAction(enum.StrEnum):
    SEALED = "sealed"  # rendered, sealed and stored now
    ADOPTED = "adopted"  # a crashed attempt's valid file was taken over
    REPLACED = "replaced"  # a crashed attempt's invalid file was overwritten
    ALREADY_SEALED = "already_sealed"  # nothing to do


@dataclass(frozen=True)
class SealOutcome:
    receipt_no: str
    action: SealAction
    pdf_sm3: str


def receipt_data(receipt: Receipt) -> ReceiptData:
    """The printable receipt from its row (every personal field is stored masked already)."""

    def decimal(text: str | None) -> Decimal | None:
        return None if text is None else Decimal(text)

    return ReceiptData(
        receipt_no=receipt.receipt_no,
        type=ReceiptType(receipt.type),
        time=receipt.transaction_time,
        serial_no=receipt.serial_no,
        payer=Party(
            receipt.payer_name, receipt.payer_account, receipt.payer_bank, receipt.payer_is_org
        ),
        payee=Party(
            receipt.payee_name, receipt.payee_account, receipt.payee_bank, receipt.payee_is_org
        ),
        amount_fen=receipt.amount_fen,
        verification_code=receipt.verification_code,
        product=receipt.product,
        term=receipt.term,
        rate=decimal(receipt.rate),
        value_date=receipt.value_date,
        maturity_date=receipt.maturity_date,
        rate_bonus=decimal(receipt.rate_bonus),
    )


def seal_receipt(session: Session, receipt_id: str, rt: ReceiptsRuntime) -> SealOutcome:
    """Seal one pending receipt in the caller's transaction (see the module docstring)."""
    receipt = session.scalars(
        select(Receipt).where(Receipt.id == receipt_id).with_for_update()
    ).first()
    if receipt is None:
        raise ReceiptNotFound(f"receipt {receipt_id} does not exist")
    if receipt.status == SEALED:
        return SealOutcome(receipt.receipt_no, SealAction.ALREADY_SEALED, receipt.pdf_sm3 or "")
    key = storage_key(receipt.business_date, receipt.receipt_no)
    left_over = rt.store.get(key)
    if left_over is not None and _is_our_seal_of(left_over, receipt.receipt_no, rt):
        pdf, action = left_over, SealAction.ADOPTED
    else:
        rendered = render_receipt(
            receipt_data(receipt), bank_name=rt.bank_name, verify_url=rt.verify_url
        )
        pdf = seal_pdf(rendered, rt.identity, tsa=rt.tsa)
        if left_over is None:
            rt.store.put(key, pdf)
            action = SealAction.SEALED
        else:
            rt.store.replace(key, pdf)
            action = SealAction.REPLACED
    digest = sm3(pdf).hex()
    receipt.status = SEALED
    receipt.sealed_at = rt.clock.now()
    receipt.pdf_key = key
    receipt.pdf_sm3 = digest
    receipt.pdf_size = len(pdf)
    publish(
        session,
        ReceiptSealed(
            receipt_id=receipt.id,
            receipt_no=receipt.receipt_no,
            receipt_type=receipt.type,
            customer_id=receipt.customer_id,
            pdf_sm3=digest,
        ),
        aggregate_type="receipt",
        aggregate_id=receipt.id,
        clock=rt.clock,
    )
    return SealOutcome(receipt.receipt_no, action, digest)


def _is_our_seal_of(pdf: bytes, receipt_no: str, rt: ReceiptsRuntime) -> bool:
    result = verify_receipt_pdf(pdf, rt.trust_roots)
    return result.valid and result.receipt_no == receipt_no
