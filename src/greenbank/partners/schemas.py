"""Pydantic I/O of the open API, the customer routes and the staff console."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

EventId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,128}$")]
Scenario = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
InputValue = str | int | bool


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventIn(_In):
    event_id: EventId = Field(description="The partner's own id; a retry with it is a duplicate")
    customer_token: Annotated[str, StringConstraints(min_length=10, max_length=100)]
    scenario: Scenario
    occurred_at: AwareDatetime
    inputs: dict[str, InputValue] = Field(
        default_factory=dict, description="Methodology inputs; decimals as strings, e.g. '12.5'"
    )


class BatchIn(_In):
    events: list[EventIn] = Field(min_length=1)


class ItemResult(BaseModel):
    index: int
    event_id: str
    status: Literal["accepted", "rejected"]
    reason: str | None = None
    detail: str | None = None
    credited_mg: int = 0
    provisional: bool = False
    carbon_event_id: str | None = None
    authorisation_id: str | None = None


class BatchOut(BaseModel):
    accepted: int
    rejected: int
    results: list[ItemResult]


class EventStatus(BaseModel):
    event_id: str
    authorisation_id: str
    scenario: str
    status: str
    reason: str | None
    detail: str | None
    credited_mg: int
    carbon_event_id: str | None
    received_at: datetime


class AuthorisationRequestIn(_In):
    scenarios: list[Scenario] = Field(min_length=1)
    state: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    redirect_uri: str | None = None
    phone_encrypted: str | None = Field(
        default=None,
        description="Optional: the customer's mobile, SM2-encrypted to the platform key "
        "(base64 GM/T 0009 DER); only that customer may approve",
    )


class AuthorisationRequestOut(BaseModel):
    request_id: str
    partner_id: str
    partner_name: str
    scenarios: list[str]
    status: str
    expires_at: datetime
    authorize_path: str | None = None


class TokenIn(_In):
    grant_type: Literal["authorization_code"]
    code: Annotated[str, StringConstraints(min_length=10, max_length=100)]


class TokenOut(BaseModel):
    customer_token: str
    authorisation_id: str
    scenarios: list[str]


class CarbonTotalIn(_In):
    customer_token: Annotated[str, StringConstraints(min_length=10, max_length=100)]


class ScenarioTotalOut(BaseModel):
    scenario: str
    today_mg: int
    month_mg: int
    lifetime_mg: int


class CarbonTotalOut(BaseModel):
    authorisation_id: str
    lifetime_mg: int
    month_mg: int
    today_mg: int
    level: str
    scenarios: list[ScenarioTotalOut]


class WebhookIn(_In):
    url: Annotated[str, StringConstraints(max_length=500)]
    event_types: list[str] = Field(min_length=1)


class WebhookOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    status: str
    created_at: datetime


class DeliveryOut(BaseModel):
    notification_id: str
    event_type: str
    webhook_id: str
    created_at: datetime
    delivered_at: datetime | None
    attempts: list[dict[str, Any]]


class RefusalOut(BaseModel):
    at: datetime
    method: str
    path: str
    status: int
    code: str
    detail: str
    request_id: str | None


class KeyIn(_In):
    public_key_pem: Annotated[str, StringConstraints(min_length=100, max_length=2000)]


class KeyOut(BaseModel):
    serial_no: str
    status: str
    created_at: datetime
    revoked_at: datetime | None
    public_key_pem: str


class ApiSecretIn(_In):
    api_secret_encrypted: Annotated[str, StringConstraints(min_length=10, max_length=1000)]


class PlatformKeyOut(BaseModel):
    serial_no: str
    public_key_pem: str
    current: bool
    endorsements: dict[str, str]


class PlatformKeysOut(BaseModel):
    keys: list[PlatformKeyOut]


class SandboxCustomerOut(BaseModel):
    customer_id: str
    access_token: str


class ProfileIn(_In):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    sandbox: bool = True
    scenarios: list[Scenario] = Field(min_length=1)
    redirect_uris: list[str] = Field(default_factory=list)
    ip_allow_list: list[str] = Field(default_factory=list)
    rate_limit_per_minute: int = Field(default=600, ge=1, le=1_000_000)


class PartnerIn(ProfileIn):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{1,63}$")]
    public_key_pem: str


class DecisionIn(_In):
    approve: bool = True


class PartnerOut(BaseModel):
    id: str
    name: str
    status: str
    sandbox: bool
    scenarios: list[str]
    redirect_uris: list[str]
    ip_allow_list: list[str]
    rate_limit_per_minute: int
    api_secret_set: bool
    pending_change: dict[str, Any] | None
    created_by: str
    approved_by: str | None
    keys: list[KeyOut]


class ApprovalOut(BaseModel):
    code: str
    state: str
    redirect_uri: str | None


class CustomerAuthorisationOut(BaseModel):
    id: str
    partner_id: str
    partner_name: str
    scenarios: list[str]
    status: str
    granted_at: datetime
    revoked_at: datetime | None
