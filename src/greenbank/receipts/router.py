"""Receipts over HTTP: the customer's own receipts, and public verification (no sign-in).

Public endpoints share one rate limit per client IP (see ``verification``): 429 ``rate_limited``
with ``Retry-After``. This module's ``router`` also mounts the staff routes and the HTML page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, File, Path, Query, Request, UploadFile
from fastapi.responses import Response

from greenbank.api.deps import ContainerDep
from greenbank.identity.deps import CurrentCustomer, client_ip
from greenbank.receipts import page, staff_router
from greenbank.receipts.page_frame import read_upload
from greenbank.receipts.queries import customer_receipt, customer_receipts
from greenbank.receipts.runtime import ReceiptsRuntime, runtime
from greenbank.receipts.schemas import (
    ReceiptOut,
    ReceiptPage,
    UploadVerdict,
    VerifiedReceipt,
    VerifyCodeIn,
)
from greenbank.receipts.verification import (
    Method,
    stored_pdf,
    verify_code,
    verify_upload,
)


@asynccontextmanager
async def _attach(app: FastAPI) -> AsyncIterator[None]:
    """Bind the receipts runtime to the app's container, so bus consumers find it."""
    runtime(app.state.container)
    yield


def get_runtime(container: ContainerDep) -> ReceiptsRuntime:
    return runtime(container)


RuntimeDep = Annotated[ReceiptsRuntime, Depends(get_runtime)]
ReceiptNo = Annotated[str, Path(min_length=4, max_length=24, examples=["RP20260302000001"])]
PROBLEMS: dict[int | str, dict[str, object]] = {
    404: {"description": "No such receipt (or number and code do not match)"},
    409: {"description": "The receipt is still being sealed"},
}
PUBLIC_PROBLEMS: dict[int | str, dict[str, object]] = {
    **PROBLEMS,
    422: {"description": "The amount given is not the receipt's amount"},
    429: {"description": "rate_limited: too many attempts from this address (Retry-After)"},
}


def pdf_response(data: bytes, receipt_no: str) -> Response:
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{receipt_no}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


mine = APIRouter(prefix="/api/v1/me/receipts", tags=["receipts (customer)"])
public = APIRouter(prefix="/api/v1/receipts", tags=["receipts (public verification)"])


@mine.get("", name="receipts.mine.list", summary="My receipts, newest first")
def list_mine(
    customer: CurrentCustomer,
    container: ContainerDep,
    page_no: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ReceiptPage:
    with container.uow() as uow:
        found = customer_receipts(uow.session, customer.id, page=page_no, size=size)
        items = [ReceiptOut.of(r) for r in found.items]
    return ReceiptPage(items=items, total=found.total, page=found.page, size=found.size)


@mine.get(
    "/{receipt_no}", name="receipts.mine.get", summary="One of my receipts", responses=PROBLEMS
)
def get_mine(
    customer: CurrentCustomer, container: ContainerDep, receipt_no: ReceiptNo
) -> ReceiptOut:
    with container.uow() as uow:
        return ReceiptOut.of(customer_receipt(uow.session, customer.id, receipt_no))


@mine.get(
    "/{receipt_no}/pdf",
    name="receipts.mine.pdf",
    summary="Download my sealed receipt (application/pdf)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **PROBLEMS},
)
def pdf_mine(
    customer: CurrentCustomer, container: ContainerDep, rt: RuntimeDep, receipt_no: ReceiptNo
) -> Response:
    with container.uow() as uow:
        receipt = customer_receipt(uow.session, customer.id, receipt_no)
        return pdf_response(stored_pdf(rt, receipt), receipt.receipt_no)


@public.post(
    "/verify",
    name="receipts.verify",
    summary="Verify a receipt by its number and verification code (+ amount)",
    responses=PUBLIC_PROBLEMS,
)
def verify(
    body: VerifyCodeIn, request: Request, container: ContainerDep, rt: RuntimeDep
) -> VerifiedReceipt:
    receipt = verify_code(
        container.uow,
        rt,
        receipt_no=body.receipt_no,
        code=body.code,
        amount_fen=body.amount_fen(),
        client_ip=client_ip(request),
    )
    return VerifiedReceipt.with_code(receipt, body.code)


@public.get(
    "/{receipt_no}/pdf",
    name="receipts.download",
    summary="Download the original sealed PDF with the verification code",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **PUBLIC_PROBLEMS},
)
def download(
    receipt_no: ReceiptNo,
    code: Annotated[str, Query(min_length=8, max_length=16)],
    request: Request,
    container: ContainerDep,
    rt: RuntimeDep,
) -> Response:
    receipt = verify_code(
        container.uow,
        rt,
        receipt_no=receipt_no,
        code=code,
        amount_fen=None,
        client_ip=client_ip(request),
        method=Method.DOWNLOAD,
    )
    return pdf_response(stored_pdf(rt, receipt), receipt.receipt_no)


@public.post(
    "/verify-pdf",
    name="receipts.verify_pdf",
    summary="Upload a receipt PDF: is it intact, sealed by this bank, and which receipt is it?",
    responses={
        413: {"description": "Larger than a receipt can be"},
        429: PUBLIC_PROBLEMS[429],
    },
)
def verify_pdf(
    file: Annotated[UploadFile, File(description="The receipt PDF")],
    request: Request,
    container: ContainerDep,
    rt: RuntimeDep,
) -> UploadVerdict:
    data = read_upload(file, rt.upload_limit_bytes)
    check = verify_upload(container.uow, rt, pdf=data, client_ip=client_ip(request))
    return UploadVerdict.of(check)


router = APIRouter(lifespan=_attach)
router.include_router(mine)
router.include_router(public)
router.include_router(staff_router.router)
router.include_router(page.router)
