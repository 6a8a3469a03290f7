"""Version-1 methodologies: hand-computed worked examples per scenario, the loader's strictness,
input checking, publication checks and the choice of the version in force."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from greenbank.carbon.domain import check_inputs, compute, grams_to_mg, validate_methodology
from greenbank.carbon.expr import parse_formula
from greenbank.carbon.loader import load_methodologies, parse_methodology
from greenbank.carbon.methodology import (
    Caps,
    MalformedInputs,
    Methodology,
    MethodologyInvalid,
    NumberInput,
    Parameter,
    Status,
    WorkedExample,
    in_force,
    succession_problems,
)

SHARED = Path("/work/shared/data/carbon_methodologies.yaml")
SCENARIOS = {
    "metro_trip", "bus_trip", "walking", "bike_share_trip", "e_statement",
    "online_utility_payment", "e_credit_card", "online_deposit", "e_receipt",
    "second_hand_resale", "clothes_recycling", "nev_trip",
}  # fmt: skip


def test_every_scenario_has_a_valid_version_1(methodologies: tuple[Methodology, ...]) -> None:
    assert {m.scenario for m in methodologies} == SCENARIOS
    for m in methodologies:
        assert m.version == 1
        assert m.effective_from == date(2026, 1, 1)
        assert validate_methodology(m) == []


# (scenario, inputs, expected mg, provisional, explanation) -- computed by hand
WORKED = [
    ("metro_trip", {"distance_km": "12.5"}, 583_750, False, "12.5 km × 46.7 g/pkm = 583.75 g"),
    ("metro_trip", {}, 515_500, False, "515.5 g/trip = 515.5 g (no distance_km: fallback)"),
    ("bus_trip", {"distance_km": 10}, 269_000, False, "10 km × 26.9 g/pkm = 269 g"),
    ("bus_trip", {}, 98_000, False, "98 g/trip = 98 g (no distance_km: fallback)"),
    ("walking", {"steps": 5000}, 128_000, False,
     "5000 steps ÷ 1000 × 25.6 g/1000 steps = 128 g"),
    ("walking", {"steps": 1234}, 31_590, False,
     "1234 steps ÷ 1000 × 25.6 g/1000 steps = 31.5904 g"),
    ("bike_share_trip", {"distance_km": "3.2"}, 149_440, True, "3.2 km × 46.7 g/pkm = 149.44 g"),
    ("e_statement", {}, 24_000, False, "24 g/statement = 24 g"),
    ("online_utility_payment", {"utility": "water"}, 89_000, False, "89 g/payment = 89 g"),
    ("e_credit_card", {}, 89_000, False, "89 g/application = 89 g"),
    ("online_deposit", {}, 89_000, True, "89 g/transaction = 89 g"),
    ("e_receipt", {}, 24_000, True, "24 g/receipt = 24 g"),
    ("second_hand_resale",
     {"category": "phone", "production_emissions_g": 57670, "replacement_rate": "0.9"},
     51_903_000, False, "57670 g × 0.9 = 51903 g"),
    ("clothes_recycling", {"weight_kg": "2.5"}, 9_000_000, False, "2.5 kg × 3600 g/kg = 9000 g"),
    ("nev_trip", {"distance_km": 10}, 719_302, True,
     "10 km × (0.07 L/km × 0.74 kg/L × 2.9251 kgCO2/kg × 1000 − 0.15 kWh/km × 530.6 g/kWh)"
     " = 719.3018 g"),
]  # fmt: skip


@pytest.mark.parametrize(("scenario", "inputs", "mg", "provisional", "explanation"), WORKED)
def test_worked_example(
    by_scenario: dict[str, Methodology],
    scenario: str,
    inputs: dict[str, Any],
    mg: int,
    provisional: bool,
    explanation: str,
) -> None:
    result = compute(by_scenario[scenario], inputs)
    assert result.co2e_mg == mg
    assert result.provisional is provisional
    assert result.explanation == explanation
    assert (result.scenario, result.methodology_version) == (scenario, 1)


def test_computation_traces_the_parameters_it_used(by_scenario: dict[str, Methodology]) -> None:
    metro = by_scenario["metro_trip"]
    by_distance = compute(metro, {"distance_km": 1})
    assert [p.name for p in by_distance.parameters] == ["factor_g_per_pkm"]
    (factor,) = by_distance.parameters
    assert (factor.value, factor.unit, factor.status) == (Decimal("46.7"), "g/pkm", "published")
    assert factor.source.startswith("深圳市低碳公共出行碳普惠方法学")
    assert by_distance.inputs == {"distance_km": Decimal(1)}
    fallback = compute(metro, {})
    assert fallback.used_fallback and [p.name for p in fallback.parameters] == [
        "fallback_g_per_trip"
    ]


def test_online_deposit_is_89_g_and_provisional(by_scenario: dict[str, Methodology]) -> None:
    deposit = by_scenario["online_deposit"]
    assert deposit.provisional
    (factor,) = compute(deposit, {}).parameters
    assert factor.status is Status.PROVISIONAL
    assert factor.source.startswith("no public value found")


def test_caps_are_read_from_the_data(by_scenario: dict[str, Methodology]) -> None:
    assert by_scenario["metro_trip"].caps == Caps(per_day_events=6)
    assert by_scenario["walking"].caps == Caps(per_day_mg=296_000)
    assert by_scenario["e_statement"].caps == Caps(per_month_events=3)
    assert by_scenario["online_utility_payment"].caps == Caps(
        per_month_events_per_input=("utility", 2)
    )
    assert by_scenario["e_credit_card"].caps == Caps(lifetime_events=1)
    assert by_scenario["nev_trip"].caps == Caps()


@pytest.mark.skipif(not SHARED.exists(), reason="the shared facts file is not present")
def test_values_units_statuses_and_sources_are_copied_verbatim(
    by_scenario: dict[str, Methodology],
) -> None:
    shared = yaml.safe_load(SHARED.read_text(encoding="utf-8"))
    for scenario in shared["scenarios"]:
        m = by_scenario[scenario["code"]]
        assert m.name == scenario["name"]
        assert m.baseline == scenario["baseline"]
        assert m.published_formula == scenario["formula"]
        facts = [scenario[k] for k in ("factor", "fallback_when_no_distance") if k in scenario]
        facts += list(scenario.get("parameters", {}).values())
        ours = {(p.value, p.unit, p.status.value, p.source) for p in m.parameters}
        assert len(ours) == len(facts)
        for fact in facts:
            value = Decimal(repr(fact["value"]))
            assert (value, fact["unit"], fact["status"], fact["source"]) in ours


def test_rounding_is_half_up_once() -> None:
    assert grams_to_mg(Decimal("0.0025")) == 3
    assert grams_to_mg(Decimal("0.0035")) == 4
    assert grams_to_mg(Decimal("0.00249")) == 2


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"distance_km": 0}, "outside 0 < distance_km <= 200"),
        ({"distance_km": "200.01"}, "outside"),
        ({"distance_km": True}, "must be a number"),
        ({"distance_km": "1e3"}, "must be a number"),
        ({"distance_km": "NaN"}, "must be a number"),
        ({"distance_km": [1]}, "must be a number"),
        ({"distance_km": 5, "speed": 3}, "unknown inputs for metro_trip: speed"),
    ],
)
def test_inputs_outside_the_declared_form_are_malformed(
    by_scenario: dict[str, Methodology], inputs: dict[str, Any], message: str
) -> None:
    with pytest.raises(MalformedInputs, match=message) as caught:
        check_inputs(by_scenario["metro_trip"], inputs)
    assert caught.value.code == "malformed"


def test_input_kinds(by_scenario: dict[str, Methodology]) -> None:
    assert check_inputs(by_scenario["metro_trip"], {"distance_km": 12.5}) == {
        "distance_km": Decimal("12.5")
    }
    with pytest.raises(MalformedInputs, match="whole number"):
        check_inputs(by_scenario["walking"], {"steps": "12.5"})
    with pytest.raises(MalformedInputs, match="steps is required"):
        check_inputs(by_scenario["walking"], {})
    with pytest.raises(MalformedInputs, match="is not one of"):
        check_inputs(by_scenario["online_utility_payment"], {"utility": "phone"})
    with pytest.raises(MalformedInputs, match="non-empty label"):
        check_inputs(by_scenario["second_hand_resale"], {"category": ""})


def _tiny(**changes: Any) -> Methodology:
    base = Methodology(
        scenario="tiny",
        name="tiny",
        version=1,
        effective_from=date(2026, 1, 1),
        baseline="nothing",
        formula=parse_formula("x * (a - b)", ["x", "a", "b"]),
        inputs=(NumberInput("x", "km", gt=Decimal(0)),),
        parameters=(
            Parameter("a", Decimal(1), "g/km", Status.PUBLISHED, "test"),
            Parameter("b", Decimal(3), "g/km", Status.PUBLISHED, "test"),
        ),
        examples=(WorkedExample({"x": 1}, Decimal(0)),),
    )
    return dataclasses.replace(base, **changes)


def test_a_result_below_the_baseline_credits_nothing() -> None:
    result = compute(_tiny(), {"x": 2})
    assert result.exact_g == Decimal(-4)
    assert result.co2e_mg == 0
    assert result.explanation.endswith("→ 0 g (no reduction below the baseline)")


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"examples": ()}, "at least one worked example"),
        ({"examples": (WorkedExample({"x": 1}, Decimal(5)),)}, "gives 0 mg, expected 5000 mg"),
        ({"examples": (WorkedExample({"x": -1}, Decimal(0)),)}, "example 1 is refused"),
        ({"version": 0}, "version must be 1 or more"),
        ({"scenario": "Tiny Scenario"}, "snake_case"),
        ({"inputs": (NumberInput("x", "km", required=False),)}, "need a fallback"),
        ({"caps": Caps(per_day_events=0)}, "caps must be positive"),
        ({"caps": Caps(per_month_events_per_input=("x", 2))}, "must be a required label input"),
        (
            {"parameters": (*_tiny().parameters, Parameter("c", Decimal(1), "g", "published", ""))},
            "parameter 'c' is not used",
        ),
    ],
)
def test_validate_methodology_names_each_problem(changes: dict[str, Any], problem: str) -> None:
    assert validate_methodology(_tiny()) == []
    assert any(problem in p for p in validate_methodology(_tiny(**changes)))


def _entry(by_scenario: dict[str, Methodology]) -> dict[str, Any]:
    return {
        "scenario": "metro_trip", "name": "地铁出行", "version": 2,
        "effective_from": "2026-03-01", "baseline": "trip mix",
        "formula": "distance_km * factor_g_per_pkm",
        "inputs": [{"name": "distance_km", "unit": "km", "gt": 0, "le": 200}],
        "parameters": [{"name": "factor_g_per_pkm", "value": "50", "unit": "g/pkm",
                        "status": "provisional", "source": "test"}],
        "caps": {"per_day_events": 6},
        "examples": [{"inputs": {"distance_km": 2}, "expected_g": "100"}],
    }  # fmt: skip


def test_parse_methodology_reads_a_new_version(by_scenario: dict[str, Methodology]) -> None:
    v2 = parse_methodology(_entry(by_scenario))
    assert (v2.version, v2.effective_from, v2.provisional) == (2, date(2026, 3, 1), True)
    assert succession_problems([by_scenario["metro_trip"]], v2) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "green"}, "unknown keys colour"),
        ({"formula": "distance_km * factor"}, "'factor' is not a declared input or parameter"),
        ({"formula": "__import__('os')"}, "only min"),
        ({"caps": {"per_week_events": 1}}, "unknown cap per_week_events"),
        ({"caps": {"per_day_events": "6"}}, "must be a whole number"),
        ({"examples": [{"inputs": {"distance_km": 2}, "expected_g": "99"}]}, "expected 99000"),
        ({"effective_from": "soon"}, "effective_from must be a date"),
        ({"version": True}, "version must be a int"),
    ],
)
def test_loader_refuses_bad_entries(
    by_scenario: dict[str, Methodology], change: dict[str, Any], message: str
) -> None:
    entry = _entry(by_scenario) | change
    with pytest.raises(MethodologyInvalid, match=message):
        parse_methodology(entry)


def test_loader_refuses_unknown_status_and_bad_documents(
    by_scenario: dict[str, Methodology],
) -> None:
    entry = _entry(by_scenario)
    entry["parameters"][0]["status"] = "guessed"
    with pytest.raises(MethodologyInvalid, match="unknown status 'guessed'"):
        parse_methodology(entry)
    with pytest.raises(MethodologyInvalid, match="not valid YAML"):
        load_methodologies("methodologies: [")
    twice = yaml.safe_dump({"methodologies": [_entry(by_scenario), _entry(by_scenario)]})
    with pytest.raises(MethodologyInvalid, match="declared twice"):
        load_methodologies(twice)


def test_the_version_in_force_is_chosen_by_business_date(
    by_scenario: dict[str, Methodology],
) -> None:
    v1 = by_scenario["metro_trip"]
    v2 = parse_methodology(_entry(by_scenario))
    catalog = [v1, v2, by_scenario["bus_trip"]]
    assert in_force(catalog, "metro_trip", date(2025, 12, 31)) is None
    assert in_force(catalog, "metro_trip", date(2026, 1, 1)) is v1
    assert in_force(catalog, "metro_trip", date(2026, 2, 28)) is v1
    assert in_force(catalog, "metro_trip", date(2026, 3, 1)) is v2
    assert in_force(catalog, "taxi", date(2026, 3, 1)) is None


def test_succession_requires_the_next_version_and_a_later_date(
    by_scenario: dict[str, Methodology],
) -> None:
    v1 = by_scenario["metro_trip"]
    early = dataclasses.replace(v1, version=3, effective_from=date(2025, 6, 1))
    assert succession_problems([v1], early) == [
        "the next version must be 2, not 3",
        "effective_from must be after 2026-01-01",
    ]
    assert succession_problems([], dataclasses.replace(v1, version=2)) == [
        "the first version must be 1, not 2"
    ]
