"""The daily-life carbon footprint calculator: pure arithmetic over published factors.

Factors come from ``data/footprint_factors.yaml``, a verbatim copy of the shared facts file, so a
result always shows the value, unit, status and source of every factor it used. The few numbers
that file lacks (fuel densities, the national average) are in ``data/calculator_assumptions.yaml``
with their own status and source. Each line is computed in ``Decimal`` and rounded half-up to
integer milligrams once; the total is the sum of the lines, so the lines always add up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources
from typing import Any

import yaml

from greenbank.errors import ValidationFailed

MG_PER_KG = Decimal(1_000_000)
REGIONAL_SOURCE = "MEE/NBS 2022 regional grid factors"
DIET_SOURCE = "Poore & Nemecek 2018 via Our World in Data (CC BY)"
FLIGHT_HAULS = ("domestic", "short_haul_economy", "long_haul_economy")
FUELS = ("petrol", "diesel")


def half_up(value: Decimal) -> int:
    """Round half-up to a whole number (milligrams), the one rounding of a calculation."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


class FootprintInputInvalid(ValidationFailed):
    code = "footprint_input_invalid"
    title = "The footprint calculator input is not valid"


@dataclass(frozen=True)
class Factor:
    """One factor as shown beside a result."""

    key: str
    value: Decimal
    unit: str
    status: str
    source: str


@dataclass(frozen=True)
class FootprintFactors:
    version: str
    factors: Mapping[str, Factor]
    national_average: Factor  # kg CO2 per person per year
    months_per_year: int
    weeks_per_year: int

    def get(self, key: str) -> Factor:
        return self.factors[key]

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(k.split(":", 1)[1] for k in self.factors if k.startswith("grid:"))

    @property
    def foods(self) -> tuple[str, ...]:
        return tuple(k.split(":", 1)[1] for k in self.factors if k.startswith("diet:"))


