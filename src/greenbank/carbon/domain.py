"""Pure carbon rules: check an event's inputs, compute its reduction, validate a methodology.

A computation records everything needed to trace a credited milligram: the methodology version,
the inputs, each parameter's value, unit, status and source, and the arithmetic written out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from greenbank.carbon.expr import FormulaInvalid, plain
from greenbank.carbon.methodology import (
    LabelInput,
    MalformedInputs,
    Methodology,
    NumberInput,
    Parameter,
    Status,
)

MG_PER_G = 1000
_SCENARIO_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")

InputValue = Decimal | str


@dataclass(frozen=True)
class Computation:
    scenario: str
    methodology_version: int
    inputs: Mapping[str, InputValue]
    co2e_mg: int  # rounded half-up once; never negative
    exact_g: Decimal  # the formula's unrounded result
    parameters: tuple[Parameter, ...]  # only those the formula read
    provisional: bool
    used_fallback: bool
    explanation: str


def grams_to_mg(grams: Decimal) -> int:
    """The one rounding of a carbon calculation: grams -> whole milligrams, half-up."""
    return int((grams * MG_PER_G).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def check_inputs(methodology: Methodology, raw: Mapping[str, object]) -> dict[str, InputValue]:
    """Coerce and range-check ``raw`` against the methodology; refuse unknown or missing inputs."""
    if not isinstance(raw, Mapping):
        raise MalformedInputs("inputs must be an object")
    if not methodology.input_names.issuperset(raw):
        unknown = sorted(set(raw) - methodology.input_names)
        raise MalformedInputs(f"unknown inputs for {methodology.scenario}: {', '.join(unknown)}")
    values: dict[str, InputValue] = {}
    for spec in methodology.inputs:
        if raw.get(spec.name) is None:
            if spec.required:
                raise MalformedInputs(f"{spec.name} is required")
            continue
        values[spec.name] = spec.coerce(raw[spec.name])
    return values


def compute(methodology: Methodology, inputs: Mapping[str, object]) -> Computation:
    """The reduction for one event. Raises ``MalformedInputs`` for inputs the version refuses."""
    return compute_checked(methodology, check_inputs(methodology, inputs))


def compute_checked(methodology: Methodology, values: Mapping[str, InputValue]) -> Computation:
    """``compute`` for inputs that ``check_inputs`` already coerced (the pipeline checks them
    once, in ``validate``). Raises ``MalformedInputs`` when the formula fails on them."""
    fallback = methodology.fallback
    used_fallback = fallback is not None and fallback.when_missing not in values
    formula = fallback.formula if fallback is not None and used_fallback else methodology.formula
    env = dict(methodology.parameter_values)
    env.update({k: v for k, v in values.items() if isinstance(v, Decimal)})
    try:
        exact_g = formula.evaluate(env)
    except FormulaInvalid as exc:  # e.g. a division by an input of zero
        raise MalformedInputs(exc.detail) from exc
    used = methodology.parameters_read[formula.source]
    explanation = f"{formula.explain(env, methodology.units)} = {plain(exact_g)} g"
    if used_fallback and fallback is not None:
        explanation += f" (no {fallback.when_missing}: fallback)"
    if exact_g < 0:
        explanation += " → 0 g (no reduction below the baseline)"
    return Computation(
        scenario=methodology.scenario,
        methodology_version=methodology.version,
        inputs=values,
        co2e_mg=max(0, grams_to_mg(exact_g)),
        exact_g=exact_g,
        parameters=used,
        provisional=any(p.status is Status.PROVISIONAL for p in used),
        used_fallback=used_fallback,
        explanation=explanation,
    )


def validate_methodology(m: Methodology) -> list[str]:
    """Every reason ``m`` may not be published; an empty list means it may."""
    problems = _shape_problems(m) + _caps_problems(m)
    if not m.examples:
        problems.append("at least one worked example is required")
    if m.fallback is not None and not any(
        m.fallback.when_missing not in example.inputs for example in m.examples
    ):
        problems.append("the fallback needs a worked example")
    for index, example in enumerate(m.examples, start=1):
        expected_mg = grams_to_mg(example.expected_g)
        try:
            got = compute(m, example.inputs).co2e_mg
        except MalformedInputs as exc:
            problems.append(f"example {index} is refused: {exc.detail}")
            continue
        if got != expected_mg:
            problems.append(f"example {index} gives {got} mg, expected {expected_mg} mg")
    return problems


def _shape_problems(m: Methodology) -> list[str]:
    problems = []
    if not _SCENARIO_RE.fullmatch(m.scenario):
        problems.append(f"scenario code {m.scenario!r} must be snake_case")
    if m.version < 1:
        problems.append("version must be 1 or more")
    if not m.name.strip() or not m.baseline.strip():
        problems.append("name and baseline are required")
    names = [spec.name for spec in m.inputs] + [p.name for p in m.parameters]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        problems.append(f"names declared twice: {', '.join(duplicates)}")
    numeric = {spec.name for spec in m.inputs if isinstance(spec, NumberInput)}
    parameters = {p.name for p in m.parameters}
    read = set(m.formula.names) | (m.fallback.formula.names if m.fallback else set())
    problems += [
        f"{n!r} is not a numeric input or parameter" for n in sorted(read - numeric - parameters)
    ]
    problems += [f"parameter {n!r} is not used" for n in sorted(parameters - read)]
    problems += [f"input {n!r} is not used" for n in sorted(numeric - m.formula.names)]
    problems += [f"parameter {p.name!r} has no source" for p in m.parameters if not p.source]
    optional = {spec.name for spec in m.inputs if not spec.required}
    fallback_input = m.fallback.when_missing if m.fallback else None
    if optional - {fallback_input}:
        problems.append(f"optional inputs need a fallback: {', '.join(sorted(optional))}")
    if m.fallback is not None:
        if fallback_input not in optional:
            problems.append(f"fallback input {fallback_input!r} must be an optional input")
        if fallback_input in m.fallback.formula.names:
            problems.append("the fallback formula must not read the missing input")
    return problems


def _caps_problems(m: Methodology) -> list[str]:
    caps = m.caps
    limits = [caps.per_day_events, caps.per_day_mg, caps.per_month_events, caps.lifetime_events]
    problems = ["caps must be positive" for limit in limits if limit is not None and limit <= 0]
    if caps.per_month_events_per_input is not None:
        key, limit = caps.per_month_events_per_input
        spec = m.input_spec(key)
        if not (isinstance(spec, LabelInput) and spec.required):
            problems.append(f"per-month cap key {key!r} must be a required label input")
        if limit <= 0:
            problems.append("caps must be positive")
    return problems
