"""Public verification of carbon reduction certificates: by number + code, download, upload.

Modelled on the receipts' public verification and built from its parts: the same per-client
rate limit (``receipts.verification.admit``, ``VERIFY_LIMIT_PER_MINUTE`` attempts a minute,
counted in ``carbon_certificate_checks`` so it holds across processes, refused attempts not
recorded), the same keyed hash of the client IP, the same constant-time code comparison, and the
receipts' offline PDF verifier for the certificate's document kind. A wrong number and a wrong
code get the same answer, so the endpoint tells nothing about which numbers exist.
"""

from __future__ import annotations

import enum
import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenbank.carbon.certificate import verify_certificate_pdf
from greenbank.carbon.certificates import CertificateRuntime, CertificateView, view_of
from greenbank.carbon.errors import CertificateNotVerified, CertificateStoreDamaged
from greenbank.carbon.models import Certificate, CertificateCheck
from greenbank.clock import business_date
from greenbank.crypto import sm3
from greenbank.db import UowFactory
from greenbank.receipts.codes import normalise_code
from greenbank.receipts.verification import UploadTooLarge, admit, client_key
from greenbank.receipts.verify import Reason, VerificationResult

_CHECKS = CertificateCheck.__table__
_DUMMY_CODE = "0" * 10


class Method(enum.StrEnum):
    CODE = "code"
    UPLOAD = "upload"
    DOWNLOAD = "download"


# What a certificate number and a verification code can look like (the API and the page
# refuse anything else before it counts as an attempt).
NUMBER_LENGTH = (4, 24)
CODE_LENGTH = (8, 16)


class Outcome(enum.StrEnum):
    """Upload outcomes beyond the offline verifier's reasons."""

    NOT_A_CERTIFICATE = "not_a_certificate"  # the verifier's ``not_a_receipt`` for this kind
    UNKNOWN_CERTIFICATE = "unknown_certificate"  # our seal, but no such certificate here
    NOT_STORED_COPY = "not_stored_copy"  # our seal and number, but not the file we stored


@dataclass(frozen=True)
class UploadCheck:
    """An uploaded PDF: the offline verdict plus what our records say about it."""

    result: VerificationResult
    outcome: str  # "ok", a verifier reason, or an ``Outcome``
    certificate: CertificateView | None  # the stored certificate the PDF names, if any

    @property
    def valid(self) -> bool:
        return self.outcome == "ok"


def verify_code(
    uow: UowFactory,
    crt: CertificateRuntime,
    *,
    certificate_no: str,
    code: str,
    client_ip: str | None,
    method: Method = Method.CODE,
) -> CertificateView:
    """The certificate if number and code match; the attempt is recorded whatever the answer."""
    client, now = client_key(crt.seal, client_ip), crt.clock.now()
    number = certificate_no.strip().upper()
    with uow() as work:
        admit(work.session, _CHECKS, client, now, crt.seal.verify_limit_per_minute)
        row = work.session.scalars(
            select(Certificate).where(Certificate.certificate_no == number)
        ).first()
        expected = row.verification_code if row is not None else _DUMMY_CODE
        same = hmac.compare_digest(normalise_code(code).encode(), expected.encode())
        found = view_of(row) if row is not None and same else None
        _record(work.session, client, now, method, "ok" if found else "not_verified", number)
        work.commit()
    if found is None:
        raise CertificateNotVerified()
    return found


def stored_pdf(crt: CertificateRuntime, certificate: CertificateView) -> bytes:
    """The sealed file as stored; refuses one whose bytes no longer hash to the recorded SM3."""
    data = crt.store.get(certificate.pdf_key)
    if data is None or sm3(data).hex() != certificate.pdf_sm3:
        raise CertificateStoreDamaged(
            f"the stored file of {certificate.certificate_no} is missing or altered"
        )
    return data


def verify_upload(
    uow: UowFactory, crt: CertificateRuntime, *, pdf: bytes, client_ip: str | None
) -> UploadCheck:
    """Check an uploaded file offline against our roots, then against our stored copy."""
    if len(pdf) > crt.seal.upload_limit_bytes:
        raise UploadTooLarge(f"at most {crt.seal.upload_limit_bytes} bytes")
    client, now = client_key(crt.seal, client_ip), crt.clock.now()
    with uow() as work:
        admit(work.session, _CHECKS, client, now, crt.seal.verify_limit_per_minute)
        work.commit()  # release the read transaction while the (slow) check runs
    result = verify_certificate_pdf(pdf, crt.seal.trust_roots)
    number = result.receipt_no  # the verifier's name for the document number
    with uow() as work:
        row = None
        if number:
            row = work.session.scalars(
                select(Certificate).where(Certificate.certificate_no == number)
            ).first()
        outcome: str = "ok"
        if result.reason is Reason.NOT_A_RECEIPT:
            outcome = Outcome.NOT_A_CERTIFICATE
        elif not result.valid:
            outcome = result.reason.value
        elif row is None:
            outcome = Outcome.UNKNOWN_CERTIFICATE
        elif row.pdf_sm3 != sm3(pdf).hex():
            outcome = Outcome.NOT_STORED_COPY
        _record(work.session, client, now, Method.UPLOAD, outcome, number)
        work.commit()
        return UploadCheck(result, str(outcome), view_of(row) if row is not None else None)


def _record(
    session: Session, client: str, now: datetime, method: Method, outcome: str, no: str | None
) -> None:
    session.add(
        CertificateCheck(
            at=now,
            business_date=business_date(now),
            method=method.value,
            outcome=outcome,
            certificate_no=no[:24] if no else None,
            client=client,
        )
    )
