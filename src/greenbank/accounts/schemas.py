"""HTTP shapes of account opening. Personal data leaves only masked (``张*``,
``110105********002X``, ``6217 27** **** ***0 015``, ``139****1234``) — except in the ID upload
answer, which shows the customer what OCR read from their own card so they can correct it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from greenbank.accounts.models import Application, ApplicationState, CheckResult, ReviewItem
from greenbank.accounts.onboarding import NEXT_STEP
from greenbank.accounts.providers import IdCardText, LivenessChallenge
from greenbank.crypto import mask_card, mask_id_number, mask_name, mask_phone
from greenbank.identity.otp import IssuedCode

_PROBLEM = "application/problem+json"


def problems(description: str, *codes: str) -> dict[str, Any]:
    """An OpenAPI response entry listing the problem codes a route can answer with."""
    return {
        "description": f"{description} `code`: {', '.join(f'`{c}`' for c in codes)}.",
        "content": {_PROBLEM: {}},
    }


def _masked(value: str | None, masker: Any) -> str | None:
    return masker(value) if value else None


class ApplicationOut(BaseModel):
    """Where an application stands and what the customer does next."""

    id: str
    state: ApplicationState
    next_step: str | None = Field(
        description="upload_id, confirm_id, verify_face, bind_card, submit, wait_for_review, "
        "or null once finished",
        examples=["upload_id"],
    )
    refusal_code: str | None = Field(default=None, examples=["id_verification_no_record"])
    name: str | None = Field(default=None, examples=["王*"])
    id_number: str | None = Field(default=None, examples=["440106********1231"])
    card_number: str | None = Field(default=None, examples=["6217 27** **** ***0 015"])
    bank_mobile: str | None = Field(default=None, examples=["139****1234"])
    face_attempts: int
    card_attempts: int
    account_id: str | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, app: Application) -> ApplicationOut:
        state = ApplicationState(app.state)
        return cls(
            id=app.id,
            state=state,
            next_step=NEXT_STEP[state],
            refusal_code=app.refusal_code,
            name=_masked(app.name, mask_name),
            id_number=_masked(app.id_number, mask_id_number),
            card_number=_masked(app.card_number, mask_card),
            bank_mobile=_masked(app.bank_mobile, mask_phone),
            face_attempts=app.face_attempts,
            card_attempts=app.card_attempts,
            account_id=app.account_id,
            created_at=app.created_at,
            updated_at=app.updated_at,
        )


class StartIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "consents": {
                        "terms": "2026-01",
                        "personal_information": "2026-01",
                        "sensitive_face": "2026-01",
                    }
                }
            ]
        }
    )

    consents: dict[str, Annotated[str, Field(max_length=20)]] = Field(
        description="Each consent the customer ticked, with the version of the text shown: the "
        "terms, the personal-information authorisation and (separately) the face-data consent.",
    )


class IdCardOut(BaseModel):
    """What OCR read; the customer checks and corrects it, then confirms."""

    application: ApplicationOut
    recognised: dict[str, str] = Field(
        examples=[
            {
                "name": "王小明",
                "sex": "男",
                "ethnicity": "汉",
                "birth": "1990年3月7日",
                "address": "广东省广州市天河区体育西路1号",
                "id_number": "440106199003071231",
                "authority": "广州市公安局天河分局",
                "validity": "2015.03.01-2035.03.01",
            }
        ]
    )

    @classmethod
    def of(cls, app: Application, text: IdCardText) -> IdCardOut:
        return cls(application=ApplicationOut.of(app), recognised=dict(vars(text)))

    @staticmethod
    def redacted(body: dict[str, Any]) -> dict[str, Any]:
        """The answer as kept for an idempotent replay: the recognised fields masked."""
        seen = dict(body["recognised"])
        seen["name"] = mask_name(seen["name"]) if seen.get("name") else ""
        seen["id_number"] = mask_id_number(seen["id_number"]) if seen.get("id_number") else ""
        seen["address"] = (seen.get("address") or "")[:6] + "***"
        seen["birth"] = ""
        return {**body, "recognised": seen}


class ConfirmIdIn(BaseModel):
    name: str = Field(min_length=1, max_length=60, examples=["王小明"])
    id_number: str = Field(min_length=1, max_length=24, examples=["440106199003071231"])
    address: str = Field(min_length=5, max_length=120, examples=["广东省广州市天河区体育西路1号"])
    validity: str = Field(
        min_length=8, max_length=40, examples=["2015.03.01-2035.03.01", "2010.05.01-长期"]
    )
    occupation: str = Field(min_length=1, max_length=100, examples=["工程师"])
    sex: Literal["male", "female"] | None = None
    ethnicity: str | None = Field(default=None, max_length=20, examples=["汉"])
    declared_residence: str | None = Field(
        default=None, max_length=120, description="Where the customer lives, if not the ID address"
    )


class ChallengeOut(BaseModel):
    token: str
    actions: list[str] = Field(examples=[["blink", "turn_head_left"]])
    expires_at: datetime

    @classmethod
    def of(cls, challenge: LivenessChallenge) -> ChallengeOut:
        return cls(
            token=challenge.token, actions=list(challenge.actions), expires_at=challenge.expires_at
        )


class CardCodeIn(BaseModel):
    card_number: str = Field(min_length=16, max_length=23, examples=["6217270000000000015"])
    bank_mobile: str = Field(
        min_length=11,
        max_length=20,
        description="The mobile registered with the card's bank",
        examples=["13926261234"],
    )


class CardCodeOut(BaseModel):
    phone_masked: str = Field(examples=["139****1234"])
    expires_at: datetime
    resend_after: datetime

    @classmethod
    def of(cls, issued: IssuedCode) -> CardCodeOut:
        return cls(
            phone_masked=issued.phone_masked,
            expires_at=issued.expires_at,
            resend_after=issued.resend_after,
        )


class BindCardIn(CardCodeIn):
    code: str = Field(min_length=4, max_length=8, pattern=r"^\d+$", examples=["123456"])


class RevokeConsentIn(BaseModel):
    kind: Literal["terms", "personal_information", "sensitive_face"]


class RevokedOut(BaseModel):
    revoked: int


# --- staff ---------------------------------------------------------------------------------


class CheckOut(BaseModel):
    kind: str
    provider: str
    result_code: str
    passed: bool
    detail: dict[str, Any]
    at: datetime

    @classmethod
    def of(cls, row: CheckResult) -> CheckOut:
        return cls(
            kind=row.kind,
            provider=row.provider,
            result_code=row.result_code,
            passed=row.passed,
            detail=row.detail,
            at=row.at,
        )


class ReviewOut(BaseModel):
    status: str
    reasons: list[str]
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None

    @classmethod
    def of(cls, row: ReviewItem) -> ReviewOut:
        return cls(
            status=row.status,
            reasons=row.reasons,
            created_at=row.created_at,
            decided_at=row.decided_at,
            decided_by=row.decided_by,
            decision_reason=row.decision_reason,
        )


class StaffApplicationOut(ApplicationOut):
    customer_id: str
    sex: str | None
    region_code: str | None
    address: str | None = Field(description="The first six characters, then masked")
    face_similarity: int | None
    risk_reasons: list[str] | None
    checks: list[CheckOut] = []
    review: ReviewOut | None = None

    @classmethod
    def full(
        cls, app: Application, checks: list[CheckResult], review: ReviewItem | None
    ) -> StaffApplicationOut:
        base = ApplicationOut.of(app).model_dump()
        return cls(
            **base,
            customer_id=app.customer_id,
            sex=app.sex,
            region_code=app.region_code,
            address=(app.address[:6] + "***") if app.address else None,
            face_similarity=app.face_similarity,
            risk_reasons=app.risk_reasons,
            checks=[CheckOut.of(c) for c in checks],
            review=ReviewOut.of(review) if review else None,
        )


class ApplicationPage(BaseModel):
    items: list[ApplicationOut]
    total: int


class ReviewIn(BaseModel):
    decision: Literal["approve", "refuse"]
    reason: str = Field(min_length=2, max_length=500, examples=["住址与手机归属地均在广东，同意"])


class BlacklistIn(BaseModel):
    kind: Literal["id_number", "card", "phone", "device", "ip"]
    value: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=2, max_length=200)


class BlacklistOut(BaseModel):
    id: str
    kind: str
    label: str
    reason: str
    created_by: str
    created_at: datetime
