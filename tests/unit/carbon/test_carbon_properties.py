"""Invariants: points are never lost, caps are never exceeded (within a batch and across batches
whose counters are fed back), the pipeline is idempotent, and rounding is half-up."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from carbon_support import GRANTED, NOW
from hypothesis import given, settings
from hypothesis import strategies as st

from greenbank.carbon.domain import compute
from greenbank.carbon.loader import load_methodologies
from greenbank.carbon.pipeline import (
    ConsentInterval,
    PipelineContext,
    PipelineResult,
    PipelineSettings,
    RawEvent,
    apply_caps,
    check_consent,
    check_late,
    compute_reductions,
    dedupe,
    run_pipeline,
    validate,
)
from greenbank.carbon.points import award_points

METHODOLOGIES = load_methodologies()
METRO = next(m for m in METHODOLOGIES if m.scenario == "metro_trip")
CUSTOMERS = ("c1", "c2")
SCENARIO_INPUTS: dict[str, Any] = {
    "metro_trip": st.fixed_dictionaries({}, optional={"distance_km": st.integers(1, 200)}),
    "walking": st.fixed_dictionaries({"steps": st.integers(1, 30_000)}),
    "online_utility_payment": st.fixed_dictionaries(
        {"utility": st.sampled_from(["water", "electricity", "gas"])}
    ),
    "e_credit_card": st.just({}),
    "e_statement": st.just({}),
    "online_deposit": st.just({}),
}


@st.composite
def raw_events(draw: st.DrawFn) -> RawEvent:
    scenario = draw(st.sampled_from(sorted(SCENARIO_INPUTS)))
    return RawEvent(
        source="partner",
        source_event_id=f"e{draw(st.integers(0, 60))}",  # collisions exercise dedupe
        customer_ref=draw(st.sampled_from(CUSTOMERS)),
        scenario=scenario,
        occurred_at=NOW - timedelta(minutes=draw(st.integers(0, 3 * 24 * 60))),
        inputs=draw(SCENARIO_INPUTS[scenario]),
    )


def _context(**overrides: Any) -> PipelineContext:
    consents = {
        (c, "partner", s): (ConsentInterval(GRANTED),) for c in CUSTOMERS for s in SCENARIO_INPUTS
    }
    return PipelineContext(now=NOW, methodologies=METHODOLOGIES, consents=consents, **overrides)


def _run_in_batches(events: list[RawEvent], split: int) -> list[PipelineResult]:
    first = run_pipeline(events[:split], _context())
    second = run_pipeline(
        events[split:], _context(counters=first.counters, seen_keys=first.new_seen_keys)
    )
    return [first, second]


@settings(max_examples=150, deadline=None)
@given(st.lists(raw_events(), max_size=40), st.integers(0, 40))
def test_caps_are_never_exceeded(events: list[RawEvent], split: int) -> None:
    accepted = [a for result in _run_in_batches(events, split) for a in result.accepted]
    per_day: Counter[tuple[str, str, Any]] = Counter()
    per_month_utility: Counter[tuple[str, Any]] = Counter()
    per_month: Counter[tuple[str, str]] = Counter()
    lifetime: Counter[tuple[str, str]] = Counter()
    walked: defaultdict[tuple[str, Any], int] = defaultdict(int)
    for a in accepted:
        who, what, day = a.event.customer_ref, a.event.scenario, a.business_date
        assert 0 <= a.credited_mg <= a.computation.co2e_mg
        assert a.capped is (a.credited_mg < a.computation.co2e_mg)
        per_day[who, what, day] += 1
        per_month[who, what] += 1  # all events fall in January 2026
        lifetime[who, what] += 1
        if what == "online_utility_payment":
            per_month_utility[who, a.computation.inputs["utility"]] += 1
        if what == "walking":
            walked[who, day] += a.credited_mg
    for (_, what, _), count in per_day.items():
        assert count <= {"metro_trip": 6, "online_deposit": 2}.get(what, count)
    assert all(count <= 2 for count in per_month_utility.values())
    assert all(per_month[who, "e_statement"] <= 3 for who in CUSTOMERS)
    assert all(lifetime[who, "e_credit_card"] <= 1 for who in CUSTOMERS)
    assert all(mg <= 296_000 for mg in walked.values())


@settings(max_examples=100, deadline=None)
@given(st.lists(raw_events(), max_size=30))
def test_counters_match_what_was_credited(events: list[RawEvent]) -> None:
    result = run_pipeline(events, _context())
    for (who, what), usage in {
        (key.customer_ref, key.scenario): usage
        for key, usage in result.counters.items()
        if key.window == "lifetime"
    }.items():
        mine = [
            a for a in result.accepted if (a.event.customer_ref, a.event.scenario) == (who, what)
        ]
        assert usage.events == len(mine)
        assert usage.co2e_mg == sum(a.credited_mg for a in mine)
    assert len(result.accepted) + len(result.rejected) == len(events)


@settings(max_examples=100, deadline=None)
@given(st.lists(raw_events(), max_size=30))
def test_a_replayed_batch_credits_nothing_new(events: list[RawEvent]) -> None:
    first = run_pipeline(events, _context())
    again = run_pipeline(events, _context(counters=first.counters, seen_keys=first.new_seen_keys))
    assert again.accepted == () and again.credited_mg == 0
    assert {r.reason.value for r in again.rejected} <= {"duplicate"}
    assert again.new_seen_keys == frozenset() and again.counters == {}


@st.composite
def any_events(draw: st.DrawFn) -> RawEvent:
    """Events for every stage's refusal: bad inputs, unknown scenarios, late or future times,
    customers without consent (only c1 has one), repeated keys."""
    event = draw(raw_events())
    scenario = draw(st.sampled_from([event.scenario, event.scenario, "teleport"]))
    inputs = draw(st.sampled_from([event.inputs, event.inputs, {"distance_km": -1}]))
    shift = timedelta(minutes=draw(st.integers(-30, 9 * 24 * 60)))
    return RawEvent(
        event.source, event.source_event_id, event.customer_ref, scenario, NOW - shift, inputs
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(any_events(), max_size=40), st.sampled_from([frozenset(), {("partner", "e1")}]))
def test_run_pipeline_gives_what_the_stages_give_one_after_another(
    events: list[RawEvent], seen: frozenset[tuple[str, str]]
) -> None:
    consents = {("c1", "partner", s): (ConsentInterval(GRANTED),) for s in SCENARIO_INPUTS}
    context = PipelineContext(
        now=NOW, methodologies=METHODOLOGIES, consents=consents, seen_keys=frozenset(seen)
    )
    validated, invalid = validate(events, METHODOLOGIES)
    fresh, duplicates, new_keys = dedupe(validated, frozenset(seen))
    timely, untimely = check_late(fresh, NOW, PipelineSettings())
    consented, unconsented = check_consent(timely, consents)
    computed, failed = compute_reductions(consented)
    accepted, over_cap, counters = apply_caps(computed, {})
    result = run_pipeline(events, context)
    assert result.accepted == tuple(accepted)
    assert result.rejected == tuple(
        invalid + duplicates + untimely + unconsented + failed + over_cap
    )
    assert (result.new_seen_keys, result.counters) == (new_keys, counters)


@given(st.lists(st.integers(0, 10**9), max_size=50), st.integers(1, 10**6))
def test_points_are_never_lost(credits: list[int], mg_per_point: int) -> None:
    carried, total_points = 0, 0
    for credited in credits:
        points, carried = award_points(carried, credited, mg_per_point)
        assert 0 <= carried < mg_per_point
        total_points += points
    assert total_points * mg_per_point + carried == sum(credits)


@given(st.decimals(min_value=Decimal("0.0001"), max_value=200, places=4))
def test_metro_rounding_is_half_up(distance_km: Decimal) -> None:
    exact_mg = Fraction(distance_km) * 46_700
    assert compute(METRO, {"distance_km": distance_km}).co2e_mg == math.floor(
        exact_mg + Fraction(1, 2)
    )
