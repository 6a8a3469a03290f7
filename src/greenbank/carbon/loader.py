"""Read methodologies from their declared YAML form (``data/methodologies_v1.yaml``).

The loader is strict: an unknown key, a formula naming an undeclared value, or a worked example
that does not reproduce refuses the whole file, so a typo can never reach a customer's credit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from importlib import resources
from typing import Any

import yaml

from greenbank.carbon.domain import MG_PER_G, validate_methodology
from greenbank.carbon.expr import FormulaInvalid, parse_formula
from greenbank.carbon.methodology import (
    Caps,
    Fallback,
    InputSpec,
    LabelInput,
    Methodology,
    MethodologyInvalid,
    NumberInput,
    Parameter,
    Status,
    WorkedExample,
    parse_decimal_field,
)

_ENTRY_KEYS = {
    "scenario", "name", "version", "effective_from", "baseline", "published_formula", "formula",
    "standard", "inputs", "parameters", "fallback", "caps", "examples",
    "published_example",  # documentary: the source's own example, reproduced by a worked example
}  # fmt: skip
_PER_INPUT_CAP = re.compile(r"^per_month_events_per_([a-z][a-z0-9_]*)$")
_SIMPLE_CAPS = {"per_day_events", "per_month_events", "lifetime_events"}


def load_methodologies(text: str | None = None) -> tuple[Methodology, ...]:
    """Parse ``text`` (default: the packaged version-1 file) and validate every methodology."""
    if text is None:
        packaged = resources.files("greenbank.carbon").joinpath("data/methodologies_v1.yaml")
        text = packaged.read_text(encoding="utf-8")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MethodologyInvalid(f"not valid YAML: {exc}") from exc
    entries = _get(document, "methodologies", list, "document")
    methodologies = tuple(parse_methodology(entry) for entry in entries)
    keys = [m.key for m in methodologies]
    if len(set(keys)) != len(keys):
        raise MethodologyInvalid("a scenario version is declared twice")
    return methodologies


def parse_methodology(entry: Any) -> Methodology:
    """One methodology from its mapping; raises ``MethodologyInvalid`` listing every problem."""
    if not isinstance(entry, Mapping):
        raise MethodologyInvalid("each methodology must be a mapping")
    where = str(entry.get("scenario", "?"))
    unknown = sorted(set(entry) - _ENTRY_KEYS)
    if unknown:
        raise MethodologyInvalid(f"{where}: unknown keys {', '.join(unknown)}")
    inputs = tuple(_input(raw, where) for raw in _get(entry, "inputs", list, where))
    parameters = tuple(_parameter(raw, where) for raw in _get(entry, "parameters", list, where))
    names = [spec.name for spec in inputs if isinstance(spec, NumberInput)]
    names += [p.name for p in parameters]
    try:
        formula = parse_formula(_get(entry, "formula", str, where), names)
        fallback = None
        if entry.get("fallback") is not None:
            raw_fallback = _get(entry, "fallback", dict, where)
            fallback = Fallback(
                when_missing=_get(raw_fallback, "when_missing", str, where),
                formula=parse_formula(_get(raw_fallback, "formula", str, where), names),
            )
    except FormulaInvalid as exc:
        raise MethodologyInvalid(f"{where}: {exc.detail}") from exc
    effective = entry.get("effective_from")
    methodology = Methodology(
        scenario=_get(entry, "scenario", str, where),
        name=_get(entry, "name", str, where),
        version=_get(entry, "version", int, where),
        effective_from=effective if isinstance(effective, date) else _date(effective, where),
        baseline=_get(entry, "baseline", str, where),
        formula=formula,
        inputs=inputs,
        parameters=parameters,
        caps=_caps(entry.get("caps") or {}, where),
        fallback=fallback,
        examples=tuple(_example(raw, where) for raw in entry.get("examples") or []),
        published_formula=str(entry.get("published_formula", "")),
        standard=str(entry.get("standard", "")),
    )
    problems = validate_methodology(methodology)
    if problems:
        raise MethodologyInvalid(f"{where}: {'; '.join(problems)}", problems=problems)
    return methodology


def _get(raw: Any, key: str, kind: type, where: str) -> Any:
    value = raw.get(key) if isinstance(raw, Mapping) else None
    if kind is list and value is None:
        return []
    if not isinstance(value, kind) or isinstance(value, bool):
        raise MethodologyInvalid(f"{where}: {key} must be a {kind.__name__}")
    return value


def _date(raw: object, where: str) -> date:
    try:
        return date.fromisoformat(str(raw))
    except ValueError as exc:
        raise MethodologyInvalid(f"{where}: effective_from must be a date") from exc


def _input(raw: Any, where: str) -> InputSpec:
    name = _get(raw, "name", str, where)
    required = raw.get("required", True) is not False
    if raw.get("kind", "number") == "label":
        choices = raw.get("choices")
        allowed = frozenset(str(c) for c in choices) if isinstance(choices, Sequence) else None
        return LabelInput(name=name, choices=allowed, required=required)
    bounds = {
        k: parse_decimal_field(raw[k], f"{where}.{name}.{k}")
        for k in ("gt", "ge", "lt", "le")
        if k in raw
    }
    return NumberInput(
        name=name,
        unit=str(raw.get("unit", "")),
        integer=raw.get("integer", False) is True,
        required=required,
        **bounds,
    )


def _parameter(raw: Any, where: str) -> Parameter:
    name = _get(raw, "name", str, where)
    try:
        status = Status(raw.get("status"))
    except ValueError as exc:
        raise MethodologyInvalid(f"{where}.{name}: unknown status {raw.get('status')!r}") from exc
    return Parameter(
        name=name,
        value=parse_decimal_field(raw.get("value"), f"{where}.{name}"),
        unit=_get(raw, "unit", str, where),
        status=status,
        source=_get(raw, "source", str, where),
    )


def _caps(raw: Any, where: str) -> Caps:
    if not isinstance(raw, Mapping):
        raise MethodologyInvalid(f"{where}: caps must be a mapping")
    values: dict[str, Any] = {}
    for key, limit in raw.items():
        if key == "note":  # documentary
            continue
        if not isinstance(limit, int) or isinstance(limit, bool):
            raise MethodologyInvalid(f"{where}: cap {key} must be a whole number")
        per_input = _PER_INPUT_CAP.fullmatch(str(key))
        if key in _SIMPLE_CAPS:
            values[key] = limit
        elif key == "per_day_g":
            values["per_day_mg"] = limit * MG_PER_G
        elif per_input:
            values["per_month_events_per_input"] = (per_input.group(1), limit)
        else:
            raise MethodologyInvalid(f"{where}: unknown cap {key}")
    return Caps(**values)


def _example(raw: Any, where: str) -> WorkedExample:
    inputs = raw.get("inputs") if isinstance(raw, Mapping) else None
    if not isinstance(inputs, Mapping):
        raise MethodologyInvalid(f"{where}: an example needs an inputs mapping")
    return WorkedExample(
        inputs=dict(inputs),
        expected_g=parse_decimal_field(raw.get("expected_g"), f"{where} example"),
        note=str(raw.get("note", "")),
    )
