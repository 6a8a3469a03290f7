"""The behaviour-event pipeline as pure stages, in the beancount style.

Each stage takes the survivors of the previous one and returns ``(passed, rejected)``; a bad event
becomes a ``Rejected`` with a reason code and never stops the batch. ``run_pipeline`` composes
the stages: validate -> dedupe -> check_late -> check_consent -> compute_reductions -> apply_caps.
The values they pass along are in ``pipeline_types`` (re-exported here).
Counters and seen keys are threaded through the batch, so two events in one batch respect caps
and idempotency together; the service persists what the result says changed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from enum import IntEnum

from greenbank.carbon.domain import InputValue, check_inputs, compute_checked
from greenbank.carbon.methodology import Caps, MalformedInputs, Methodology, in_force
from greenbank.carbon.pipeline_types import (
    MAX_ID_CHARS,
    Accepted,
    Computed,
    ConsentInterval,
    ConsentKey,
    CounterKey,
    EventKey,
    PipelineContext,
    PipelineResult,
    PipelineSettings,
    RawEvent,
    Reason,
    Rejected,
    Usage,
    Validated,
)
from greenbank.clock import business_date


class Window(IntEnum):
    """The counters of an event, in the order ``counter_keys`` returns them."""

    DAY = 0
    MONTH = 1
    LIFETIME = 2
    MONTH_PER_INPUT = 3  # only for a per-input monthly cap


def counter_keys(
    customer_ref: str, scenario: str, on: date, caps: Caps, inputs: Mapping[str, InputValue]
) -> tuple[CounterKey, ...]:
    """The counters an event on business date ``on`` bumps: day, month, lifetime and, for a
    per-input monthly cap, the month for that input's value."""
    day, month = day_and_month(on)
    keys = (
        CounterKey(customer_ref, scenario, day),
        CounterKey(customer_ref, scenario, month),
        CounterKey(customer_ref, scenario, "lifetime"),
    )
    if caps.per_month_events_per_input is None:
        return keys
    name = caps.per_month_events_per_input[0]
    return (*keys, CounterKey(customer_ref, scenario, f"{month}:{name}={inputs.get(name)}"))


def windows_read(caps: Caps) -> frozenset[Window]:
    """The counters ``apply_caps`` reads for ``caps``. It only bumps the others, so a caller may
    leave those out of ``PipelineContext.counters`` and store the batch's increments."""
    read = {window for window, _, _ in _event_limits(caps)}
    if caps.per_day_mg is not None:
        read.add(Window.DAY)
    return frozenset(read)


@functools.lru_cache(maxsize=512)
def day_and_month(on: date) -> tuple[str, str]:
    """The day and month window names of a business date: 'day:2026-01-05', 'month:2026-01'
    (cached: a batch has few dates and many events)."""
    return f"day:{on.isoformat()}", f"month:{on:%Y-%m}"


def validate(
    events: Iterable[RawEvent], methodologies: Sequence[Methodology]
) -> tuple[list[Validated], list[Rejected]]:
    """Schema, methodology in force on the event's Shanghai business date, and input ranges."""
    passed: list[Validated] = []
    rejected: list[Rejected] = []
    version_on = _in_force_memo(methodologies)
    for event in events:
        outcome = _validate(event, version_on)
        if isinstance(outcome, Validated):
            passed.append(outcome)
        else:
            rejected.append(outcome)
    return passed, rejected


def dedupe(
    items: Iterable[Validated], seen_keys: frozenset[EventKey]
) -> tuple[list[Validated], list[Rejected], frozenset[EventKey]]:
    """Drop events whose (source, source_event_id) was seen before or earlier in the batch."""
    passed: list[Validated] = []
    rejected: list[Rejected] = []
    new: set[EventKey] = set()
    for item in items:
        _sort(item, _duplicate(item, seen_keys, new), passed, rejected)
    return passed, rejected, frozenset(new)


def check_late(
    items: Iterable[Validated], now: datetime, settings: PipelineSettings
) -> tuple[list[Validated], list[Rejected]]:
    """Refuse events older than the late window, or ahead of the receipt time beyond the skew."""
    passed: list[Validated] = []
    rejected: list[Rejected] = []
    for item in items:
        _sort(item, _untimely(item, now, settings), passed, rejected)
    return passed, rejected


