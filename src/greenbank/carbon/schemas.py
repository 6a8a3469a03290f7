"""HTTP input and output of the carbon account. Carbon is integer milligrams (``*_mg``); the
``*_g`` fields are the same amounts in grams as text, for display."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from greenbank.carbon.domain import MG_PER_G
from greenbank.carbon.expr import plain

Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$", examples=["online_deposit"])]
Source = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$", examples=["bank"])]


def grams(mg: int) -> str:
    return plain(Decimal(mg) / MG_PER_G)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class OpenAccountIn(BaseModel):
    accept_terms: bool = Field(description="The customer accepts the carbon account terms.")
    terms_version: str = Field(examples=["2026-01"], description="GET /api/v1/carbon/terms")
    bank_scenarios: list[Code] = Field(
        default=[],
        description="Authorise the bank's own channels for these scenarios at once.",
        examples=[["online_deposit", "e_receipt"]],
    )


class TermsOut(BaseModel):
    version: str
    summary: str


class LevelOut(BaseModel):
    code: str
    name: str
    next_name: str | None
    mg_to_next: int


class ScenarioTotalOut(Out):
    scenario: str
    name: str
    today_mg: int
    month_mg: int
    lifetime_mg: int
    events: int


class AccountOut(BaseModel):
    customer_id: str
    opened_at: datetime
    terms_version: str
    today_mg: int
    month_mg: int
    lifetime_mg: int
    lifetime_g: str
    points_balance: int
    points_earned: int
    level: LevelOut
    trees: Decimal = Field(description="Trees equivalent (provisional factor, see card)")
    rank_opt_in: bool
    card_public_id: str
    scenarios: list[ScenarioTotalOut]


class ConsentIn(BaseModel):
    source: Source = Field(description="'bank' (own channels) or a partner id")
    scenarios: list[Code] = Field(min_length=1, examples=[["metro_trip", "bus_trip"]])


class ConsentOut(Out):
    id: str
    source: str
    scenario: str
    terms_version: str
    granted_at: datetime
    revoked_at: datetime | None
    active: bool


class EntryOut(Out):
    id: str
    kind: str = Field(description="credit, or adjustment from a re-computation")
    scenario: str
    co2e_mg: int
    points: int
    provisional: bool = Field(description="Computed from a provisional factor: label it")
    capped: bool
    methodology_version: int
    business_date: date
    explanation: str = Field(examples=["12.5 km × 46.7 g/pkm = 583.75 g"])
    created_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def co2e_g(self) -> str:
        return grams(self.co2e_mg)


class EntryPage(BaseModel):
    items: list[EntryOut]
    next_before: str | None = Field(description="Pass as ?before= for the next page")


class ParameterOut(BaseModel):
    name: str
    value: str
    unit: str
    status: str = Field(description="published | derived | provisional")
    source: str


class ExplanationOut(BaseModel):
    entry: EntryOut
    note: str = Field(
        examples=[
            "89 g from the 线上存款（替代柜台办理） methodology (online_deposit v1): "
            "89 g/transaction = 89 g. Provisional factor(s): factor_g_per_transaction."
        ]
    )
    scenario_name: str
    source: str
    source_event_id: str
    occurred_at: datetime
    inputs: dict[str, Any]
    methodology_id: str
    methodology_version: int
    baseline: str
    formula: str
    published_formula: str
    standard: str
    parameters: list[ParameterOut]
    provisional: bool
    related: list[EntryOut] = Field(description="The credit and any adjustments of this event")


class SettingsIn(BaseModel):
    rank_opt_in: bool = Field(description="Show my percentile among account holders")


class RankOut(BaseModel):
    percentile: Decimal = Field(description="% of account holders with a smaller reduction")
    accounts: int


class StatementLineOut(Out):
    scenario: str
    name: str
    entries: int
    co2e_mg: int
    points: int
    provisional_mg: int


class StatementOut(BaseModel):
    customer_id: str
    month: str
    lines: list[StatementLineOut]
    total_mg: int
    total_g: str
    points: int
    provisional_mg: int
    trees: Decimal
    tree_factor_source: str
    level: LevelOut


class CardOut(Out):
    public_id: str
    masked_name: str
    since: date
    lifetime_kg: str
    trees: Decimal
    tree_source: str
    tree_provisional: bool
    level: str
    top_scenarios: list[str]
    verify_url: str


class ScenarioOut(BaseModel):
    code: str
    name: str
    version: int
    effective_from: date
    baseline: str
    published_formula: str
    provisional: bool
    parameters: list[ParameterOut]


# -- staff --------------------------------------------------------------------------------


class DraftIn(BaseModel):
    definition: dict[str, Any] = Field(
        description="A methodology in the form of data/methodologies_v1.yaml (one entry)",
        examples=[
            {
                "scenario": "online_deposit",
                "name": "线上存款（替代柜台办理）",
                "version": 2,
                "effective_from": "2026-03-01",
                "baseline": "time deposit opened at a branch counter with paper forms",
                "formula": "factor_g_per_transaction",
                "inputs": [],
                "parameters": [
                    {
                        "name": "factor_g_per_transaction",
                        "value": "95",
                        "unit": "g/transaction",
                        "status": "provisional",
                        "source": "bank study 2026 (example)",
                    }
                ],
                "caps": {"per_day_events": 2},
                "examples": [{"inputs": {}, "expected_g": "95"}],
            }
        ],
    )


class RejectIn(BaseModel):
    reason: str = Field(min_length=1, max_length=200)


class MethodologyOut(Out):
    id: str
    scenario: str
    version: int
    name: str
    status: str
    effective_from: date
    definition: dict[str, Any]
    problems: list[str]
    provisional: bool
    created_by: str
    created_at: datetime
    submitted_by: str | None
    approved_by: str | None
    approved_at: datetime | None
    recompute_needed: bool = Field(description="Published retroactively: run a re-computation")


class RecomputeIn(BaseModel):
    scenario: Code
    version: int = Field(ge=1)
    max_batches: int = Field(default=20, ge=1, le=1000, description="Call again to continue")
    batch_customers: int = Field(default=200, ge=1, le=5000)


class ChangeOut(BaseModel):
    customer_id: str
    events: int
    old_mg: int
    new_mg: int


class RunOut(Out):
    id: str
    scenario: str
    version: int
    status: str = Field(description="running | done")
    customers_done: int
    events_seen: int
    adjusted: int
    failures: int
    delta_mg: int
    total_events: int
    report: list[ChangeOut] = []


class RejectionOut(Out):
    id: str
    received_at: datetime
    source: str | None
    source_event_id: str | None
    customer_id: str | None
    scenario: str | None
    reason: str = Field(examples=["over_cap"])
    detail: str
    payload: dict[str, Any]


class RejectionPage(BaseModel):
    items: list[RejectionOut]
    next_before: str | None


class DayTotalOut(Out):
    business_date: date
    scenario: str
    entries: int
    co2e_mg: int
    points: int


class AnomalyOut(Out):
    customer_id: str
    over_cap: int
    duplicates: int
    last_at: datetime
