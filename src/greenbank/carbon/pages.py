"""The carbon account's public HTML pages, for people (the JSON routes are for machines).

- ``GET /verify/card/{public_id}`` — the green life card's QR code: the masked card as it
  stands now (name, total reduction, trees equivalent with its source, level, top scenarios).
- ``GET /verify/certificate?no=...&code=...`` — the reduction certificate's QR code: verifies
  at once and shows the masked figures as of issue with a link to the original PDF; the page
  also has a number + code form and an upload form. It calls the same checks as the JSON routes
  under ``/api/v1/carbon/certificates`` (same rate limit, same audit of attempts).

Both use the receipts verification page's frame.
"""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse

from greenbank.api.deps import ContainerDep
from greenbank.carbon import card
from greenbank.carbon.card import CARD_PAGE_PATH
from greenbank.carbon.certificate import PAGE_PATH
from greenbank.carbon.certificate_checks import (
    CODE_LENGTH,
    NUMBER_LENGTH,
    Outcome,
    verify_code,
    verify_upload,
)
from greenbank.carbon.certificate_schemas import CertificateOut, CertificateUploadVerdict
from greenbank.carbon.certificates import certificate_runtime
from greenbank.errors import GreenbankError
from greenbank.identity.deps import client_ip
from greenbank.receipts.page import REASONS
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

router = APIRouter(tags=["carbon (public pages)"], include_in_schema=False)

TITLE = "碳减排证书验证"
CARD_TITLE = "绿色生活名片"
_REASONS = REASONS | {
    "ok": "证书完整，由本行电子签章签发，与本行存档一致。",
    Outcome.NOT_A_CERTIFICATE: "不是本行的碳减排证书签章。",
    Outcome.UNKNOWN_CERTIFICATE: "签章有效，但本行没有该编号的证书记录。",
    Outcome.NOT_STORED_COPY: "签章有效，但与本行存档的证书文件不一致。",
}


def _fields(c: CertificateOut) -> str:
    provisional = f"，其中 {c.provisional_kg} kg 使用暂定因子" if c.provisional_mg else ""
    return definition_list(
        [
            ("证书编号", c.certificate_no),
            ("数据截至", c.issued_at.isoformat(timespec="seconds")),
            ("持有人", c.masked_name),
            ("开户日期", c.since.isoformat()),
            ("累计减排", f"{c.lifetime_kg} kg CO2e{provisional}"),
            ("等级", c.level),
            ("相当于植树", f"{c.trees} 棵" + ("（暂定）" if c.tree_provisional else "")),
            ("主要场景", "、".join(c.top_scenarios)),
            ("文件 SM3", c.pdf_sm3),
        ]
    )


def _forms(no: str = "", code: str = "") -> str:
    return code_form(
        PAGE_PATH, label="证书编号", name="certificate_no", no=no, code=code
    ) + upload_form(f"{PAGE_PATH}/upload", label="或上传证书 PDF 文件")


def _page(result: str = "", *, no: str = "", code: str = "") -> HTMLResponse:
    return html_page(TITLE, result + _forms(no, code))


def _fits(text: str, length: tuple[int, int]) -> bool:
    return length[0] <= len(text.strip()) <= length[1]


def _by_code(request: Request, container: ContainerDep, no: str, code: str) -> HTMLResponse:
    if not (_fits(no, NUMBER_LENGTH) and _fits(code, CODE_LENGTH)):
        return _page(result_box(False, "请输入正确的证书编号和验证码。"), no=no)
    try:
        found = verify_code(
            container.uow,
            certificate_runtime(container),
            certificate_no=no,
            code=code,
            client_ip=client_ip(request),
        )
    except GreenbankError as err:
        return error_page(TITLE, err, _forms(no, code))
    shown = CertificateOut.of(found)
    link = f'<p><a href="{escape(shown.pdf_url)}">下载原始证书 PDF</a></p>'
    return _page(result_box(True, "证书真实有效。", _fields(shown) + link), no=no, code=code)


@router.get(PAGE_PATH, response_class=HTMLResponse)
def certificate_page(
    request: Request,
    container: ContainerDep,
    no: Annotated[str | None, Query(max_length=NUMBER_LENGTH[1])] = None,
    code: Annotated[str | None, Query(max_length=CODE_LENGTH[1])] = None,
) -> HTMLResponse:
    if no and code:  # opened from the certificate's QR code
        return _by_code(request, container, no, code)
    return _page(no=no or "")


@router.post(PAGE_PATH, response_class=HTMLResponse)
def certificate_form(
    request: Request,
    container: ContainerDep,
    certificate_no: Annotated[str, Form(max_length=NUMBER_LENGTH[1])],
    code: Annotated[str, Form(max_length=CODE_LENGTH[1])],
) -> HTMLResponse:
    return _by_code(request, container, certificate_no, code)


@router.post(f"{PAGE_PATH}/upload", response_class=HTMLResponse)
def certificate_upload(
    request: Request, container: ContainerDep, file: Annotated[UploadFile, File()]
) -> HTMLResponse:
    crt = certificate_runtime(container)
    try:
        data = read_upload(file, crt.seal.upload_limit_bytes)
        verdict = CertificateUploadVerdict.of(
            verify_upload(container.uow, crt, pdf=data, client_ip=client_ip(request))
        )
    except GreenbankError as err:
        return error_page(TITLE, err, _forms())
    genuine = verdict.certificate if verdict.valid else None
    fields = _fields(genuine) if genuine is not None else None
    return _page(
        upload_result(_REASONS.get(verdict.reason, verdict.reason), verdict.detail, fields)
    )


@router.get(CARD_PAGE_PATH + "{public_id}", response_class=HTMLResponse)
def card_page(
    public_id: Annotated[str, Path(max_length=64)], request: Request, container: ContainerDep
) -> HTMLResponse:
    try:
        with container.uow() as uow:
            data = card.card_by_public_id(uow.session, public_id, str(request.base_url))
    except GreenbankError as err:
        return error_page(CARD_TITLE, err, "")
    trees = f"{data.trees} 棵" + ("（暂定）" if data.tree_provisional else "")
    fields = definition_list(
        [
            ("持有人", data.masked_name),
            ("开户日期", data.since.isoformat()),
            ("累计减排", f"{data.lifetime_kg} kg CO2e"),
            ("等级", data.level),
            ("相当于植树", trees),
            ("主要场景", "、".join(data.top_scenarios)),
        ]
    )
    source = f"<p><small>植树折算来源：{escape(data.tree_source)}</small></p>"
    return html_page(
        CARD_TITLE, result_box(True, "本行碳账户名片，数据为当前值。", fields + source)
    )