def _read(name: str) -> dict[str, Any]:
    text = resources.files("greenbank.rewards").joinpath(f"data/{name}").read_text("utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def _factor(key: str, entry: Mapping[str, Any], unit: str) -> Factor:
    return Factor(key, Decimal(str(entry["value"])), unit, entry["status"], entry["source"])


@cache
def load_factors() -> FootprintFactors:
    """Parse the packaged factor files (cached: they ship with the code)."""
    doc, extra = _read("footprint_factors.yaml"), _read("calculator_assumptions.yaml")
    grid = doc["electricity_grid_kgco2_per_kwh"]
    latest_year = max(grid["national"])
    out: dict[str, Factor] = {
        "grid:national": _factor(
            f"grid:national:{latest_year}", grid["national"][latest_year], "kgCO2/kWh"
        ),
        "natural_gas": _factor("natural_gas", doc["natural_gas_kgco2_per_m3"], "kgCO2/m3"),
        "petrol": _factor("petrol", doc["petrol_kgco2_per_kg"], "kgCO2/kg"),
        "diesel": _factor("diesel", doc["diesel_kgco2_per_kg"], "kgCO2/kg"),
        "lpg": _factor("lpg", doc["lpg_kgco2_per_kg"], "kgCO2/kg"),
        "car_km": _factor("car_km", doc["car_petrol_medium_kgco2e_per_km"], "kgCO2e/km"),
        "water": _factor("water", doc["water_kgco2e_per_m3"], "kgCO2e/m3"),
    }
    for region, value in grid["regional_2022"].items():
        entry = {"value": value, "status": "published", "source": REGIONAL_SOURCE}
        out[f"grid:{region}"] = _factor(f"grid:{region}:2022", entry, "kgCO2/kWh")
    for haul, entry in doc["flight_kgco2e_per_pkm"].items():
        out[f"flight:{haul}"] = _factor(f"flight:{haul}", entry, "kgCO2e/pkm")
    for food, value in doc["diet_kgco2e_per_kg"].items():
        entry = {"value": value, "status": "published", "source": DIET_SOURCE}
        unit = "kgCO2e/L" if food.endswith("_per_litre") else "kgCO2e/kg"
        out[f"diet:{food}"] = _factor(f"diet:{food}", entry, unit)
    for fuel, entry in extra["fuel_density_kg_per_litre"].items():
        out[f"density:{fuel}"] = _factor(f"density:{fuel}", entry, "kg/L")
    average = _factor(
        "national_average", extra["national_average_kgco2_per_person_year"], "kgCO2/person/year"
    )
    return FootprintFactors(
        version=str(doc["version"]),
        factors=out,
        national_average=average,
        months_per_year=int(extra["months_per_year"]),
        weeks_per_year=int(extra["weeks_per_year"]),
    )


@dataclass(frozen=True)
class FootprintInput:
    """A customer's usual consumption: utilities and driving per month, flights per year, food
    per week. Car: give the fuel bought or the distance driven, not both."""

    electricity_kwh_per_month: Decimal = Decimal(0)
    grid: str = "national"  # or a 2022 grid region: north, east, south, ...
    natural_gas_m3_per_month: Decimal = Decimal(0)
    lpg_kg_per_month: Decimal = Decimal(0)
    water_m3_per_month: Decimal = Decimal(0)
    car_km_per_month: Decimal = Decimal(0)
    car_fuel: str = "petrol"
    car_fuel_litres_per_month: Decimal = Decimal(0)
    flight_km_per_year: Mapping[str, Decimal] = field(default_factory=dict)
    diet_kg_per_week: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Line:
    category: str
    quantity_per_year: Decimal
    unit: str
    factors: tuple[Factor, ...]
    co2e_mg_per_year: int
    arithmetic: str

    @property
    def provisional(self) -> bool:
        return any(f.status != "published" for f in self.factors)


@dataclass(frozen=True)
class Suggestion:
    code: str
    text: str
    saving_mg_per_year: int
    scenarios: tuple[str, ...]  # carbon account scenarios that credit the action


@dataclass(frozen=True)
class Footprint:
    version: str
    lines: tuple[Line, ...]
    total_mg_per_year: int
    national_average: Factor
    percent_of_national_average: Decimal
    suggestions: tuple[Suggestion, ...]


def _check(inp: FootprintInput, f: FootprintFactors) -> None:
    problems = []
    numbers = {
        "electricity_kwh_per_month": inp.electricity_kwh_per_month,
        "natural_gas_m3_per_month": inp.natural_gas_m3_per_month,
        "lpg_kg_per_month": inp.lpg_kg_per_month,
        "water_m3_per_month": inp.water_m3_per_month,
        "car_km_per_month": inp.car_km_per_month,
        "car_fuel_litres_per_month": inp.car_fuel_litres_per_month,
        **{f"flight_km_per_year.{k}": v for k, v in inp.flight_km_per_year.items()},
        **{f"diet_kg_per_week.{k}": v for k, v in inp.diet_kg_per_week.items()},
    }
    problems += [f"{name} must be 0 or more" for name, v in numbers.items() if v < 0]
    if inp.grid != "national" and inp.grid not in f.regions:
        problems.append(f"grid must be 'national' or one of {', '.join(f.regions)}")
    if inp.car_fuel not in FUELS:
        problems.append(f"car_fuel must be one of {', '.join(FUELS)}")
    if inp.car_km_per_month and inp.car_fuel_litres_per_month:
        problems.append("give the car's fuel or its distance, not both")
    problems += [
        f"unknown flight haul {h!r}" for h in inp.flight_km_per_year if h not in FLIGHT_HAULS
    ]
    problems += [f"unknown food {k!r}" for k in inp.diet_kg_per_week if k not in f.foods]
    if problems:
        raise FootprintInputInvalid("; ".join(problems), problems=problems)


def _g(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _line(category: str, qty: Decimal, unit: str, *factors: Factor) -> Line:
    kg = qty
    for factor in factors:
        kg *= factor.value
    steps = " × ".join([f"{_g(qty)} {unit}", *(f"{_g(x.value)} {x.unit}" for x in factors)])
    mg = _mg(kg)
    return Line(
        category, qty, unit, factors, mg, f"{steps} = {_g(kg.quantize(Decimal('0.01')))} kg"
    )


def calculate(inp: FootprintInput, factors: FootprintFactors | None = None) -> Footprint:
    """The yearly footprint of ``inp``, line by line, with the comparison and suggestions."""
    f = factors or load_factors()
    _check(inp, f)
    months, weeks = Decimal(f.months_per_year), Decimal(f.weeks_per_year)
    wanted: list[tuple[str, Decimal, str, tuple[Factor, ...]]] = [
        (
            "electricity",
            inp.electricity_kwh_per_month * months,
            "kWh",
            (f.get(f"grid:{inp.grid}"),),
        ),
        ("natural_gas", inp.natural_gas_m3_per_month * months, "m3", (f.get("natural_gas"),)),
        ("lpg", inp.lpg_kg_per_month * months, "kg", (f.get("lpg"),)),
        ("water", inp.water_m3_per_month * months, "m3", (f.get("water"),)),
        ("car", inp.car_km_per_month * months, "km", (f.get("car_km"),)),
        (
            "car",
            inp.car_fuel_litres_per_month * months,
            "L",
            (f.get(f"density:{inp.car_fuel}"), f.get(inp.car_fuel)),
        ),
    ]
    for haul in FLIGHT_HAULS:
        km = inp.flight_km_per_year.get(haul, Decimal(0))
        wanted.append((f"flight:{haul}", km, "pkm", (f.get(f"flight:{haul}"),)))
    for food, kg in inp.diet_kg_per_week.items():
        unit = "L" if food.endswith("_per_litre") else "kg"
        wanted.append((f"diet:{food}", kg * weeks, unit, (f.get(f"diet:{food}"),)))
    lines = tuple(_line(cat, qty, unit, *fs) for cat, qty, unit, fs in wanted if qty > 0)
    total = sum(line.co2e_mg_per_year for line in lines)
    average_mg = f.national_average.value * MG_PER_KG
    percent = (Decimal(total) * 100 / average_mg).quantize(Decimal("0.1"))
    return Footprint(f.version, lines, total, f.national_average, percent, suggest(lines, inp, f))


# Suggested changes (product choices, not sourced facts): the share of a line each one removes.
TRANSIT_SHARE = Decimal("0.2")
UTILITY_SHARE = Decimal("0.1")
BEEF_SHARE = Decimal("0.5")
FLIGHT_KM_LESS = Decimal(1000)
TRANSIT_SCENARIOS = ("metro_trip", "bus_trip", "bike_share_trip")


def _mg(kg: Decimal) -> int:
    return half_up(kg * MG_PER_KG)


def suggest(
    lines: tuple[Line, ...], inp: FootprintInput, f: FootprintFactors
) -> tuple[Suggestion, ...]:
    """Actions that would lower this footprint, each with its yearly saving, largest first."""
    by_cat: dict[str, int] = {}
    for line in lines:
        by_cat[line.category] = by_cat.get(line.category, 0) + line.co2e_mg_per_year
    out: list[Suggestion] = []
    if by_cat.get("car"):
        out.append(
            Suggestion(
                "car_to_transit",
                "Take the metro, bus or a shared bike for a fifth of your car journeys (the "
                "saving is the driving avoided; the ride replacing it is not subtracted)",
                half_up(by_cat["car"] * TRANSIT_SHARE),
                TRANSIT_SCENARIOS,
            )
        )
    for cat, text in (
        ("electricity", "Use a tenth less electricity (standby, air-conditioning at 26 °C)"),
        ("natural_gas", "Use a tenth less gas (lids on pans, lower water-heater setting)"),
        ("water", "Use a tenth less water (shorter showers, full loads)"),
    ):
        if by_cat.get(cat):
            saving = half_up(by_cat[cat] * UTILITY_SHARE)
            out.append(Suggestion(f"{cat}_less", text, saving, ("online_utility_payment",)))
    beef = inp.diet_kg_per_week.get("beef", Decimal(0))
    if beef > 0:
        delta = f.get("diet:beef").value - f.get("diet:poultry").value
        kg = beef * Decimal(f.weeks_per_year) * BEEF_SHARE * delta
        out.append(
            Suggestion("beef_to_poultry", "Eat poultry instead of half your beef", _mg(kg), ())
        )
    domestic = inp.flight_km_per_year.get("domestic", Decimal(0))
    if domestic > 0:
        km = min(domestic, FLIGHT_KM_LESS)
        kg = km * f.get("flight:domestic").value
        out.append(
            Suggestion("fewer_domestic_flights", f"Fly {_g(km)} km less a year", _mg(kg), ())
        )
    return tuple(
        sorted((s for s in out if s.saving_mg_per_year > 0), key=lambda s: -s.saving_mg_per_year)
    )
