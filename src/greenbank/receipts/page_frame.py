"""The frame of the public verification pages (receipts at ``/verify``, carbon certificates at
``/verify/certificate``): one mobile-first HTML page of plain HTML and CSS, no script, with a
result box, a number + code form and an upload form."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from fastapi import UploadFile
from fastapi.responses import HTMLResponse

from greenbank.errors import GreenbankError
from greenbank.receipts.verification import UploadTooLarge

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


def definition_list(rows: Iterable[tuple[str, str | None]]) -> str:
    """Label / value rows (escaped); rows without a value are left out."""
    items = "".join(f"<dt>{k}</dt><dd>{escape(v)}</dd>" for k, v in rows if v)
    return f"<dl>{items}</dl>"


def result_box(ok: bool, message: str, body: str = "") -> str:
    """The verdict: a green box for a genuine document, a red one otherwise."""
    return f'<section class="{"ok" if ok else "bad"}"><p>{escape(message)}</p>{body}</section>'


def upload_result(reason: str, detail: str, fields: str | None) -> str:
    """The verdict on an uploaded file: ``fields`` (the stored document) when it is genuine,
    else the reason and the verifier's detail."""
    if fields is not None:
        return result_box(True, reason, fields)
    small = f"<p><small>{escape(detail)}</small></p>" if detail else ""
    return result_box(False, f"验证未通过：{reason}", small)


def code_form(action: str, *, label: str, name: str, no: str, code: str, extra: str = "") -> str:
    """The number + verification code form (``extra``: more fields, already HTML)."""
    return f"""<section><form method="post" action="{action}">
<label for="no">{label}</label><input id="no" name="{name}" value="{escape(no)}" required>
<label for="code">验证码</label><input id="code" name="code" value="{escape(code)}" required>
{extra}<button>验证</button></form></section>"""


def upload_form(action: str, *, label: str) -> str:
    return f"""<section><form method="post" action="{action}" enctype="multipart/form-data">
<label for="file">{label}</label>
<input id="file" type="file" name="file" accept="application/pdf" required>
<button>校验文件</button></form></section>"""


def html_page(title: str, content: str, *, status: int = 200) -> HTMLResponse:
    body = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title><style>{_CSS}</style></head><body><main>
<h1>{title}</h1>{content}</main></body></html>"""
    return HTMLResponse(body, status_code=status)


def error_page(title: str, err: GreenbankError, forms: str) -> HTMLResponse:
    """A refused check (bad code, rate limit, ...): its message, its status and headers."""
    response = html_page(title, result_box(False, err.detail) + forms, status=err.status)
    response.headers.update(getattr(err, "headers", None) or {})
    return response
