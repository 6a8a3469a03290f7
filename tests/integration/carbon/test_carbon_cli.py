"""``greenbank carbon``: scenarios, simulate (published on the bus and delivered), recompute."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from carbon_db_support import open_with
from click.testing import Result
from typer.testing import CliRunner

from greenbank.bootstrap import Container
from greenbank.carbon.errors import RecomputeNotNeeded
from greenbank.cli import app

Run = Callable[..., Result]


@pytest.fixture
def run(carbon: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setenv("GREENBANK_DATABASE_URL", carbon.settings.database_url)
    monkeypatch.setenv("GREENBANK_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(app, ["carbon", *args])

    return invoke


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_scenarios_simulate_and_recompute(carbon: Container, run: Run) -> None:
    listed = run("scenarios")
    assert listed.exit_code == 0, listed.output
    assert "online_deposit" in listed.output and "yes" in listed.output

    open_with(carbon, "c1", scenarios=["online_utility_payment"])
    simulated = run("simulate", "utility", "--customer", "c1", "--utility", "gas")
    assert simulated.exit_code == 0, simulated.output
    assert "published billpay.utility_paid" in simulated.output
    assert "c1: lifetime 89 g, 8 points" in simulated.output

    recomputed = run("recompute", "--scenario", "online_utility_payment", "--version", "1")
    assert recomputed.exit_code == 0, recomputed.output
    assert "done: 1 events seen, 0 adjusted" in recomputed.output

    refused = run("recompute", "--scenario", "online_deposit", "--version", "9")
    assert isinstance(refused.exception, RecomputeNotNeeded)
