"""Events the receipts domain publishes on the bus.

``receipts.seal_requested`` is written in the business transaction that issued the receipt; the
``receipts.seal`` consumer renders and seals the PDF. ``receipts.sealed`` announces a finished
receipt (the carbon account counts an electronic receipt instead of a paper one).
"""

from __future__ import annotations

from greenbank.bus import Event


class ReceiptSealRequestedV1(Event):
    """Carried the number too; read only from outbox rows written before version 2."""

    type = "receipts.seal_requested"
    version = 1
    receipt_id: str
    receipt_no: str


class ReceiptSealRequested(Event):
    """Written when the receipt is issued, before its number exists (it is taken at commit)."""

    type = "receipts.seal_requested"
    version = 2
    receipt_id: str


class ReceiptSealed(Event):
    type = "receipts.sealed"
    version = 1
    receipt_id: str
    receipt_no: str
    receipt_type: str
    customer_id: str | None
    pdf_sm3: str
