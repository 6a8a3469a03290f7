"""HTTP output of the carbon reduction certificate: the masked figures as of issue, the links,
the verdict on an uploaded PDF, and the staff's per-day figures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Self
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from greenbank.carbon.card import kg_text
from greenbank.carbon.certificate import PUBLIC_PATH, verification_link
from greenbank.carbon.certificate_checks import UploadCheck
from greenbank.carbon.certificates import CertificateView, Issued
from greenbank.carbon.staff_queries import CertificateDay

_EXAMPLE: dict[str, JsonValue] = {
    "certificate_no": "CR20260302K7M2QX9PZA",
    "issued_at": "2026-03-02T01:30:00Z",
    "masked_name": "张*",
    "since": "2026-01-05",
    "lifetime_mg": 12_345_678,
    "lifetime_kg": "12.35",
    "provisional_mg": 89_000,
    "provisional_kg": "0.09",
    "level": "绿叶",
    "trees": "0.20",
    "tree_source": "US EPA Greenhouse Gas Equivalencies Calculator: ...",
    "tree_provisional": True,
    "top_scenarios": ["线上存款（替代柜台办理）"],
    "pdf_sm3": "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
    "pdf_size": 61_234,
    "pdf_url": "/api/v1/carbon/certificates/CR20260302K7M2QX9PZA/pdf?code=ABCDE23456",
}


_VERIFY_EXAMPLE = "/verify/certificate?no=CR20260302K7M2QX9PZA&code=ABCDE23456"


class CertificateOut(BaseModel):
    """A certificate as anyone with its number and code sees it: masked, as of ``issued_at``."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    certificate_no: str
    issued_at: datetime = Field(description="The figures are as of this moment")
    masked_name: str
    since: date = Field(description="The day the carbon account was opened")
    lifetime_mg: int = Field(description="Lifetime reduction, integer milligrams CO2e")
    lifetime_kg: str
    provisional_mg: int = Field(description="Part of it computed with provisional factors")
    provisional_kg: str
    level: str
    trees: str = Field(description="Trees equivalent (10-year urban seedlings), 2 decimals")
    tree_source: str
    tree_provisional: bool
    top_scenarios: list[str]
    pdf_sm3: str = Field(description="SM3 of the sealed PDF as stored (hex)")
    pdf_size: int
    pdf_url: str = Field(description="Download of the original sealed PDF (needs the code)")

    @classmethod
    def of(cls, c: CertificateView) -> Self:
        fig = c.figures
        pdf_url = f"{PUBLIC_PATH}{c.certificate_no}/pdf?code={quote(c.verification_code)}"
        return cls(
            certificate_no=c.certificate_no,
            issued_at=c.issued_at,
            masked_name=fig.masked_name,
            since=fig.since,
            lifetime_mg=fig.lifetime_mg,
            lifetime_kg=kg_text(fig.lifetime_mg),
            provisional_mg=fig.provisional_mg,
            provisional_kg=kg_text(fig.provisional_mg),
            level=fig.level,
            trees=fig.trees,
            tree_source=fig.tree_source,
            tree_provisional=fig.tree_provisional,
            top_scenarios=list(fig.top_scenarios),
            pdf_sm3=c.pdf_sm3,
            pdf_size=c.pdf_size,
            pdf_url=pdf_url,
        )


class IssuedCertificateOut(CertificateOut):
    """The customer's answer: with the code to hand to whoever should verify the certificate."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _EXAMPLE
                | {
                    "verification_code": "ABCDE23456",
                    "verify_url": _VERIFY_EXAMPLE,
                    "created": True,
                }
            ]
        }
    )

    verification_code: str
    verify_url: str = Field(
        description="The public verification page (the QR code's); the JSON check is "
        "GET /api/v1/carbon/certificates/{certificate_no}?code="
    )
    created: bool = Field(description="False: today's certificate with the same figures")

    @classmethod
    def issued(cls, issued: Issued) -> Self:
        c = issued.certificate
        verify_url = verification_link("", c.certificate_no, c.verification_code)
        return cls.model_validate(
            CertificateOut.of(c).model_dump()
            | {
                "verification_code": c.verification_code,
                "verify_url": verify_url,
                "created": issued.created,
            }
        )


class CertificateUploadVerdict(BaseModel):
    valid: bool = Field(description="An intact certificate sealed by this bank, identical to ours")
    reason: str = Field(
        description="ok, a receipts verification reason (bytes_changed, modified_after_signing, "
        "unknown_signer, no_signature, not_a_pdf, truncated, certificate_expired, ...), "
        "not_a_certificate, unknown_certificate or not_stored_copy",
        examples=["bytes_changed"],
    )
    detail: str
    certificate_no: str | None
    signer_subject: str | None
    signing_time: datetime | None
    timestamped: bool
    certificate: CertificateOut | None = Field(description="The stored figures, when valid")

    @classmethod
    def of(cls, check: UploadCheck) -> CertificateUploadVerdict:
        result = check.result
        return cls(
            valid=check.valid,
            reason=check.outcome,
            detail=result.detail,
            certificate_no=result.receipt_no,
            signer_subject=result.signer_subject,
            signing_time=result.signing_time,
            timestamped=result.timestamped,
            certificate=(
                CertificateOut.of(check.certificate)
                if check.valid and check.certificate is not None
                else None
            ),
        )


class CertificateFigures(BaseModel):
    """What staff count for certificates, for one day or summed over a range."""

    issued: int = Field(
        description="Certificates issued (asking again with unchanged figures is not a new one)"
    )
    verified: int = Field(description="Checks by number + code (API or page) or upload that passed")
    verification_failed: int = Field(
        description="Checks that did not pass: a wrong number or code (downloads included), an "
        "upload that is not an intact certificate we stored"
    )
    downloads: int = Field(description="Original PDFs downloaded with the right number and code")


class CertificateDayOut(CertificateFigures):
    day: date = Field(description="Business day (Asia/Shanghai)")


class CertificateStats(CertificateFigures):
    """The range's totals, then each day on which a certificate was issued or checked."""

    date_from: date
    date_to: date
    days: list[CertificateDayOut]

    @classmethod
    def of(cls, first: date, last: date, days: Sequence[CertificateDay]) -> Self:
        totals = {
            name: sum(getattr(d, name) for d in days) for name in CertificateFigures.model_fields
        }
        return cls(
            date_from=first,
            date_to=last,
            days=[CertificateDayOut.model_validate(d, from_attributes=True) for d in days],
            **totals,
        )
