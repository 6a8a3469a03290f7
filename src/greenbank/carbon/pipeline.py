"""The behaviour-event pipeline as pure stages, in the beancount style.

Each stage takes the survivors of the previous one and returns ``(passed, rejected)``; a bad event
becomes a ``Rejected`` with a reason code and never stops the batch. ``run_pipeline`` composes
the stages: validate -> dedupe -> check_late -> check_consent -> compute_reductions -> apply_caps.
Counters and seen keys are threaded through the batch, so two events in one batch respect caps
and idempotency together; the service persists what the result says changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from greenbank.carbon.domain import Computation, InputValue, check_inputs, compute
from greenbank.carbon.methodology import Caps, MalformedInputs, Methodology, in_force
from greenbank.clock import business_date

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


@dataclass(frozen=True)
class ConsentInterval:
    """Consent for one (customer, source, scenario), from grant until revocation (exclusive)."""

    granted_at: datetime
    revoked_at: datetime | None = None

    def covers(self, instant: datetime) -> bool:
        return self.granted_at <= instant and (self.revoked_at is None or instant < self.revoked_at)


@dataclass(frozen=True)
class CounterKey:
    """One usage counter: ``window`` is 'day:2026-01-05', 'month:2026-01',
    'month:2026-01:utility=gas' or 'lifetime'."""

    customer_ref: str
    scenario: str
    window: str


@dataclass(frozen=True)
class Usage:
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
    counters: Mapping[CounterKey, Usage]  # new values of the counters this batch changed

    @property
    def credited_mg(self) -> int:
        return sum(a.credited_mg for a in self.accepted)


def counter_keys(
    customer_ref: str, scenario: str, on: date, caps: Caps, inputs: Mapping[str, InputValue]
) -> tuple[CounterKey, ...]:
    """The counters an event on business date ``on`` reads and bumps: day, month, lifetime
    and, for a per-input monthly cap, the month for that input's value."""
    windows = [f"day:{on.isoformat()}", f"month:{on:%Y-%m}", "lifetime"]
    if caps.per_month_events_per_input is not None:
        name = caps.per_month_events_per_input[0]
        windows.append(f"month:{on:%Y-%m}:{name}={inputs.get(name)}")
    return tuple(CounterKey(customer_ref, scenario, window) for window in windows)


def validate(
    events: Iterable[RawEvent], methodologies: Sequence[Methodology]
) -> tuple[list[Validated], list[Rejected]]:
    """Schema, methodology in force on the event's Shanghai business date, and input ranges."""
    passed: list[Validated] = []
    rejected: list[Rejected] = []
    for event in events:
        problem = _shape_problem(event)
        if problem:
            rejected.append(Rejected(event, Reason.MALFORMED, problem))
            continue
        on = business_date(event.occurred_at)
        methodology = in_force(methodologies, event.scenario, on)
        if methodology is None:
            detail = f"no {event.scenario} methodology in force on {on.isoformat()}"
            rejected.append(Rejected(event, Reason.NO_METHODOLOGY, detail))
            continue
        try:
            values = check_inputs(methodology, event.inputs)
        except MalformedInputs as exc:
            rejected.append(Rejected(event, Reason.MALFORMED, exc.detail))
            continue
        passed.append(Validated(event, methodology, values, on))
    return passed, rejected


def dedupe(
    items: Iterable[Validated], seen_keys: frozenset[EventKey]
) -> tuple[list[Validated], list[Rejected], frozenset[EventKey]]:
    """Drop events whose (source, source_event_id) was seen before or earlier in the batch."""
    passed: list[Validated] = []
    rejected: list[Rejected] = []
    new: set[EventKey] = set()
    for item in items:
        key = item.event.key
        if key in seen_keys or key in new:
            rejected.append(Rejected(item.event, Reason.DUPLICATE, f"{key[0]}/{key[1]} seen"))
        else:
            new.add(key)
            passed.append(item)
    return passed, rejected, frozenset(new)


def check_late(
    items: Iterable[Validated], now: datetime, settings: PipelineSettings
) -> tuple[list[Validated], list[Rejected]]:
    """Refuse events older than the late window, or ahead of the receipt time beyond the skew."""
    passed: list[Validated] = []
    rejected: list[Rejected] = []
    for item in items:
        received = item.event.received_at or now
        age = received - item.event.occurred_at
        if age > settings.late_window:
            detail = f"occurred {age} before receipt; the window is {settings.late_window}"
            rejected.append(Rejected(item.event, Reason.LATE_EVENT, detail))
        elif -age > settings.future_skew:
            detail = f"occurred {-age} after receipt; the allowed skew is {settings.future_skew}"
            rejected.append(Rejected(item.event, Reason.FUTURE_EVENT, detail))
        else:
            passed.append(item)
    return passed, rejected