def check_consent(
    items: Iterable[Validated], consents: Mapping[ConsentKey, Sequence[ConsentInterval]]
) -> tuple[list[Validated], list[Rejected]]:
    """Keep events whose time falls inside a consent for (customer, source, scenario)."""
    passed: list[Validated] = []
    rejected: list[Rejected] = []
    for item in items:
        _sort(item, _unconsented(item, consents), passed, rejected)
    return passed, rejected


def compute_reductions(items: Iterable[Validated]) -> tuple[list[Computed], list[Rejected]]:
    """Apply each event's methodology version (chosen in ``validate``) to its inputs (checked in
    ``validate``)."""
    passed: list[Computed] = []
    rejected: list[Rejected] = []
    for item in items:
        outcome = _compute(item)
        if isinstance(outcome, Computed):
            passed.append(outcome)
        else:
            rejected.append(outcome)
    return passed, rejected


def apply_caps(
    items: Iterable[Computed], counters: Mapping[CounterKey, Usage]
) -> tuple[list[Accepted], list[Rejected], dict[CounterKey, Usage]]:
    """Credit events in order against the usage counters, updating them as it goes.

    Event-count caps refuse the event outright; the grams-per-day cap credits only what remains
    of the day's allowance. Returns the new values of the counters that changed.
    """
    capping = _Capping(counters)
    accepted: list[Accepted] = []
    rejected: list[Rejected] = []
    for item in items:
        outcome = capping.credit(item)
        if isinstance(outcome, Accepted):
            accepted.append(outcome)
        else:
            rejected.append(outcome)
    return accepted, rejected, capping.touched


def run_pipeline(events: Iterable[RawEvent], context: PipelineContext) -> PipelineResult:
    """All stages over one batch; never raises for a bad event.

    Each event goes through every stage before the next one starts. The results are those of
    running the stages one after another (each keeps batch order, and only dedupe and caps carry
    state, from earlier events to later ones), and nothing of an event outlives its stages,
    which keeps the garbage collector's work per batch small.
    """
    version_on = _in_force_memo(context.methodologies)
    new_keys: set[EventKey] = set()
    capping = _Capping(context.counters)
    accepted: list[Accepted] = []
    # Refusals per stage, reported in stage order.
    invalid, duplicates, untimely, unconsented, failed, over_cap = [], [], [], [], [], []
    for event in events:
        item = _validate(event, version_on)
        if isinstance(item, Rejected):
            invalid.append(item)
        elif duplicate := _duplicate(item, context.seen_keys, new_keys):
            duplicates.append(duplicate)
        elif late := _untimely(item, context.now, context.settings):
            untimely.append(late)
        elif refused := _unconsented(item, context.consents):
            unconsented.append(refused)
        elif isinstance(computed := _compute(item), Rejected):
            failed.append(computed)
        elif isinstance(credited := capping.credit(computed), Rejected):
            over_cap.append(credited)
        else:
            accepted.append(credited)
    return PipelineResult(
        accepted=tuple(accepted),
        rejected=tuple(invalid + duplicates + untimely + unconsented + failed + over_cap),
        new_seen_keys=frozenset(new_keys),
        counters=capping.touched,
    )


# -- one event through one stage ---------------------------------------------------------------


def _validate(
    event: RawEvent, version_on: Callable[[str, date], Methodology | None]
) -> Validated | Rejected:
    problem = _shape_problem(event)
    if problem:
        return Rejected(event, Reason.MALFORMED, problem)
    on = business_date(event.occurred_at)
    methodology = version_on(event.scenario, on)
    if methodology is None:
        detail = f"no {event.scenario} methodology in force on {on.isoformat()}"
        return Rejected(event, Reason.NO_METHODOLOGY, detail)
    try:
        values = check_inputs(methodology, event.inputs)
    except MalformedInputs as exc:
        return Rejected(event, Reason.MALFORMED, exc.detail)
    return Validated(event, methodology, values, on)


def _in_force_memo(
    methodologies: Sequence[Methodology],
) -> Callable[[str, date], Methodology | None]:
    """``in_force`` remembered per (scenario, business date) for one batch."""
    memo: dict[tuple[str, date], Methodology | None] = {}

    def version_on(scenario: str, on: date) -> Methodology | None:
        key = (scenario, on)
        if key not in memo:
            memo[key] = in_force(methodologies, scenario, on)
        return memo[key]

    return version_on


def _duplicate(
    item: Validated, seen_keys: frozenset[EventKey], new: set[EventKey]
) -> Rejected | None:
    """Refused when seen before or earlier in the batch; else the key joins ``new``."""
    key = item.event.key
    if key in seen_keys or key in new:
        return Rejected(item.event, Reason.DUPLICATE, f"{key[0]}/{key[1]} seen")
    new.add(key)
    return None


