"""Public verification against the database: by number + code (+ amount), by upload (intact and
every kind of tampering, each with its reason), the per-client rate limit, the daily figures."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import select
from tests.integration.receipts.conftest import BANK, IssueFn
from tests.unit.receipts.test_receipt_seal_verify import _paint_new_amount

from greenbank.bootstrap import Container
from greenbank.clock import FixedClock
from greenbank.receipts.models import Receipt
from greenbank.receipts.pki import init_pki, load_seal_identity
from greenbank.receipts.queries import daily_figures
from greenbank.receipts.render import render_receipt
from greenbank.receipts.runtime import ReceiptsRuntime
from greenbank.receipts.sealing import receipt_data
from greenbank.receipts.signing import seal_pdf
from greenbank.receipts.verification import (
    AmountMismatch,
    Method,
    ReceiptNotSealed,
    ReceiptNotVerified,
    UploadTooLarge,
    VerificationRateLimited,
    stored_pdf,
    verify_code,
    verify_upload,
)

IP = "203.0.113.7"


@pytest.fixture
def sealed(
    issue: IssueFn, dispatch: Callable[[], int], container: Container, rt: ReceiptsRuntime
) -> tuple[str, str, bytes]:
    receipt = issue()
    dispatch()
    with container.uow() as uow:
        row = uow.session.get_one(Receipt, receipt.id)
        return row.receipt_no, row.verification_code, stored_pdf(rt, row)


def _check(container: Container, rt: ReceiptsRuntime, no: str, code: str, **kw: object) -> str:
    return verify_code(
        container.uow,
        rt,
        receipt_no=no,
        code=code,
        client_ip=IP,
        amount_fen=kw.pop("amount_fen", None),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    ).receipt_no


def test_number_and_code(
    sealed: tuple[str, str, bytes], container: Container, rt: ReceiptsRuntime
) -> None:
    no, code, _ = sealed
    assert _check(container, rt, no, code) == no
    grouped = f"{code[:5].lower()}-{code[5:].lower()}"  # as printed, typed in lower case
    assert _check(container, rt, no.lower(), grouped, amount_fen=1_000_000) == no
    wrong = code[:-1] + ("2" if code[-1] != "2" else "3")
    with pytest.raises(ReceiptNotVerified):
        _check(container, rt, no, wrong)
    with pytest.raises(ReceiptNotVerified):  # an unknown number answers exactly the same
        _check(container, rt, "RP20260302000099", code)
    with pytest.raises(AmountMismatch):
        _check(container, rt, no, code, amount_fen=1_000_001)


def test_a_pending_receipt_verifies_but_cannot_be_downloaded_yet(
    issue: IssueFn, container: Container, rt: ReceiptsRuntime
) -> None:
    receipt = issue()
    assert _check(container, rt, receipt.receipt_no, receipt.verification_code)
    with pytest.raises(ReceiptNotSealed):
        _check(container, rt, receipt.receipt_no, receipt.verification_code, method=Method.DOWNLOAD)


def _plain_pdf() -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.drawString(100, 700, "Receipt RP20260302000001 10000.00")
    canvas.save()
    return buffer.getvalue()


def _changed_byte(pdf: bytes) -> bytes:
    return pdf.replace(b"greenbank receipts", b"greenbank receiptz", 1)


def _rendered_again(container: Container) -> bytes:
    with container.uow() as uow:
        row = uow.session.scalars(select(Receipt)).one()
        return render_receipt(receipt_data(row), bank_name=BANK, verify_url="https://x/verify")


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda pdf: pdf, "ok"),
        (_changed_byte, "bytes_changed"),
        (_paint_new_amount, "modified_after_signing"),
        (lambda pdf: pdf[: len(pdf) // 2], "truncated"),
        (lambda pdf: _plain_pdf(), "no_signature"),
        (lambda pdf: b"<html>not a receipt</html>", "not_a_pdf"),
    ],
)
def test_uploads(
    sealed: tuple[str, str, bytes],
    container: Container,
    rt: ReceiptsRuntime,
    tamper: Callable[[bytes], bytes],
    reason: str,
) -> None:
    no, _, pdf = sealed
    check = verify_upload(container.uow, rt, pdf=tamper(pdf), client_ip=IP)
    assert (check.valid, check.result.reason.value) == (reason == "ok", reason)
    if reason == "ok":
        assert check.known and check.matches_stored and check.receipt is not None
        assert check.receipt.receipt_no == no and check.result.timestamped
    if reason in {"bytes_changed", "modified_after_signing"}:
        assert check.result.receipt_no == no and not check.matches_stored


def test_uploads_resealed_elsewhere_or_by_us_again(
    sealed: tuple[str, str, bytes], container: Container, rt: ReceiptsRuntime, tmp_path: Path
) -> None:
    no, _, _ = sealed
    rendered = _rendered_again(container)
    forger = init_pki(tmp_path / "forger", BANK)
    forged_pdf = seal_pdf(rendered, load_seal_identity(forger.directory))
    forged = verify_upload(container.uow, rt, pdf=forged_pdf, client_ip=IP)
    assert (forged.valid, forged.result.reason.value) == (False, "unknown_signer")
    ours_again = seal_pdf(rendered, rt.identity)  # genuine seal, but not the copy we issued
    check = verify_upload(container.uow, rt, pdf=ours_again, client_ip=IP)
    assert check.result.valid and check.known and not check.matches_stored and not check.valid
    assert check.result.receipt_no == no


def test_an_oversized_upload_is_refused(container: Container, rt: ReceiptsRuntime) -> None:
    with pytest.raises(UploadTooLarge):
        verify_upload(container.uow, rt, pdf=b"%PDF-" + b"0" * rt.upload_limit_bytes, client_ip=IP)


def test_rate_limit_per_client(
    issue: IssueFn, container: Container, rt: ReceiptsRuntime, clock: FixedClock
) -> None:
    receipt = issue()
    rt.verify_limit_per_minute = 3
    for _ in range(3):
        with pytest.raises(ReceiptNotVerified):
            _check(container, rt, receipt.receipt_no, "AAAAAAAAAA")
    with pytest.raises(VerificationRateLimited) as refused:
        _check(container, rt, receipt.receipt_no, receipt.verification_code)
    assert refused.value.headers == {"Retry-After": "60"}
    assert refused.value.code == "rate_limited" and refused.value.status == 429
    other = verify_code(  # another client is not affected
        container.uow,
        rt,
        receipt_no=receipt.receipt_no,
        code=receipt.verification_code,
        amount_fen=None,
        client_ip="192.0.2.55",
    )
    assert other.receipt_no == receipt.receipt_no
    clock.advance(timedelta(seconds=45))
    with pytest.raises(VerificationRateLimited) as later:
        _check(container, rt, receipt.receipt_no, receipt.verification_code)
    assert later.value.headers == {"Retry-After": "15"}
    clock.advance(timedelta(seconds=16))
    assert _check(container, rt, receipt.receipt_no, receipt.verification_code)


def test_daily_figures(
    sealed: tuple[str, str, bytes],
    issue: IssueFn,
    container: Container,
    rt: ReceiptsRuntime,
    clock: FixedClock,
) -> None:
    no, code, pdf = sealed
    issue(source_id="pending-one")
    _check(container, rt, no, code)
    with pytest.raises(ReceiptNotVerified):
        _check(container, rt, no, "AAAAAAAAAA")
    verify_upload(container.uow, rt, pdf=pdf, client_ip=IP)
    verify_upload(container.uow, rt, pdf=pdf[:100], client_ip=IP)
    _check(container, rt, no, code, method=Method.DOWNLOAD)
    with pytest.raises(ReceiptNotVerified):  # a refused download is a failed check, not a download
        _check(container, rt, no, "AAAAAAAAAA", method=Method.DOWNLOAD)
    clock.advance(timedelta(days=1))
    _check(container, rt, no, code)
    with container.uow() as uow:
        days = daily_figures(uow.session, date(2026, 3, 1), date(2026, 3, 3))
    assert [
        (d.day, d.issued, d.sealed, d.verified, d.verification_failed, d.downloads) for d in days
    ] == [
        (date(2026, 3, 2), 2, 1, 2, 3, 1),
        (date(2026, 3, 3), 0, 0, 1, 0, 0),
    ]
    assert days[0].issued_by_type == {"deposit_purchase": 2}
