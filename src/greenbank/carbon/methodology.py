"""The methodology model: what a scenario's published, versioned calculation consists of.

A methodology is immutable once published; a change is a new version with a later
``effective_from``. Every factor carries its unit, status and public source so that each credited
gram can be traced to the values that produced it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import cached_property

from greenbank.carbon.expr import Formula
from greenbank.errors import ValidationFailed

MAX_LABEL_CHARS = 64
_NUMBER_RE = re.compile(r"^[+-]?\d{1,15}(\.\d{1,12})?$")


class MethodologyInvalid(ValidationFailed):
    code = "methodology_invalid"
    title = "The methodology is not valid"


class MalformedInputs(ValidationFailed):
    code = "malformed"
    title = "The event's inputs do not match the methodology"


class Status(StrEnum):
    """How much to trust a factor (the words of the shared data file)."""

    PUBLISHED = "published"  # appears in the cited source
    DERIVED = "derived"  # computed from published values
    PROVISIONAL = "provisional"  # placeholder by analogy; reductions must be labelled


@dataclass(frozen=True)
class Parameter:
    name: str
    value: Decimal
    unit: str
    status: Status
    source: str


def to_decimal(raw: object, what: str) -> Decimal:
    """A number from JSON/YAML: int, Decimal, float (read by its shortest repr) or plain text."""
    text = raw.strip() if isinstance(raw, str) else None
    if text is not None and _NUMBER_RE.fullmatch(text):
        value = Decimal(text)
    elif isinstance(raw, bool):
        raise MalformedInputs(f"{what} must be a number, not {raw!r}")
    elif isinstance(raw, Decimal | int):
        value = Decimal(raw)
    elif isinstance(raw, float):
        value = Decimal(repr(raw))
    else:
        raise MalformedInputs(f"{what} must be a number, not {raw!r}")
    if not value.is_finite():
        raise MalformedInputs(f"{what} must be a finite number")
    return value


@dataclass(frozen=True)
class NumberInput:
    """A numeric input with an allowed range, e.g. distance_km with 0 < x <= 200."""

    name: str
    unit: str
    gt: Decimal | None = None
    ge: Decimal | None = None
    lt: Decimal | None = None
    le: Decimal | None = None
    integer: bool = False
    required: bool = True

    def coerce(self, raw: object) -> Decimal:
        value = to_decimal(raw, self.name)
        if self.integer and value != value.to_integral_value():
            raise MalformedInputs(f"{self.name} must be a whole number")
        out_of_range = (
            (self.gt is not None and not value > self.gt)
            or (self.ge is not None and not value >= self.ge)
            or (self.lt is not None and not value < self.lt)
            or (self.le is not None and not value <= self.le)
        )
        if out_of_range:
            raise MalformedInputs(f"{self.name}={value} is outside {self.describe_range()}")
        return value

    def describe_range(self) -> str:
        low = high = ""
        if self.gt is not None or self.ge is not None:
            low = f"{self.gt} < " if self.gt is not None else f"{self.ge} <= "
        if self.lt is not None or self.le is not None:
            high = f" < {self.lt}" if self.lt is not None else f" <= {self.le}"
        return f"{low}{self.name}{high}"


@dataclass(frozen=True)
class LabelInput:
    """A categorical input (e.g. utility: water | electricity | gas); ``choices=None`` = any."""

    name: str
    choices: frozenset[str] | None = None
    required: bool = True
    unit: str = ""

    def coerce(self, raw: object) -> str:
        if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_LABEL_CHARS:
            raise MalformedInputs(f"{self.name} must be a non-empty label of at most 64 chars")
        if self.choices is not None and raw not in self.choices:
            raise MalformedInputs(f"{self.name}={raw!r} is not one of {sorted(self.choices)}")
        return raw


InputSpec = NumberInput | LabelInput


@dataclass(frozen=True)
class Fallback:
    """The formula used when an optional input is missing (metro: a per-trip value)."""

    when_missing: str
    formula: Formula


@dataclass(frozen=True)
class Caps:
    """Anti-abuse limits; ``None`` means no limit of that kind."""

    per_day_events: int | None = None
    per_day_mg: int | None = None  # grams/day in the data, kept here in mg
    per_month_events: int | None = None
    per_month_events_per_input: tuple[str, int] | None = None  # (label input, limit)
    lifetime_events: int | None = None


@dataclass(frozen=True)
class WorkedExample:
    """Hand-computed: ``inputs`` must produce ``expected_g`` before a version may be published."""

    inputs: Mapping[str, object]
    expected_g: Decimal
    note: str = ""


@dataclass(frozen=True)
class Methodology:
    scenario: str
    name: str
    version: int
    effective_from: date
    baseline: str
    formula: Formula
    inputs: tuple[InputSpec, ...]
    parameters: tuple[Parameter, ...]
    caps: Caps = field(default_factory=Caps)
    fallback: Fallback | None = None
    examples: tuple[WorkedExample, ...] = ()
    published_formula: str = ""
    standard: str = ""

    @property
    def key(self) -> tuple[str, int]:
        return (self.scenario, self.version)

    # Derived once per (immutable) version and kept on the instance: the pipeline reads them for
    # every event.
    @cached_property
    def units(self) -> Mapping[str, str]:
        units = {spec.name: spec.unit for spec in self.inputs}
        units.update({p.name: p.unit for p in self.parameters})
        return units

    @cached_property
    def input_names(self) -> frozenset[str]:
        return frozenset(spec.name for spec in self.inputs)

    @cached_property
    def parameter_values(self) -> Mapping[str, Decimal]:
        return {p.name: p.value for p in self.parameters}

    @cached_property
    def parameters_read(self) -> Mapping[str, tuple[Parameter, ...]]:
        """Formula source -> the parameters it reads, for the formula and the fallback's."""
        formulas = [self.formula] + ([self.fallback.formula] if self.fallback else [])
        return {f.source: tuple(p for p in self.parameters if p.name in f.names) for f in formulas}

    @property
    def provisional(self) -> bool:
        return any(p.status is Status.PROVISIONAL for p in self.parameters)

    def input_spec(self, name: str) -> InputSpec | None:
        return next((spec for spec in self.inputs if spec.name == name), None)


def in_force(methodologies: Iterable[Methodology], scenario: str, on: date) -> Methodology | None:
    """The version of ``scenario`` in force on business date ``on``: latest effective_from <= on."""
    candidates = [m for m in methodologies if m.scenario == scenario and m.effective_from <= on]
    return max(candidates, key=lambda m: (m.effective_from, m.version), default=None)


def succession_problems(existing: Iterable[Methodology], new: Methodology) -> list[str]:
    """Why ``new`` may not follow the versions already published for its scenario."""
    same = [m for m in existing if m.scenario == new.scenario]
    if not same:
        return [] if new.version == 1 else [f"the first version must be 1, not {new.version}"]
    latest = max(same, key=lambda m: m.version)
    problems = []
    if new.version != latest.version + 1:
        problems.append(f"the next version must be {latest.version + 1}, not {new.version}")
    if new.effective_from <= latest.effective_from:
        problems.append(f"effective_from must be after {latest.effective_from.isoformat()}")
    return problems


def parse_decimal_field(raw: object, what: str) -> Decimal:
    """A Decimal for data files, where a bad value is a methodology error, not an input error."""
    try:
        return to_decimal(raw, what)
    except MalformedInputs as exc:
        raise MethodologyInvalid(f"{what}: {exc}") from exc