def check_consent(
    items: Iterable[Validated], consents: Mapping[ConsentKey, Sequence[ConsentInterval]]
) -> tuple[list[Validated], list[Rejected]]:
    """Keep events whose time falls inside a consent for (customer, source, scenario)."""
    passed: list[Validated] = []
    rejected: list[Rejected] = []
    for item in items:
        event = item.event
        intervals = consents.get((event.customer_ref, event.source, event.scenario), ())
        if any(interval.covers(event.occurred_at) for interval in intervals):
            passed.append(item)
        else:
            detail = f"no consent from {event.customer_ref} for {event.source}/{event.scenario}"
            rejected.append(Rejected(event, Reason.UNCONSENTED, detail))
    return passed, rejected


def compute_reductions(items: Iterable[Validated]) -> tuple[list[Computed], list[Rejected]]:
    """Apply each event's methodology version (chosen in ``validate``) to its inputs."""
    passed: list[Computed] = []
    rejected: list[Rejected] = []
    for item in items:
        try:
            passed.append(Computed(item, compute(item.methodology, item.inputs)))
        except MalformedInputs as exc:
            rejected.append(Rejected(item.event, Reason.MALFORMED, exc.detail))
    return passed, rejected


def apply_caps(
    items: Iterable[Computed], counters: Mapping[CounterKey, Usage]
) -> tuple[list[Accepted], list[Rejected], dict[CounterKey, Usage]]:
    """Credit events in order against the usage counters, updating them as it goes.

    Event-count caps refuse the event outright; the grams-per-day cap credits only what remains
    of the day's allowance. Returns the new values of the counters that changed.
    """
    usage = dict(counters)
    touched: dict[CounterKey, Usage] = {}
    accepted: list[Accepted] = []
    rejected: list[Rejected] = []
    for item in items:
        validated, computation = item.validated, item.computation
        event, caps = validated.event, validated.methodology.caps
        keys = counter_keys(
            event.customer_ref, event.scenario, validated.business_date, caps, validated.inputs
        )
        current = [usage.get(key, Usage()) for key in keys]
        problem = _event_cap_problem(caps, current)
        credit = computation.co2e_mg
        if problem is None and caps.per_day_mg is not None:
            room = caps.per_day_mg - current[0].co2e_mg
            problem = None if room > 0 else f"daily cap of {caps.per_day_mg} mg reached"
            credit = min(credit, room)
        if problem is not None:
            rejected.append(Rejected(event, Reason.OVER_CAP, problem))
            continue
        for key, old in zip(keys, current, strict=True):
            usage[key] = touched[key] = Usage(old.events + 1, old.co2e_mg + credit)
        capped = credit < computation.co2e_mg
        accepted.append(Accepted(event, validated.business_date, computation, credit, capped))
    return accepted, rejected, touched


def run_pipeline(events: Iterable[RawEvent], context: PipelineContext) -> PipelineResult:
    """All stages over one batch; never raises for a bad event."""
    validated, rejected = validate(events, context.methodologies)
    fresh, duplicates, new_keys = dedupe(validated, context.seen_keys)
    timely, late = check_late(fresh, context.now, context.settings)
    consented, unconsented = check_consent(timely, context.consents)
    computed, failed = compute_reductions(consented)
    accepted, over_cap, counters = apply_caps(computed, context.counters)
    return PipelineResult(
        accepted=tuple(accepted),
        rejected=tuple(rejected + duplicates + late + unconsented + failed + over_cap),
        new_seen_keys=new_keys,
        counters=counters,
    )


def _shape_problem(event: object) -> str | None:
    if not isinstance(event, RawEvent):
        return "not an event"
    for name in ("source", "source_event_id", "customer_ref", "scenario"):
        value = getattr(event, name)
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_CHARS:
            return f"{name} must be a non-empty string of at most {MAX_ID_CHARS} characters"
    for name in ("occurred_at", "received_at"):
        instant = getattr(event, name)
        if instant is None and name == "received_at":
            continue
        if not isinstance(instant, datetime) or instant.utcoffset() is None:
            return f"{name} must be a timezone-aware datetime"
    if not isinstance(event.inputs, Mapping):
        return "inputs must be an object"
    return None


def _event_cap_problem(caps: Caps, current: Sequence[Usage]) -> str | None:
    """``current`` is ordered as ``counter_keys`` returns: day, month, lifetime, month-per-input."""
    limits: list[tuple[int | None, Usage, str]] = [
        (caps.per_day_events, current[0], "per-day"),
        (caps.per_month_events, current[1], "per-month"),
        (caps.lifetime_events, current[2], "lifetime"),
    ]
    if caps.per_month_events_per_input is not None:
        name, per_input = caps.per_month_events_per_input
        limits.append((per_input, current[3], f"per-month per-{name}"))
    for limit, used, label in limits:
        if limit is not None and used.events >= limit:
            return f"{label} cap of {limit} events reached"
    return None