def _untimely(item: Validated, now: datetime, settings: PipelineSettings) -> Rejected | None:
    received = item.event.received_at or now
    age = received - item.event.occurred_at
    if age > settings.late_window:
        detail = f"occurred {age} before receipt; the window is {settings.late_window}"
        return Rejected(item.event, Reason.LATE_EVENT, detail)
    if -age > settings.future_skew:
        detail = f"occurred {-age} after receipt; the allowed skew is {settings.future_skew}"
        return Rejected(item.event, Reason.FUTURE_EVENT, detail)
    return None


def _unconsented(
    item: Validated, consents: Mapping[ConsentKey, Sequence[ConsentInterval]]
) -> Rejected | None:
    event = item.event
    intervals = consents.get((event.customer_ref, event.source, event.scenario), ())
    if any(interval.covers(event.occurred_at) for interval in intervals):
        return None
    detail = f"no consent from {event.customer_ref} for {event.source}/{event.scenario}"
    return Rejected(event, Reason.UNCONSENTED, detail)


def _compute(item: Validated) -> Computed | Rejected:
    try:
        return Computed(item, compute_checked(item.methodology, item.inputs))
    except MalformedInputs as exc:
        return Rejected(item.event, Reason.MALFORMED, exc.detail)


class _Capping:
    """The usage counters while a batch is credited: ``touched`` holds the new values."""

    def __init__(self, counters: Mapping[CounterKey, Usage]) -> None:
        self.usage = dict(counters)
        self.touched: dict[CounterKey, Usage] = {}

    def credit(self, item: Computed) -> Accepted | Rejected:
        validated, computation = item.validated, item.computation
        event, caps = validated.event, validated.methodology.caps
        keys = counter_keys(
            event.customer_ref, event.scenario, validated.business_date, caps, validated.inputs
        )
        current = [self.usage.get(key, _UNUSED) for key in keys]
        problem = _event_cap_problem(caps, current)
        credit = computation.co2e_mg
        if problem is None and caps.per_day_mg is not None:
            room = caps.per_day_mg - current[Window.DAY].co2e_mg
            problem = None if room > 0 else f"daily cap of {caps.per_day_mg} mg reached"
            credit = min(credit, room)
        if problem is not None:
            return Rejected(event, Reason.OVER_CAP, problem)
        for key, old in zip(keys, current, strict=True):
            self.usage[key] = self.touched[key] = Usage(old.events + 1, old.co2e_mg + credit)
        capped = credit < computation.co2e_mg
        return Accepted(event, validated.business_date, computation, credit, capped)


_UNUSED = Usage()


def _sort(
    item: Validated, refusal: Rejected | None, passed: list[Validated], rejected: list[Rejected]
) -> None:
    if refusal is None:
        passed.append(item)
    else:
        rejected.append(refusal)


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
    for window, limit, label in _event_limits(caps):
        if current[window].events >= limit:
            return f"{label} cap of {limit} events reached"
    return None


@functools.lru_cache(maxsize=256)
def _event_limits(caps: Caps) -> tuple[tuple[Window, int, str], ...]:
    """The event-count limits of ``caps`` as (counter, limit, label), in checking order."""
    limits = [
        (Window.DAY, caps.per_day_events, "per-day"),
        (Window.MONTH, caps.per_month_events, "per-month"),
        (Window.LIFETIME, caps.lifetime_events, "lifetime"),
    ]
    if caps.per_month_events_per_input is not None:
        name, per_input = caps.per_month_events_per_input
        limits.append((Window.MONTH_PER_INPUT, per_input, f"per-month per-{name}"))
    return tuple((window, limit, label) for window, limit, label in limits if limit is not None)


__all__ = [
    "MAX_ID_CHARS",
    "Accepted",
    "Computed",
    "ConsentInterval",
    "ConsentKey",
    "CounterKey",
    "EventKey",
    "PipelineContext",
    "PipelineResult",
    "PipelineSettings",
    "RawEvent",
    "Reason",
    "Rejected",
    "Usage",
    "Validated",
    "Window",
    "apply_caps",
    "check_consent",
    "check_late",
    "compute_reductions",
    "counter_keys",
    "day_and_month",
    "dedupe",
    "run_pipeline",
    "validate",
    "windows_read",
]
