"""The footprint calculator: hand-computed worked examples, factor provenance, and invariants."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from greenbank.rewards.calculator import (
    FootprintInput,
    FootprintInputInvalid,
    calculate,
    load_factors,
)

D = Decimal
SHARED = Path(__file__).parents[3] / "src/greenbank/rewards/data/footprint_factors.yaml"


def test_the_shipped_factors_are_the_shared_file_verbatim() -> None:
    shared = Path("/work/shared/data/footprint_factors.yaml")
    if not shared.exists():
        pytest.skip("the shared facts file is not on this machine")
    assert SHARED.read_bytes() == shared.read_bytes()


def test_factors_keep_values_and_sources_from_the_file() -> None:
    doc = yaml.safe_load(SHARED.read_text(encoding="utf-8"))
    factors = load_factors()
    national = factors.get("grid:national")
    assert (national.key, national.value) == ("grid:national:2023", D("0.5306"))
    assert national.source == doc["electricity_grid_kgco2_per_kwh"]["national"]["2023"]["source"]
    assert factors.get("grid:south").value == D("0.3869")
    water = factors.get("water")
    assert (water.value, water.status) == (D("0.36218"), "provisional")
    assert factors.get("diet:beef").value == D("99.48")
    assert factors.national_average.status == "provisional"


def test_worked_example_household() -> None:
    """200 kWh/month national grid, 10 m3 gas, 500 km by car, 0.5 kg beef a week, 2,000 km of
    domestic flights a year:
    electricity 2,400 kWh x 0.5306 = 1,273.44 kg; gas 120 m3 x 2.1622 = 259.464 kg;
    car 6,000 km x 0.19228 = 1,153.68 kg; flights 2,000 x 0.2549 = 509.8 kg;
    beef 26 kg x 99.48 = 2,586.48 kg. Total 5,782.864 kg = 72.3% of 8,000 kg."""
    result = calculate(
        FootprintInput(
            electricity_kwh_per_month=D(200),
            natural_gas_m3_per_month=D(10),
            car_km_per_month=D(500),
            diet_kg_per_week={"beef": D("0.5")},
            flight_km_per_year={"domestic": D(2000)},
        )
    )
    by = {line.category: line.co2e_mg_per_year for line in result.lines}
    assert by == {
        "electricity": 1_273_440_000,
        "natural_gas": 259_464_000,
        "car": 1_153_680_000,
        "flight:domestic": 509_800_000,
        "diet:beef": 2_586_480_000,
    }
    assert result.total_mg_per_year == 5_782_864_000
    assert result.percent_of_national_average == D("72.3")
    assert result.lines[0].arithmetic == "2400 kWh × 0.5306 kgCO2/kWh = 1273.44 kg"
    saving = {s.code: s.saving_mg_per_year for s in result.suggestions}
    # half the beef as poultry: 26 x 0.5 x (99.48 - 9.87) = 1,164.93 kg
    assert saving["beef_to_poultry"] == 1_164_930_000
    assert saving["car_to_transit"] == 230_736_000  # a fifth of the car line
    assert saving["fewer_domestic_flights"] == 254_900_000  # 1,000 km x 0.2549
    assert [s.saving_mg_per_year for s in result.suggestions] == sorted(
        saving.values(), reverse=True
    )
    transit = next(s for s in result.suggestions if s.code == "car_to_transit")
    assert transit.scenarios == ("metro_trip", "bus_trip", "bike_share_trip")


def test_fuel_uses_the_density_assumption_and_regional_grid() -> None:
    """40 L petrol a month: 480 L x 0.7475 kg/L = 358.8 kg x 2.9251 = 1,049.52588 kg; 100 kWh in the
    south grid: 1,200 x 0.3869 = 464.28 kg."""
    result = calculate(
        FootprintInput(
            car_fuel_litres_per_month=D(40), electricity_kwh_per_month=D(100), grid="south"
        )
    )
    car = next(line for line in result.lines if line.category == "car")
    assert car.co2e_mg_per_year == 1_049_525_880
    assert car.provisional  # the density is an assumption, labelled as such
    assert [f.key for f in car.factors] == ["density:petrol", "petrol"]
    grid = next(line for line in result.lines if line.category == "electricity")
    assert (grid.co2e_mg_per_year, grid.factors[0].key) == (464_280_000, "grid:south:2022")


@pytest.mark.parametrize(
    "bad",
    [
        FootprintInput(grid="mars"),
        FootprintInput(car_km_per_month=D(1), car_fuel_litres_per_month=D(1)),
        FootprintInput(diet_kg_per_week={"unicorn": D(1)}),
        FootprintInput(flight_km_per_year={"space": D(1)}),
        FootprintInput(water_m3_per_month=D(-1)),
        FootprintInput(car_fuel="kerosene"),
    ],
)
def test_bad_input_is_refused(bad: FootprintInput) -> None:
    with pytest.raises(FootprintInputInvalid):
        calculate(bad)


amounts = st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False)


@given(kwh=amounts, gas=amounts, water=amounts, km=amounts, beef=amounts)
def test_lines_add_up_and_grow_with_use(
    kwh: Decimal, gas: Decimal, water: Decimal, km: Decimal, beef: Decimal
) -> None:
    base = FootprintInput(
        electricity_kwh_per_month=kwh,
        natural_gas_m3_per_month=gas,
        water_m3_per_month=water,
        car_km_per_month=km,
        diet_kg_per_week={"beef": beef},
    )
    result = calculate(base)
    assert result.total_mg_per_year == sum(line.co2e_mg_per_year for line in result.lines)
    assert all(s.saving_mg_per_year > 0 for s in result.suggestions)
    assert sum(s.saving_mg_per_year for s in result.suggestions) <= result.total_mg_per_year
    more = calculate(
        FootprintInput(
            electricity_kwh_per_month=kwh + 1,
            natural_gas_m3_per_month=gas,
            water_m3_per_month=water,
            car_km_per_month=km,
            diet_kg_per_week={"beef": beef},
        )
    )
    assert more.total_mg_per_year > result.total_mg_per_year
