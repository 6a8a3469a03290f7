"""HTTP shapes of receipts. Every personal field is masked already in storage; the public view
leaves out the verification code and who the customer is."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Self

from pydantic import BaseModel, Field

from greenbank.money import format_yuan, parse_yuan
from greenbank.receipts.models import SEALED, Receipt
from greenbank.receipts.queries import DayFigures
from greenbank.receipts.render import ReceiptType, percent
from greenbank.receipts.verification import UploadCheck


class PartyOut(BaseModel):
    name: str = Field(description="Masked unless it is the bank's own account (张*).")
    account: str = Field(description="Masked account number (6217 27** **** 1234).")
    bank: str


class ReceiptFields(BaseModel):
    receipt_no: str
    type: ReceiptType
    type_label: str
    status: str = Field(description="pending (being sealed) or sealed")
    business_date: date
    transaction_time: datetime
    serial_no: str
    payer: PartyOut
    payee: PartyOut
    amount_fen: int
    amount: str = Field(description="Yuan with two decimals, e.g. 10,175.00")
    product: str | None
    term: str | None
    rate: str | None = Field(description="Annual rate as printed, e.g. 1.50%")
    rate_bonus: str | None
    value_date: date | None
    maturity_date: date | None
    sealed_at: datetime | None
    pdf_sm3: str | None = Field(description="SM3 of the sealed PDF as stored, hex")

    @classmethod
    def fields_of(cls, r: Receipt) -> dict[str, object]:
        kind = ReceiptType(r.type)
        return {
            "receipt_no": r.receipt_no,
            "type": kind,
            "type_label": kind.label,
            "status": r.status,
            "business_date": r.business_date,
            "transaction_time": r.transaction_time,
            "serial_no": r.serial_no,
            "payer": PartyOut(name=r.payer_name, account=r.payer_account, bank=r.payer_bank),
            "payee": PartyOut(name=r.payee_name, account=r.payee_account, bank=r.payee_bank),
            "amount_fen": r.amount_fen,
            "amount": format_yuan(r.amount_fen),
            "product": r.product,
            "term": r.term,
            "rate": percent(Decimal(r.rate)) if r.rate else None,
            "rate_bonus": percent(Decimal(r.rate_bonus)) if r.rate_bonus else None,
            "value_date": r.value_date,
            "maturity_date": r.maturity_date,
            "sealed_at": r.sealed_at,
            "pdf_sm3": r.pdf_sm3,
        }

    @classmethod
    def of(cls, r: Receipt) -> Self:
        return cls.model_validate(cls.fields_of(r))


class ReceiptOut(ReceiptFields):
    """The customer's own receipt: with the code to hand to whoever should verify it."""

    verification_code: str
    pdf_url: str | None

    @classmethod
    def of(cls, r: Receipt) -> Self:
        pdf = f"/api/v1/me/receipts/{r.receipt_no}/pdf" if r.status == SEALED else None
        return cls.model_validate(
            cls.fields_of(r) | {"verification_code": r.verification_code, "pdf_url": pdf}
        )


class ReceiptPage(BaseModel):
    items: list[ReceiptOut]
    total: int
    page: int
    size: int


class VerifyCodeIn(BaseModel):
    receipt_no: Annotated[str, Field(min_length=4, max_length=24, examples=["RP20260302000001"])]
    code: Annotated[str, Field(min_length=8, max_length=16, examples=["7KQ2M-XH9PA"])]
    amount: Annotated[
        str | None, Field(max_length=20, description="Optional: the amount in yuan, e.g. 10000.00")
    ] = None

    def amount_fen(self) -> int | None:
        return None if self.amount in (None, "") else parse_yuan(self.amount or "")


class VerifiedReceipt(ReceiptFields):
    """What a third party with the number and code sees: masked fields and the original PDF."""

    pdf_url: str | None = Field(description="Download of the original sealed PDF (needs the code)")

    @classmethod
    def with_code(cls, r: Receipt, code: str) -> Self:
        pdf = f"/api/v1/receipts/{r.receipt_no}/pdf?code={code}" if r.status == SEALED else None
        return cls.model_validate(cls.fields_of(r) | {"pdf_url": pdf})


class UploadVerdict(BaseModel):
    valid: bool = Field(description="An intact receipt sealed by this bank, identical to ours")
    reason: str = Field(description="ok, or what is wrong (see the receipts README)")
    detail: str
    receipt_no: str | None
    signer_subject: str | None
    signing_time: datetime | None
    timestamped: bool
    known: bool = Field(description="A receipt with this number was issued here")
    matches_stored: bool = Field(description="Byte-identical (SM3) to the copy we stored")
    receipt: ReceiptFields | None

    @classmethod
    def of(cls, check: UploadCheck) -> UploadVerdict:
        result = check.result
        reason = result.reason.value
        if result.valid and not check.matches_stored:
            reason = "not_stored_copy" if check.known else "unknown_receipt"
        return cls(
            valid=check.valid,
            reason=reason,
            detail=result.detail,
            receipt_no=result.receipt_no,
            signer_subject=result.signer_subject,
            signing_time=result.signing_time,
            timestamped=result.timestamped,
            known=check.known,
            matches_stored=check.matches_stored,
            receipt=ReceiptFields.of(check.receipt) if check.receipt and check.valid else None,
        )


class StaffReceipt(ReceiptFields):
    source_type: str
    source_id: str
    customer_id: str | None

    @classmethod
    def of(cls, r: Receipt) -> Self:
        extra = {"source_type": r.source_type, "source_id": r.source_id}
        return cls.model_validate(cls.fields_of(r) | extra | {"customer_id": r.customer_id})


class StaffReceiptPage(BaseModel):
    items: list[StaffReceipt]
    total: int
    page: int
    size: int


class DayFiguresOut(BaseModel):
    day: date
    issued: int
    sealed: int
    verified: int = Field(description="Successful verifications (by code or by upload)")
    verification_failed: int
    downloads: int
    issued_by_type: dict[str, int]

    @classmethod
    def of(cls, d: DayFigures) -> DayFiguresOut:
        return cls.model_validate(d, from_attributes=True)


class ReceiptStats(BaseModel):
    date_from: date
    date_to: date
    issued: int
    sealed: int
    verified: int
    verification_failed: int
    days: list[DayFiguresOut]
