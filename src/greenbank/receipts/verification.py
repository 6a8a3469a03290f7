"""Public verification (回单验证): by number + code (+ amount), by download, by uploading the PDF.

Every attempt is a row in ``receipt_verifications`` (method, outcome, business day, a keyed hash
of the client IP): the staff's per-day figures and the rate limit in one place. The limit is
``VERIFY_LIMIT_PER_MINUTE`` attempts per client over a sliding minute, counted in the database
so it holds across processes; refused attempts are not recorded (a flood cannot fill the table).
A wrong number and a wrong code get the same answer, so the endpoint tells nothing about which
receipt numbers exist.
"""

from __future__ import annotations

import enum
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import FromClause

from greenbank.clock import business_date
from greenbank.crypto import hmac_sm3, sm3
from greenbank.db import UowFactory
from greenbank.errors import Conflict, GreenbankError, NotFound, RateLimited, ValidationFailed
from greenbank.receipts.codes import normalise_code
from greenbank.receipts.models import SEALED, Receipt, ReceiptVerification
from greenbank.receipts.runtime import ReceiptsRuntime
from greenbank.receipts.verify import VerificationResult, verify_receipt_pdf

WINDOW = timedelta(minutes=1)
_ATTEMPTS = ReceiptVerification.__table__
_DUMMY_CODE = "0" * 10


class Method(enum.StrEnum):
    CODE = "code"
    UPLOAD = "upload"
    DOWNLOAD = "download"


class VerificationRateLimited(RateLimited):
    code = "rate_limited"
    title = "Too many verification attempts; wait before trying again"

    def __init__(self, detail: str | None = None, *, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.headers = {"Retry-After": str(retry_after)}


class ReceiptNotVerified(NotFound):
    code = "receipt_not_verified"
    title = "No receipt matches this number and verification code"


class AmountMismatch(ValidationFailed):
    code = "receipt_amount_mismatch"
    title = "The receipt's amount is not the amount given"


class ReceiptNotSealed(Conflict):
    code = "receipt_not_sealed"
    title = "The receipt is being sealed; try again in a moment"


class UploadTooLarge(ValidationFailed):
    code = "receipt_upload_too_large"
    status = 413
    title = "The uploaded file is larger than a receipt can be"


class ReceiptStoreDamaged(GreenbankError):
    code = "receipt_store_damaged"
    status = 500
    title = "The stored receipt file is missing or does not match its recorded hash"


@dataclass(frozen=True)
class UploadCheck:
    """What an uploaded PDF is: the offline verdict plus what our records say about it."""

    result: VerificationResult
    known: bool  # a receipt with the PDF's number exists here
    matches_stored: bool  # byte-identical (SM3) to the copy we sealed and stored
    receipt: Receipt | None

    @property
    def valid(self) -> bool:
        return self.result.valid and self.matches_stored


def client_key(rt: ReceiptsRuntime, ip: str | None) -> str:
    return hmac_sm3(rt.code_key, b"client-ip:" + (ip or "unknown").encode()).hex()[:32]


def admit(session: Session, attempts: FromClause, client: str, now: datetime, limit: int) -> None:
    """Refuse (429, Retry-After) a client with ``limit`` attempts in the last minute.

    ``attempts`` is a table of recorded attempts with ``at`` and ``client`` columns: this one's,
    or another public document check's (the carbon reduction certificates)."""
    since = now - WINDOW
    count, oldest = session.execute(
        select(func.count(), func.min(attempts.c.at)).where(
            attempts.c.client == client, attempts.c.at > since
        )
    ).one()
    if count >= limit:
        wait = math.ceil(((oldest + WINDOW) - now).total_seconds()) if oldest else 60
        raise VerificationRateLimited(
            f"at most {limit} verification attempts a minute", retry_after=max(1, wait)
        )


def _record(
    session: Session, client: str, now: datetime, method: Method, outcome: str, no: str | None
) -> None:
    session.add(
        ReceiptVerification(
            at=now,
            business_date=business_date(now),
            method=method.value,
            outcome=outcome,
            receipt_no=no[:24] if no else None,
            client=client,
        )
    )


def _match(session: Session, receipt_no: str, code: str) -> Receipt | None:
    receipt = session.scalars(select(Receipt).where(Receipt.receipt_no == receipt_no)).first()
    expected = receipt.verification_code if receipt is not None else _DUMMY_CODE
    same = hmac.compare_digest(normalise_code(code).encode(), expected.encode())
    return receipt if receipt is not None and same else None


def verify_code(
    uow: UowFactory,
    rt: ReceiptsRuntime,
    *,
    receipt_no: str,
    code: str,
    amount_fen: int | None,
    client_ip: str | None,
    method: Method = Method.CODE,
) -> Receipt:
    """The receipt if number and code match (and the amount, when given); the attempt is
    recorded whatever the answer."""
    client, now = client_key(rt, client_ip), rt.clock.now()
    error: Exception | None = None
    with uow() as work:
        admit(work.session, _ATTEMPTS, client, now, rt.verify_limit_per_minute)
        receipt = _match(work.session, receipt_no.strip().upper(), code)
        outcome = "ok"
        if receipt is None:
            outcome, error = "not_verified", ReceiptNotVerified()
        elif amount_fen is not None and amount_fen != receipt.amount_fen:
            outcome, error = "amount_mismatch", AmountMismatch()
        elif method is Method.DOWNLOAD and receipt.status != SEALED:
            outcome, error = "not_sealed", ReceiptNotSealed()
        _record(work.session, client, now, method, outcome, receipt_no)
        work.commit()
    if error is not None:
        raise error
    assert receipt is not None
    return receipt


def stored_pdf(rt: ReceiptsRuntime, receipt: Receipt) -> bytes:
    """The sealed file as stored; refuses one whose bytes no longer hash to the recorded SM3."""
    if receipt.status != SEALED or receipt.pdf_key is None:
        raise ReceiptNotSealed()
    data = rt.store.get(receipt.pdf_key)
    if data is None or sm3(data).hex() != receipt.pdf_sm3:
        raise ReceiptStoreDamaged(f"the stored file of {receipt.receipt_no} is missing or altered")
    return data


def verify_upload(
    uow: UowFactory, rt: ReceiptsRuntime, *, pdf: bytes, client_ip: str | None
) -> UploadCheck:
    """Check an uploaded file offline against our roots, then against our stored copy."""
    if len(pdf) > rt.upload_limit_bytes:
        raise UploadTooLarge(f"at most {rt.upload_limit_bytes} bytes")
    client, now = client_key(rt, client_ip), rt.clock.now()
    with uow() as work:
        admit(work.session, _ATTEMPTS, client, now, rt.verify_limit_per_minute)
        work.commit()  # release the read transaction while the (slow) check runs
    result = verify_receipt_pdf(pdf, rt.trust_roots)
    with uow() as work:
        receipt = None
        if result.receipt_no:
            receipt = work.session.scalars(
                select(Receipt).where(Receipt.receipt_no == result.receipt_no)
            ).first()
        matches = receipt is not None and receipt.pdf_sm3 == sm3(pdf).hex()
        check = UploadCheck(result, receipt is not None, matches, receipt)
        outcome = "ok"
        if not result.valid:
            outcome = result.reason.value
        elif receipt is None:
            outcome = "unknown_receipt"
        elif not matches:
            outcome = "not_stored_copy"
        _record(work.session, client, now, Method.UPLOAD, outcome, result.receipt_no)
        work.commit()
    return check
