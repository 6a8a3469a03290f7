"""What the fund-loop services return and the routers serialise (amounts are integer fen)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from greenbank.accounts.funds_models import FundTransfer


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class TransferOut(_Out):
    id: str
    account_id: str
    kind: str
    purpose: str
    status: str
    amount_fen: int
    bound_card: bool
    card_masked: str
    bank_name: str
    rail: str
    rail_reference: str | None
    failure_code: str | None
    requested_at: datetime
    settled_at: datetime | None
    replayed: bool = False

    @classmethod
    def of(cls, row: FundTransfer, *, replayed: bool = False) -> TransferOut:
        return cls(
            id=row.id,
            account_id=row.account_id,
            kind=row.kind,
            purpose=row.purpose,
            status=row.status,
            amount_fen=row.amount_fen,
            bound_card=row.bound,
            card_masked=row.card_masked,
            bank_name=row.bank_name,
            rail=row.rail,
            rail_reference=row.rail_reference,
            failure_code=row.failure_code,
            requested_at=row.requested_at,
            settled_at=row.settled_at,
            replayed=replayed,
        )


class TransferPage(_Out):
    items: list[TransferOut]
    next_cursor: str | None


class CloseOut(_Out):
    """``closed`` at once for an empty account; ``closing`` while the balance goes home."""

    account_id: str
    status: str
    transfer: TransferOut | None


class AccountOverview(_Out):
    account_id: str
    customer_id: str
    account_number_masked: str
    status: str
    status_reason: str | None
    opened_at: datetime
    closed_at: datetime | None
    bound_card_masked: str | None
    bound_card_bank: str | None
    balance_fen: int
    held_fen: int
    available_fen: int


class HistoryLine(_Out):
    entry_id: str
    type: str
    amount_fen: int  # + money in, - money out of the Class II balance
    balance_after_fen: int
    value_date: date
    posted_at: datetime
    description: str


class HistoryPage(_Out):
    lines: list[HistoryLine]
    next_cursor: str | None


class CustomerMatch(_Out):
    customer_id: str
    name_masked: str | None
    phone_masked: str
    id_number_masked: str | None
    customer_status: str
    account_id: str | None
    account_status: str | None


class AlertOut(_Out):
    id: str
    rule: str
    subject: str
    customer_id: str | None
    business_date: date
    amount_fen: int
    detail: dict[str, object]
    status: str
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None
