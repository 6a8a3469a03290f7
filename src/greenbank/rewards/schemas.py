"""Pydantic input and output models of the rewards API (syntax here, semantics in services)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from greenbank.rewards.domain import ItemKind, OrderStatus

Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]{1,39}$")]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Text = Annotated[str, Field(max_length=1000)]
Positive = Annotated[int, Field(gt=0)]
NonNegative = Annotated[int, Field(ge=0)]
Amount = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=3)]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- mall --------------------------------------------------------------------------------------


class ItemIn(BaseModel):
    code: Code
    kind: ItemKind
    name: Name
    description: Text = ""
    points_price: Positive
    stock: NonNegative = 0  # coupons: ignored, stock comes from imported codes
    per_customer_limit: Positive | None = None
    min_level: str | None = None
    sale_from: AwareDatetime | None = None
    sale_until: AwareDatetime | None = None


class ItemChange(BaseModel):
    """Fields staff may change on an item; absent fields keep their value."""

    name: Name | None = None
    description: Text | None = None
    points_price: Positive | None = None
    add_stock: int | None = None  # gifts and memberships; negative to write stock off
    per_customer_limit: Positive | None = None
    min_level: str | None = None
    sale_from: AwareDatetime | None = None
    sale_until: AwareDatetime | None = None
    status: str | None = None


class ItemOut(Out):
    id: str
    code: str
    kind: str
    name: str
    description: str
    points_price: int
    stock: int
    per_customer_limit: int | None
    min_level: str | None
    sale_from: datetime | None
    sale_until: datetime | None
    status: str


class CodesIn(BaseModel):
    batch: Annotated[str, Field(min_length=1, max_length=100)]
    codes: Annotated[list[str], Field(min_length=1, max_length=10_000)]


class CodesImported(BaseModel):
    item_code: str
    imported: int
    stock: int


class RedeemIn(BaseModel):
    item_code: Code
    quantity: Annotated[int, Field(gt=0, le=100)] = 1
    ship_to: Annotated[str | None, Field(max_length=300)] = None


class OrderOut(Out):
    id: str
    item_id: str
    item_code: str
    item_kind: str
    customer_id: str
    quantity: int
    points: int
    status: OrderStatus
    coupon_code: str | None
    ship_to: str | None
    tracking_no: str | None
    note: str | None
    created_at: datetime
    updated_at: datetime
    replayed: bool = False


class OrderMoveIn(BaseModel):
    status: OrderStatus
    tracking_no: Annotated[str | None, Field(max_length=64)] = None
    note: Annotated[str | None, Field(max_length=300)] = None


# --- donations ---------------------------------------------------------------------------------


class ProjectIn(BaseModel):
    code: Code
    name: Name
    description: Text = ""
    partner: Name
    unit_name: Annotated[str, Field(min_length=1, max_length=20)]
    points_per_unit: Positive
    target_units: Positive


class ProjectOut(Out):
    id: str
    code: str
    name: str
    description: str
    partner: str
    unit_name: str
    points_per_unit: int
    target_units: int
    funded_units: int
    donors: int
    status: str


class DonateIn(BaseModel):
    project_code: Code
    units: Annotated[int, Field(gt=0, le=10_000)]


class DonationOut(Out):
    id: str
    project_code: str
    project_name: str
    unit_name: str
    units: int
    points: int
    certificate_no: str
    created_at: datetime
    replayed: bool = False


# --- perks -------------------------------------------------------------------------------------


class RuleIn(BaseModel):
    """A perk rule as data: see the README for fields, operators, kinds and their params."""

    definition: dict[str, Any]


class RuleOut(Out):
    id: str
    code: str
    version: int
    status: str
    definition: dict[str, Any]
    created_by: str
    submitted_by: str | None
    approved_by: str | None
    created_at: datetime
    approved_at: datetime | None


class GrantOut(Out):
    id: str
    customer_id: str
    rule_code: str
    rule_version: int
    kind: str
    params: dict[str, Any]
    coupon_code: str | None
    valid_from: date
    valid_until: date
    status: str
    used_ref: str | None


class EvaluationOut(BaseModel):
    customers: int
    granted: int
    rules: int


# --- footprint ---------------------------------------------------------------------------------


class FootprintIn(BaseModel):
    electricity_kwh_per_month: Amount = Decimal(0)
    grid: str = "national"
    natural_gas_m3_per_month: Amount = Decimal(0)
    lpg_kg_per_month: Amount = Decimal(0)
    water_m3_per_month: Amount = Decimal(0)
    car_km_per_month: Amount = Decimal(0)
    car_fuel: str = "petrol"
    car_fuel_litres_per_month: Amount = Decimal(0)
    flight_km_per_year: dict[str, Amount] = Field(default_factory=dict)
    diet_kg_per_week: dict[str, Amount] = Field(default_factory=dict)


class FootprintOut(BaseModel):
    id: str
    created_at: datetime
    factors_version: str
    total_kg_per_year: str
    lines: list[dict[str, Any]]
    national_average: dict[str, Any]
    percent_of_national_average: str
    suggestions: list[dict[str, Any]]


# --- knowledge and quizzes ---------------------------------------------------------------------


class ArticleIn(BaseModel):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    body: Annotated[str, Field(min_length=1, max_length=20_000)]
    source: Annotated[str, Field(min_length=1, max_length=300)]


class ArticleOut(Out):
    id: str
    title: str
    body: str
    source: str
    status: str
    published_at: datetime | None


class QuestionIn(BaseModel):
    prompt: Annotated[str, Field(min_length=1, max_length=500)]
    choices: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=200)]], Field(min_length=2, max_length=6)
    ]
    answer: NonNegative
    explanation: Annotated[str, Field(min_length=1, max_length=1000)]
    source: Annotated[str, Field(min_length=1, max_length=300)]


class QuestionOut(Out):
    """A question as a customer sees it before answering (no answer, no explanation)."""

    id: str
    prompt: str
    choices: list[str]
    answered: bool = False


class StaffQuestionOut(QuestionOut):
    answer: int
    explanation: str
    source: str
    status: str


class AnswerIn(BaseModel):
    chosen: NonNegative


class AnswerOut(BaseModel):
    question_id: str
    correct: bool
    answer: int
    explanation: str
    source: str
    points: int
    points_today: int
    daily_cap: int
    replayed: bool
