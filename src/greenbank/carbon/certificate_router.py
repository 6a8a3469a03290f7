"""HTTP routes of the carbon reduction certificate (included under ``/api/v1/carbon``): the
customer asks for one; anyone with the number and code verifies it, downloads the original, or
uploads a PDF to have it checked. Public routes are rate-limited per client IP like the
receipts' verification: 429 ``rate_limited`` with ``Retry-After``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Path, Query, Request, Response, UploadFile, status

from greenbank.api.deps import ContainerDep
from greenbank.carbon.certificate_checks import (
    CODE_LENGTH,
    NUMBER_LENGTH,
    Method,
    stored_pdf,
    verify_code,
    verify_upload,
)
from greenbank.carbon.certificate_schemas import (
    CertificateOut,
    CertificateUploadVerdict,
    IssuedCertificateOut,
)
from greenbank.carbon.certificates import (
    CertificateRuntime,
    certificate_runtime,
    issue_certificate,
)
from greenbank.identity.deps import CurrentCustomer, client_ip
from greenbank.receipts.page_frame import read_upload
from greenbank.receipts.router import pdf_response

router = APIRouter(tags=["carbon certificates"])


def _runtime(container: ContainerDep) -> CertificateRuntime:
    return certificate_runtime(container)


RuntimeDep = Annotated[CertificateRuntime, Depends(_runtime)]
CertificateNo = Annotated[
    str,
    Path(
        min_length=NUMBER_LENGTH[0],
        max_length=NUMBER_LENGTH[1],
        examples=["CR20260302K7M2QX9PZA"],
    ),
]
Code = Annotated[
    str,
    Query(
        min_length=CODE_LENGTH[0],
        max_length=CODE_LENGTH[1],
        examples=["ABCDE-23456"],
        description="Verification code",
    ),
]
_RATE_LIMITED: dict[str, object] = {
    "description": "rate_limited: too many attempts from this address (Retry-After)"
}
PUBLIC_PROBLEMS: dict[int | str, dict[str, object]] = {
    404: {"description": "carbon_certificate_not_verified: wrong number or code (same answer)"},
    429: _RATE_LIMITED,
}


@router.post(
    "/certificate",
    status_code=status.HTTP_201_CREATED,
    summary="Issue my sealed carbon reduction certificate (figures as of now)",
    description=(
        "Renders the green life card's figures (masked name, lifetime reduction, trees "
        "equivalent with its source, level, top scenarios) on a one-page A4 PDF sealed with the "
        "bank's electronic seal (PAdES, timestamped) and stores it write-once. 201 with a new "
        "certificate; 200 with today's certificate when nothing changed since it was issued "
        "(repeating the request is safe). Share the number and code: anyone can verify them."
    ),
    responses={
        200: {
            "description": "Today's certificate with the same figures",
            "model": IssuedCertificateOut,
        },
        404: {"description": "carbon_account_not_open"},
    },
)
def issue(
    me: CurrentCustomer, container: ContainerDep, crt: RuntimeDep, response: Response
) -> IssuedCertificateOut:
    issued = issue_certificate(container.uow, crt, customer_id=me.id)
    out = IssuedCertificateOut.issued(issued)
    if not issued.created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = out.verify_url
    return out


@router.get(
    "/certificates/{certificate_no}",
    summary="Verify a carbon reduction certificate by number and code (public)",
    description="The masked figures as of issue, the stored PDF's SM3 and its download link.",
    responses=PUBLIC_PROBLEMS,
)
def verify(
    certificate_no: CertificateNo,
    code: Code,
    request: Request,
    container: ContainerDep,
    crt: RuntimeDep,
) -> CertificateOut:
    found = verify_code(
        container.uow,
        crt,
        certificate_no=certificate_no,
        code=code,
        client_ip=client_ip(request),
    )
    return CertificateOut.of(found)


@router.get(
    "/certificates/{certificate_no}/pdf",
    summary="Download the original sealed certificate PDF (public, with the code)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **PUBLIC_PROBLEMS},
)
def download(
    certificate_no: CertificateNo,
    code: Code,
    request: Request,
    container: ContainerDep,
    crt: RuntimeDep,
) -> Response:
    found = verify_code(
        container.uow,
        crt,
        certificate_no=certificate_no,
        code=code,
        client_ip=client_ip(request),
        method=Method.DOWNLOAD,
    )
    return pdf_response(stored_pdf(crt, found), found.certificate_no)


@router.post(
    "/certificates/verify-pdf",
    summary="Upload a certificate PDF: intact, sealed by this bank, and the one we issued?",
    description=(
        "Checks the seal offline against the bank's root (any change inside the signed bytes, "
        "any revision appended after the seal, a foreign signer), then compares the file with "
        "the stored original. ``reason`` says what is wrong; the stored figures come back when "
        "``valid``."
    ),
    responses={413: {"description": "receipt_upload_too_large: over 2 MiB"}, 429: _RATE_LIMITED},
)
def verify_pdf(
    file: Annotated[UploadFile, File(description="The certificate PDF")],
    request: Request,
    container: ContainerDep,
    crt: RuntimeDep,
) -> CertificateUploadVerdict:
    data = read_upload(file, crt.seal.upload_limit_bytes)
    check = verify_upload(container.uow, crt, pdf=data, client_ip=client_ip(request))
    return CertificateUploadVerdict.of(check)
