"""The values the carbon pipeline passes between its stages (``pipeline``): raw, validated,
computed, accepted and rejected events, consent intervals, usage counters, the batch context
and result. Plain frozen dataclasses and named tuples, no behaviour beyond small properties.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from greenbank.carbon.domain import Computation, InputValue
from greenbank.carbon.methodology import Methodology

MAX_ID_CHARS = 128
EventKey = tuple[str, str]  # (source, source_event_id)
ConsentKey = tuple[str, str, str]  # (customer_ref, source, scenario)


class Reason(StrEnum):
    MALFORMED = "malformed"
    DUPLICATE = "duplicate"
    UNCONSENTED = "unconsented"
    LATE_EVENT = "late_event"
    FUTURE_EVENT = "future_event"
    OVER_CAP = "over_cap"
    NO_METHODOLOGY = "no_methodology"


@dataclass(frozen=True)
class RawEvent:
    """A behaviour event as a channel or partner reported it."""

    source: str
    source_event_id: str
    customer_ref: str
    scenario: str
    occurred_at: datetime  # timezone-aware
    inputs: Mapping[str, object] = field(default_factory=dict)
    received_at: datetime | None = None  # defaults to the pipeline's ``now``

    @property
    def key(self) -> EventKey:
        return (self.source, self.source_event_id)


@dataclass(frozen=True)
class Rejected:
    event: RawEvent
    reason: Reason
    detail: str


@dataclass(frozen=True)
class Validated:
    """A well-formed event with the methodology version in force on its business date."""

    event: RawEvent
    methodology: Methodology
    inputs: Mapping[str, InputValue]
    business_date: date


@dataclass(frozen=True)
class Computed:
    validated: Validated
    computation: Computation


@dataclass(frozen=True)
class Accepted:
    event: RawEvent
    business_date: date
    computation: Computation
    credited_mg: int  # <= computation.co2e_mg; less when a grams cap cut it
    capped: bool


# Context and counter values are named tuples: a batch holds thousands of them, tuples hash in
# C, and a tuple of plain values drops out of the garbage collector's lists (a dataclass
# instance stays in them, and full collections were a quarter of a batch's time).


class ConsentInterval(NamedTuple):
    """Consent for one (customer, source, scenario), from grant until revocation (exclusive)."""

    granted_at: datetime
    revoked_at: datetime | None = None

    def covers(self, instant: datetime) -> bool:
        return self.granted_at <= instant and (self.revoked_at is None or instant < self.revoked_at)


class CounterKey(NamedTuple):
    """One usage counter: ``window`` is 'day:2026-01-05', 'month:2026-01',
    'month:2026-01:utility=gas' or 'lifetime'."""

    customer_ref: str
    scenario: str
    window: str


class Usage(NamedTuple):
    events: int = 0
    co2e_mg: int = 0


@dataclass(frozen=True)
class PipelineSettings:
    late_window: timedelta = timedelta(days=7)
    future_skew: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class PipelineContext:
    now: datetime
    methodologies: Sequence[Methodology]
    consents: Mapping[ConsentKey, Sequence[ConsentInterval]]
    counters: Mapping[CounterKey, Usage] = field(default_factory=dict)
    seen_keys: frozenset[EventKey] = frozenset()
    settings: PipelineSettings = field(default_factory=PipelineSettings)


@dataclass(frozen=True)
class PipelineResult:
    accepted: tuple[Accepted, ...]
    rejected: tuple[Rejected, ...]
    new_seen_keys: frozenset[EventKey]  # every event that got past dedupe, whatever its outcome
    # The counters this batch bumped: the value in the context (zero if absent) plus the batch.
    counters: Mapping[CounterKey, Usage]

    @property
    def credited_mg(self) -> int:
        return sum(a.credited_mg for a in self.accepted)
