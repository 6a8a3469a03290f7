"""Re-computation under a new methodology version: adjustments, the re-applied grams cap,
failures that keep the old credit, and the per-customer report."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from greenbank.carbon.domain import compute
from greenbank.carbon.methodology import (
    Caps,
    MalformedInputs,
    Methodology,
    NumberInput,
    Parameter,
    Status,
)
from greenbank.carbon.recompute import (
    CreditedRecord,
    CustomerChange,
    change_report,
    plan_recomputation,
    recompute_credit,
)

AT = datetime(2026, 1, 5, 2, tzinfo=UTC)


def _version_2(m: Methodology, factor: str, **changes: Any) -> Methodology:
    first = m.parameters[0]
    parameter = Parameter(first.name, Decimal(factor), first.unit, Status.PUBLISHED, "v2 source")
    return dataclasses.replace(
        m, version=2, parameters=(parameter, *m.parameters[1:]), examples=(), **changes
    )


def _record(m: Methodology, inputs: dict[str, Any], customer: str = "cust-1", minute: int = 0,
            credited: int | None = None) -> CreditedRecord:  # fmt: skip
    computation = compute(m, inputs)
    return CreditedRecord(
        event_key=("src", f"{customer}-{minute}"),
        customer_ref=customer,
        occurred_at=AT + timedelta(minutes=minute),
        business_date=date(2026, 1, 5),
        computation=computation,
        credited_mg=computation.co2e_mg if credited is None else credited,
    )


def test_a_new_factor_gives_an_adjustment(by_scenario: dict[str, Methodology]) -> None:
    metro = by_scenario["metro_trip"]
    record = _record(metro, {"distance_km": "12.5"})
    adjustment = recompute_credit(record, _version_2(metro, "50"))
    assert (adjustment.old_version, adjustment.new_version) == (1, 2)
    assert adjustment.old_credited_mg == 583_750
    assert adjustment.new_credited_mg == 625_000  # 12.5 × 50
    assert adjustment.delta_mg == 41_250
    assert adjustment.computation.explanation == "12.5 km × 50 g/pkm = 625 g"
    assert adjustment.computation.parameters[0].source == "v2 source"


def test_the_grams_cap_is_reapplied_per_customer_day(by_scenario: dict[str, Methodology]) -> None:
    walking = by_scenario["walking"]
    records = [
        _record(walking, {"steps": 10_000}, minute=0),  # 256 g
        _record(walking, {"steps": 5_000}, minute=5, credited=40_000),  # capped at 40 g
        _record(walking, {"steps": 5_000}, customer="cust-2"),  # 128 g
    ]
    # in event order: cust-1 10,000 steps = 200 g; cust-2 = 100 g; cust-1 5,000 steps = 100 g,
    # of which only 96 g fit under cust-1's 296 g day
    lower = plan_recomputation(records, _version_2(walking, "20"))
    pairs = [(a.event_key[1], a.new_credited_mg, a.delta_mg) for a in lower.adjustments]
    assert pairs == [
        ("cust-1-0", 200_000, -56_000),
        ("cust-2-0", 100_000, -28_000),
        ("cust-1-5", 96_000, 56_000),
    ]
    assert lower.delta_mg == -28_000
    higher = plan_recomputation(records, _version_2(walking, "30"))  # 300 g is over 296 g
    by_customer = {(a.customer_ref, a.event_key): a.new_credited_mg for a in higher.adjustments}
    assert by_customer == {
        ("cust-1", ("src", "cust-1-0")): 296_000,
        ("cust-1", ("src", "cust-1-5")): 0,
        ("cust-2", ("src", "cust-2-0")): 150_000,
    }


def test_refused_inputs_keep_the_old_credit_and_its_room(
    by_scenario: dict[str, Methodology],
) -> None:
    walking = by_scenario["walking"]
    narrower = _version_2(
        walking, "25.6", inputs=(NumberInput("steps", "steps", gt=Decimal(0), le=Decimal(8000)),)
    )
    records = [
        _record(walking, {"steps": 10_000}, minute=0),
        _record(walking, {"steps": 5_000}, minute=5, credited=40_000),
    ]
    plan = plan_recomputation(records, narrower)
    assert [f.record for f in plan.failures] == records[:1]
    assert "outside 0 < steps <= 8000" in plan.failures[0].detail
    (adjustment,) = plan.adjustments
    assert adjustment.new_credited_mg == 40_000  # 296 g - the 256 g that stays


def test_another_scenarios_methodology_is_refused(by_scenario: dict[str, Methodology]) -> None:
    record = _record(by_scenario["metro_trip"], {"distance_km": 1})
    with pytest.raises(MalformedInputs, match="cannot use a bus_trip method"):
        recompute_credit(record, by_scenario["bus_trip"])
    plan = plan_recomputation([record], by_scenario["bus_trip"])
    assert plan.adjustments == () and len(plan.failures) == 1


def test_change_report_has_one_row_per_customer(by_scenario: dict[str, Methodology]) -> None:
    metro = by_scenario["metro_trip"]
    v2 = dataclasses.replace(_version_2(metro, "50"), caps=Caps(per_day_events=6))
    records = [
        _record(metro, {"distance_km": 10}, customer="b"),
        _record(metro, {"distance_km": 2}, customer="a"),
        _record(metro, {}, customer="b", minute=1),  # fallback, unchanged
    ]
    plan = plan_recomputation(records, v2)
    assert plan.report == (
        CustomerChange("a", 1, 93_400, 100_000),
        CustomerChange("b", 2, 467_000 + 515_500, 500_000 + 515_500),
    )
    assert [row.delta_mg for row in plan.report] == [6_600, 33_000]
    assert change_report([]) == ()
