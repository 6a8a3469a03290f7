"""The public verification page (``GET /verify``): one server-rendered, mobile-first HTML page.

The receipt's QR code opens ``/verify?no=...&code=...``, which verifies at once. The page has a
form for number + code (+ amount) and one for uploading the PDF; it calls the same services as
the JSON endpoints (same rate limit, same counting). Plain HTML and CSS, no script.
"""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse

from greenbank.api.deps import ContainerDep
from greenbank.errors import GreenbankError
from greenbank.identity.deps import client_ip
from greenbank.receipts.page_frame import (
    code_form,
    definition_list,
    error_page,
    html_page,
    read_upload,
    result_box,
    upload_form,
    upload_result,
)
from greenbank.receipts.runtime import runtime
from greenbank.receipts.schemas import ReceiptFields, UploadVerdict, VerifiedReceipt, VerifyCodeIn
from greenbank.receipts.verification import verify_code, verify_upload

router = APIRouter(tags=["receipts (public verification)"], include_in_schema=False)

REASONS = {  # the offline verifier's reasons, as the page words them
    "ok": "回单完整，由本行电子签章签发。",
    "not_a_pdf": "文件不是 PDF。",
    "truncated": "文件不完整（被截断或结构损坏）。",
    "no_signature": "文件没有电子签章。",
    "bytes_changed": "签章后的内容被修改过。",
    "modified_after_signing": "签章后文件被追加修改（例如覆盖金额、添加批注）。",
    "unknown_signer": "签章不是本行签发的。",
    "certificate_expired": "签章证书已过期。",
    "certificate_not_yet_valid": "签章证书尚未生效。",
    "not_a_receipt": "不是本行的电子回单签章。",
    "unknown_receipt": "签章有效，但本行没有该编号的回单记录。",
    "not_stored_copy": "签章有效，但与本行存档的回单文件不一致。",
}

TITLE = "电子回单验证"
_AMOUNT = (
    '<label for="amount">金额（选填，元）</label>'
    '<input id="amount" name="amount" inputmode="decimal">\n'
)


def _fields(r: ReceiptFields) -> str:
    return definition_list(
        [
            ("回单编号", r.receipt_no),
            ("类型", r.type_label),
            ("交易时间", r.transaction_time.isoformat(timespec="seconds")),
            ("付款人", f"{r.payer.name} {r.payer.account} {r.payer.bank}"),
            ("收款人", f"{r.payee.name} {r.payee.account} {r.payee.bank}"),
            ("金额", "¥" + r.amount),
            ("产品", r.product),
            ("存期", r.term),
            ("年利率", r.rate),
            ("起息日", r.value_date.isoformat() if r.value_date else None),
            ("到期日", r.maturity_date.isoformat() if r.maturity_date else None),
            ("状态", "已签章" if r.status == "sealed" else "签章中"),
        ]
    )


def _forms(no: str = "", code: str = "") -> str:
    return code_form(
        "/verify", label="回单编号", name="receipt_no", no=no, code=code, extra=_AMOUNT
    ) + upload_form("/verify/upload", label="或上传回单 PDF 文件")


def _page(result: str = "", *, no: str = "", code: str = "") -> HTMLResponse:
    return html_page(TITLE, result + _forms(no, code))


def _by_code(
    request: Request, container: ContainerDep, no: str, code: str, amount: str | None
) -> HTMLResponse:
    try:
        form = VerifyCodeIn(receipt_no=no, code=code, amount=amount or None)
        receipt = verify_code(
            container.uow,
            runtime(container),
            receipt_no=form.receipt_no,
            code=form.code,
            amount_fen=form.amount_fen(),
            client_ip=client_ip(request),
        )
    except GreenbankError as err:
        return error_page(TITLE, err, _forms(no, code))
    except ValueError:
        return _page(result_box(False, "请输入正确的回单编号和验证码。"), no=no)
    found = VerifiedReceipt.with_code(receipt, form.code)
    link = f'<p><a href="{escape(found.pdf_url)}">下载原始回单 PDF</a></p>' if found.pdf_url else ""
    return _page(result_box(True, "回单真实有效。", _fields(found) + link), no=no, code=code)


@router.get("/verify", response_class=HTMLResponse)
def verify_page(
    request: Request,
    container: ContainerDep,
    no: Annotated[str | None, Query(max_length=24)] = None,
    code: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    if no and code:  # opened from the receipt's QR code
        return _by_code(request, container, no, code, None)
    return _page(no=no or "")


@router.post("/verify", response_class=HTMLResponse)
def verify_form(
    request: Request,
    container: ContainerDep,
    receipt_no: Annotated[str, Form(max_length=24)],
    code: Annotated[str, Form(max_length=16)],
    amount: Annotated[str | None, Form(max_length=20)] = None,
) -> HTMLResponse:
    return _by_code(request, container, receipt_no, code, amount)


@router.post("/verify/upload", response_class=HTMLResponse)
def verify_upload_form(
    request: Request, container: ContainerDep, file: Annotated[UploadFile, File()]
) -> HTMLResponse:
    rt = runtime(container)
    try:
        data = read_upload(file, rt.upload_limit_bytes)
        verdict = UploadVerdict.of(
            verify_upload(container.uow, rt, pdf=data, client_ip=client_ip(request))
        )
    except GreenbankError as err:
        return error_page(TITLE, err, _forms())
    genuine = verdict.receipt if verdict.valid else None
    fields = _fields(genuine) if genuine is not None else None
    reason = REASONS.get(verdict.reason, verdict.reason)
    return _page(upload_result(reason, verdict.detail, fields))
