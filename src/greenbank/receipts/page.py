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
from greenbank.receipts.runtime import runtime
from greenbank.receipts.schemas import ReceiptFields, UploadVerdict, VerifiedReceipt, VerifyCodeIn
from greenbank.receipts.verification import UploadTooLarge, verify_code, verify_upload

router = APIRouter(tags=["receipts (public verification)"], include_in_schema=False)

_REASONS = {
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

_CSS = """
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"PingFang SC",
"Microsoft YaHei",sans-serif;color:#1f1f1f;background:#f3f6f4}
main{max-width:34rem;margin:0 auto;padding:1rem}h1{font-size:1.3rem;color:#0b6b45}
section{background:#fff;border-radius:.6rem;padding:1rem;margin:0 0 1rem;
box-shadow:0 1px 3px #0002}label{display:block;margin:.5rem 0 .2rem;font-size:.9rem}
input{width:100%;padding:.6rem;font-size:1rem;border:1px solid #bbb;border-radius:.4rem}
button{margin-top:.8rem;width:100%;padding:.7rem;font-size:1rem;border:0;border-radius:.4rem;
background:#0b6b45;color:#fff}.ok{border-left:.4rem solid #0b6b45}
.bad{border-left:.4rem solid #b3261e}dl{display:grid;grid-template-columns:auto 1fr;
gap:.2rem .8rem;margin:0}dt{color:#666}dd{margin:0;word-break:break-all}
"""


def read_upload(file: UploadFile, limit: int) -> bytes:
    """At most ``limit`` bytes of an upload; one byte more is a 413."""
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise UploadTooLarge(f"at most {limit} bytes")
    return data


def _fields(r: ReceiptFields) -> str:
    rows = [
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
    items = "".join(f"<dt>{k}</dt><dd>{escape(v)}</dd>" for k, v in rows if v)
    return f"<dl>{items}</dl>"


def _page(result: str = "", *, no: str = "", code: str = "", status: int = 200) -> HTMLResponse:
    body = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>电子回单验证</title><style>{_CSS}</style></head><body><main>
<h1>电子回单验证</h1>{result}
<section><form method="post" action="/verify">
<label for="no">回单编号</label><input id="no" name="receipt_no" value="{escape(no)}" required>
<label for="code">验证码</label><input id="code" name="code" value="{escape(code)}" required>
<label for="amount">金额（选填，元）</label><input id="amount" name="amount" inputmode="decimal">
<button>验证</button></form></section>
<section><form method="post" action="/verify/upload" enctype="multipart/form-data">
<label for="file">或上传回单 PDF 文件</label>
<input id="file" type="file" name="file" accept="application/pdf" required>
<button>校验文件</button></form></section></main></body></html>"""
    return HTMLResponse(body, status_code=status)


def _error(err: GreenbankError, no: str = "", code: str = "") -> HTMLResponse:
    response = _page(
        f'<section class="bad"><p>{escape(err.detail)}</p></section>',
        no=no,
        code=code,
        status=err.status,
    )
    response.headers.update(getattr(err, "headers", None) or {})
    return response


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
        return _error(err, no, code)
    except ValueError:
        return _page('<section class="bad"><p>请输入正确的回单编号和验证码。</p></section>', no=no)
    found = VerifiedReceipt.with_code(receipt, form.code)
    link = f'<p><a href="{escape(found.pdf_url)}">下载原始回单 PDF</a></p>' if found.pdf_url else ""
    result = f'<section class="ok"><p>回单真实有效。</p>{_fields(found)}{link}</section>'
    return _page(result, no=no, code=code)


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
        return _error(err)
    text = escape(_REASONS.get(verdict.reason, verdict.reason))
    if verdict.valid and verdict.receipt is not None:
        result = f'<section class="ok"><p>{text}</p>{_fields(verdict.receipt)}</section>'
    else:
        detail = f"<p><small>{escape(verdict.detail)}</small></p>" if verdict.detail else ""
        result = f'<section class="bad"><p>验证未通过：{text}</p>{detail}</section>'
    return _page(result)
