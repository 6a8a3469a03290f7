"""HTTP shapes of sign-in, sessions, staff accounts and the audit trail.

Phones go in; only masked phones come out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from greenbank.audit.models import AuditLine
from greenbank.identity.domain import Role, permissions_for
from greenbank.identity.models import AuthSession, SandboxSms, StaffUser
from greenbank.identity.otp import IssuedCode
from greenbank.identity.sessions import IssuedTokens

_PROBLEM = "application/problem+json"


def problems(description: str, *codes: str) -> dict[str, Any]:
    """An OpenAPI response entry listing the problem codes a route can answer with."""
    return {
        "description": f"{description} `code`: {', '.join(f'`{c}`' for c in codes)}.",
        "content": {_PROBLEM: {}},
    }


UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: problems("No valid token.", "unauthorized", "token_expired", "session_revoked")
}

Phone = Field(
    min_length=11,
    max_length=20,
    description="Mainland mobile; +86 allowed.",
    examples=["13812345678"],
)


class OtpRequestIn(BaseModel):
    phone: str = Phone


class OtpRequestOut(BaseModel):
    phone_masked: str = Field(examples=["138****5678"])
    expires_at: datetime = Field(description="The code stops working at this instant.")
    resend_after: datetime = Field(description="No new code before this instant.")

    @classmethod
    def of(cls, issued: IssuedCode) -> OtpRequestOut:
        return cls(
            phone_masked=issued.phone_masked,
            expires_at=issued.expires_at,
            resend_after=issued.resend_after,
        )


class TokenIn(BaseModel):
    phone: str = Phone
    code: str = Field(pattern=r"^\d{4,8}$", description="The code from the SMS.")


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=10, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth 2 token type, not a secret
    expires_in: int = Field(description="Seconds the access token is valid.", examples=[900])
    refresh_expires_in: int = Field(description="Seconds the refresh token is valid.")
    session_id: str

    @classmethod
    def of(cls, tokens: IssuedTokens) -> TokenOut:
        return cls(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_in=tokens.expires_in,
            refresh_expires_in=tokens.refresh_expires_in,
            session_id=tokens.session_id,
        )


class CustomerTokenOut(TokenOut):
    customer_id: str

    @classmethod
    def of(cls, tokens: IssuedTokens) -> CustomerTokenOut:
        return cls(**TokenOut.of(tokens).model_dump(), customer_id=tokens.principal_id)


class SessionOut(BaseModel):
    id: str
    created_at: datetime
    refreshed_at: datetime
    expires_at: datetime
    client_ip: str | None
    user_agent: str | None
    current: bool = Field(description="The session of the token making this request.")

    @classmethod
    def of(cls, row: AuthSession, current_id: str) -> SessionOut:
        return cls(
            id=row.id,
            created_at=row.created_at,
            refreshed_at=row.refreshed_at,
            expires_at=row.expires_at,
            client_ip=row.client_ip,
            user_agent=row.user_agent,
            current=row.id == current_id,
        )


class StaffTokenIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class StaffOut(BaseModel):
    id: str
    username: str
    display_name: str
    roles: list[str]
    permissions: list[str]
    status: str
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, user: StaffUser) -> StaffOut:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            roles=user.role_names,
            permissions=sorted(permissions_for(user.role_names)),
            status=user.status,
            locked_until=user.locked_until,
            last_login_at=user.last_login_at,
            created_at=user.created_at,
            created_by=user.created_by,
        )


class StaffTokenOut(TokenOut):
    staff: StaffOut


class StaffCreateIn(BaseModel):
    username: str = Field(min_length=3, max_length=64, examples=["li.ming"])
    display_name: str = Field(min_length=1, max_length=100, examples=["李明"])
    password: str = Field(min_length=1, max_length=256)
    roles: list[Role] = Field(min_length=1, examples=[["operator"]])


class RolesIn(BaseModel):
    roles: list[Role] = Field(min_length=1, examples=[["reviewer", "auditor"]])


class AuditLineOut(BaseModel):
    id: str
    at: datetime
    actor: str
    action: str
    subject: str | None
    outcome: str
    request_id: str | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, line: AuditLine) -> AuditLineOut:
        return cls(
            id=line.id,
            at=line.at,
            actor=line.actor,
            action=line.action,
            subject=line.subject,
            outcome=line.outcome,
            request_id=line.request_id,
            detail=line.detail,
        )


class AuditPage(BaseModel):
    items: list[AuditLineOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page.")


class SandboxSmsOut(BaseModel):
    id: str
    phone_masked: str
    template: str
    text: str
    result_code: str
    created_at: datetime

    @classmethod
    def of(cls, row: SandboxSms) -> SandboxSmsOut:
        return cls(
            id=row.id,
            phone_masked=row.phone_masked,
            template=row.template,
            text=row.text,
            result_code=row.result_code,
            created_at=row.created_at,
        )
