"""The bus consumer that seals receipts (listed in ``greenbank.bus.consumers.BUS_MODULES``).

The dispatcher runs it inside a unit of work and records the processed event in the same
transaction; ``seal_receipt`` re-checks the receipt's state as well, so a redelivery or a
crashed worker still ends with exactly one sealed file.
"""

from __future__ import annotations

from greenbank.bus import consumer
from greenbank.db import UnitOfWork
from greenbank.receipts.events import ReceiptSealRequested, ReceiptSealRequestedV1
from greenbank.receipts.runtime import runtime_of
from greenbank.receipts.sealing import seal_receipt

SEAL_CONSUMER = "receipts.seal"


SealRequest = ReceiptSealRequested | ReceiptSealRequestedV1
SEAL_REQUESTS: list[type[SealRequest]] = [ReceiptSealRequested, ReceiptSealRequestedV1]


@consumer(SEAL_CONSUMER, event_types=SEAL_REQUESTS)
def seal_requested(event: SealRequest, uow: UnitOfWork) -> None:
    seal_receipt(uow.session, event.receipt_id, runtime_of(uow.session))
