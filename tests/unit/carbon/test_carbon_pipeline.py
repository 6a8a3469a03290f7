"""The event pipeline: every rejection code, caps within a batch, Shanghai business days, and
that a batch is never stopped by a bad event."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from carbon_support import NOW, ContextFactory, EventFactory

from greenbank.carbon.expr import parse_formula
from greenbank.carbon.methodology import Methodology, NumberInput, WorkedExample
from greenbank.carbon.pipeline import (
    ConsentInterval,
    CounterKey,
    PipelineResult,
    PipelineSettings,
    RawEvent,
    Reason,
    Usage,
    compute_reductions,
    run_pipeline,
    validate,
)


def run(events: list[RawEvent], make_context: ContextFactory, **context: Any) -> PipelineResult:
    return run_pipeline(events, make_context(events, **context))


def reasons(result: PipelineResult) -> list[str]:
    return [r.reason.value for r in result.rejected]


def test_an_accepted_metro_trip_is_credited_and_counted(
    make_event: EventFactory, make_context: ContextFactory
) -> None:
    event = make_event(inputs={"distance_km": "12.5"})
    result = run([event], make_context)
    (accepted,) = result.accepted
    assert accepted.credited_mg == accepted.computation.co2e_mg == 583_750
    assert not accepted.capped
    assert accepted.business_date == date(2026, 1, 10)
    assert accepted.computation.explanation == "12.5 km × 46.7 g/pkm = 583.75 g"
    assert result.new_seen_keys == {("metro_sz", event.source_event_id)}
    assert result.counters == {
        CounterKey("cust-1", "metro_trip", "day:2026-01-10"): Usage(1, 583_750),
        CounterKey("cust-1", "metro_trip", "month:2026-01"): Usage(1, 583_750),
        CounterKey("cust-1", "metro_trip", "lifetime"): Usage(1, 583_750),
    }
    assert result.credited_mg == 583_750 and result.rejected == ()


def test_malformed_events_are_rejected_without_stopping_the_batch(
    make_event: EventFactory, make_context: ContextFactory
) -> None:
    good = make_event(inputs={"distance_km": 3})
    bad = [
        make_event(inputs={"distance_km": 500}),
        make_event(inputs={"distance": 3}),
        make_event(inputs=None),
        make_event(occurred_at=NOW.replace(tzinfo=None)),  # naive
        make_event(occurred_at="2026-01-10T01:00:00Z"),
        make_event(received_at=NOW.replace(tzinfo=None)),
        make_event(source_event_id=""),
        make_event(customer_ref=None),
        make_event(source="x" * 200),
    ]
    result = run([*bad, good], make_context)
    assert [a.event for a in result.accepted] == [good]
    assert reasons(result) == ["malformed"] * len(bad)
    assert result.new_seen_keys == {good.key}  # malformed events may be corrected and resent


def test_no_methodology_for_unknown_scenarios_and_dates_before_version_1(
    make_event: EventFactory, make_context: ContextFactory
) -> None:
    before = make_event(occurred_at=datetime(2025, 12, 31, 15, 59, tzinfo=UTC))  # 23:59 Shanghai
    first_day = make_event(occurred_at=datetime(2025, 12, 31, 16, 0, tzinfo=UTC))  # 00:00
    taxi = make_event(scenario="taxi_trip")
    since = ConsentInterval(datetime(2025, 1, 1, tzinfo=UTC))
    consents = {("cust-1", "metro_sz", s): [since] for s in ("metro_trip", "taxi_trip")}
    now = datetime(2026, 1, 1, tzinfo=UTC)
    result = run([before, first_day, taxi], make_context, now=now, consents=consents)
    assert [a.event for a in result.accepted] == [first_day]
    assert reasons(result) == ["no_methodology", "no_methodology"]
    assert "no taxi_trip methodology in force on" in result.rejected[1].detail


def test_duplicates_against_seen_keys_and_within_the_batch(
    make_event: EventFactory, make_context: ContextFactory
) -> None:
    old = make_event(source_event_id="A")
    first = make_event(source_event_id="B")
    again = make_event(source_event_id="B", inputs={"distance_km": 9})
    other_source = make_event(source_event_id="B", source="bus_co")
    result = run([old, first, again, other_source], make_context, seen_keys={("metro_sz", "A")})
    assert [a.event for a in result.accepted] == [first, other_source]
    assert reasons(result) == ["duplicate", "duplicate"]
    assert result.new_seen_keys == {("metro_sz", "B"), ("bus_co", "B")}


def test_late_and_future_events(make_event: EventFactory, make_context: ContextFactory) -> None:
    settings = PipelineSettings(late_window=timedelta(days=7), future_skew=timedelta(minutes=5))
    on_the_edge = make_event(occurred_at=NOW - timedelta(days=7))
    late = make_event(occurred_at=NOW - timedelta(days=7, seconds=1))
    skewed = make_event(occurred_at=NOW + timedelta(minutes=5))
    future = make_event(occurred_at=NOW + timedelta(minutes=5, seconds=1))
    queued = make_event(  # received in time, processed later: judged by received_at
        occurred_at=NOW - timedelta(days=9), received_at=NOW - timedelta(days=8)
    )
    events = [on_the_edge, late, skewed, future, queued]
    result = run(events, make_context, settings=settings)
    assert [a.event for a in result.accepted] == [on_the_edge, skewed, queued]
    assert reasons(result) == ["late_event", "future_event"]
    assert result.new_seen_keys == {e.key for e in events}  # a retry gets the same answer


def test_consent_must_cover_the_event_time(
    make_event: EventFactory, make_context: ContextFactory
) -> None:
    at = NOW - timedelta(hours=1)
    key = ("cust-1", "metro_sz", "metro_trip")
    cases = {
        "granted at the event": [ConsentInterval(at)],
        "revoked later": [ConsentInterval(at - timedelta(days=1), at + timedelta(seconds=1))],
        "revoked at the event": [ConsentInterval(at - timedelta(days=1), at)],
        "granted after": [ConsentInterval(at + timedelta(seconds=1))],
        "second grant": [
            ConsentInterval(at - timedelta(days=3), at - timedelta(days=2)),
            ConsentInterval(at - timedelta(days=1)),
        ],
        "none": [],
    }
    outcome = {}
    for label, intervals in cases.items():
        event = make_event(occurred_at=at)
        result = run([event], make_context, consents={key: intervals})
        outcome[label] = "accepted" if result.accepted else reasons(result)[0]
    assert outcome == {
        "granted at the event": "accepted",
        "revoked later": "accepted",
        "revoked at the event": "unconsented",
        "granted after": "unconsented",
        "second grant": "accepted",
        "none": "unconsented",
    }


def test_consent_is_per_partner_and_per_scenario(
    make_event: EventFactory, make_context: ContextFactory
) -> None:
    consents = {("cust-1", "metro_sz", "metro_trip"): [ConsentInterval(NOW - timedelta(days=1))]}
    events = [
        make_event(),
        make_event(source="metro_gz"),
        make_event(scenario="bus_trip"),
        make_event(customer_ref="cust-2"),
    ]
    result = run_pipeline(events, make_context(consents=consents))
    assert [a.event for a in result.accepted] == events[:1]
    assert reasons(result) == ["unconsented"] * 3


def test_event_count_caps_hold_across_stored_counters_and_the_batch(
    make_event: EventFactory, make_context: ContextFactory
) -> None:
    stored = {CounterKey("cust-1", "metro_trip", "day:2026-01-10"): Usage(5, 1)}
    trips = [make_event(inputs={"distance_km": 1}) for _ in range(3)]
    result = run(trips, make_context, counters=stored)
    assert [a.event for a in result.accepted] == trips[:1]
    assert reasons(result) == ["over_cap", "over_cap"]
    assert result.rejected[0].detail == "per-day cap of 6 events reached"
    day = CounterKey("cust-1", "metro_trip", "day:2026-01-10")
    assert result.counters[day] == Usage(6, 46_701)


def test_daily_caps_follow_shanghai_business_days(
    make_event: EventFactory, make_context: ContextFactory
) -> None:
    late_evening = datetime(2026, 1, 9, 15, 59, tzinfo=UTC)  # 23:59 on the 9th in Shanghai
    just_after = datetime(2026, 1, 9, 16, 0, tzinfo=UTC)  # 00:00 on the 10th
    events = [make_event("online_deposit", occurred_at=late_evening) for _ in range(3)]
    events += [make_event("online_deposit", occurred_at=just_after) for _ in range(3)]
    result = run(events, make_context)
    assert [a.business_date.day for a in result.accepted] == [9, 9, 10, 10]
    assert reasons(result) == ["over_cap", "over_cap"]


def test_monthly_caps_per_utility_and_lifetime_caps(
    make_event: EventFactory, make_context: ContextFactory
) -> None:
    def pay(utility: str, day: int) -> RawEvent:
        at = datetime(2026, 1, day, 2, tzinfo=UTC)
        return make_event("online_utility_payment", occurred_at=at, inputs={"utility": utility})

    payments = [pay("water", 1), pay("water", 3), pay("water", 5), pay("gas", 5)]
    at = datetime(2026, 1, 5, 3, tzinfo=UTC)
    cards = [make_event("e_credit_card", occurred_at=at) for _ in range(2)]
    statements = [make_event("e_statement", occurred_at=at) for _ in range(4)]
    result = run(
        [*payments, *cards, *statements],
        make_context,
        now=datetime(2026, 1, 6, tzinfo=UTC),
        settings=PipelineSettings(late_window=timedelta(days=31)),
    )
    accepted = [a.event for a in result.accepted]
    assert accepted == [payments[0], payments[1], payments[3], cards[0], *statements[:3]]
    assert [r.detail for r in result.rejected] == [
        "per-month per-utility cap of 2 events reached",
        "lifetime cap of 1 events reached",
        "per-month cap of 3 events reached",
    ]
    water = CounterKey("cust-1", "online_utility_payment", "month:2026-01:utility=water")
    assert result.counters[water] == Usage(2, 178_000)


def test_walking_is_capped_in_grams_per_day_and_partly_credited(
    make_event: EventFactory, make_context: ContextFactory
) -> None:
    walks = [make_event("walking", inputs={"steps": n}) for n in (10_000, 5_000, 1_000)]
    other_customer = make_event("walking", customer_ref="cust-2", inputs={"steps": 5_000})
    result = run([*walks, other_customer], make_context)
    credited = [(a.event.customer_ref, a.computation.co2e_mg, a.credited_mg, a.capped)
                for a in result.accepted]  # fmt: skip
    assert credited == [
        ("cust-1", 256_000, 256_000, False),
        ("cust-1", 128_000, 40_000, True),  # 296 g - 256 g = 40 g left
        ("cust-2", 128_000, 128_000, False),
    ]
    assert reasons(result) == ["over_cap"]
    assert result.rejected[0].detail == "daily cap of 296000 mg reached"
    assert result.counters[CounterKey("cust-1", "walking", "day:2026-01-10")] == Usage(2, 296_000)


def test_a_formula_that_fails_on_an_input_is_malformed(
    make_event: EventFactory, by_scenario: dict[str, Methodology]
) -> None:
    ratio = dataclasses.replace(
        by_scenario["clothes_recycling"],
        scenario="ratio",
        formula=parse_formula("weight_kg / (weight_kg - 1)", ["weight_kg"]),
        parameters=(),
        examples=(WorkedExample({"weight_kg": 2}, Decimal(2)),),
    )
    assert isinstance(ratio.inputs[0], NumberInput)
    validated, _ = validate([make_event("ratio", inputs={"weight_kg": 1})], [ratio])
    computed, rejected = compute_reductions(validated)
    assert computed == [] and [r.reason for r in rejected] == [Reason.MALFORMED]
    assert "cannot be evaluated" in rejected[0].detail


def test_rejections_use_the_documented_codes() -> None:
    assert {r.value for r in Reason} == {
        "malformed", "duplicate", "unconsented", "late_event", "future_event", "over_cap",
        "no_methodology",
    }  # fmt: skip
