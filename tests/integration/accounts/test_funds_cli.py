"""``greenbank funds`` and ``greenbank aml`` against a real database."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from funds_support import World
from typer.testing import CliRunner

from greenbank.bootstrap import Container
from greenbank.cli import app

runner = CliRunner()


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # ./var is the test container's var_dir: the same PII keys
    monkeypatch.setenv("GREENBANK_DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "200")


def test_settle_asks_the_rail_and_restrict_expired_restricts(
    cli_env: None, container: Container
) -> None:
    world = World.open(container, id_valid_to=date(2026, 1, 31))
    world.top_up(10_000)
    world.top_up(10_099)
    settled = runner.invoke(app, ["funds", "settle"])  # the CLI's clock is the system clock
    assert settled.exit_code == 0, settled.output
    assert "2 transfer(s) asked about: 1 failed, 1 settled" in settled.output
    assert world.balance().balance_fen == 10_000
    restricted = runner.invoke(app, ["funds", "restrict-expired"])
    assert restricted.exit_code == 0, restricted.output
    assert "1 account(s) restricted" in restricted.output and world.account_id in restricted.output
    assert world.account().status == "restricted"


def test_aml_run_alerts_and_export(cli_env: None, container: Container, tmp_path: Path) -> None:
    world = World.open(container)
    world.funded(50_000_000)
    ran = runner.invoke(app, ["aml", "run", "--date", "2026-03-02"])
    assert ran.exit_code == 0, ran.output
    assert "2026-03-02: 1 customers, 1 flows, 1 new alert(s)" in ran.output
    listed = runner.invoke(app, ["aml", "alerts", "--status", "open"])
    assert "large_value_transfer" in listed.output and "500,000.00" in listed.output
    exported = runner.invoke(app, ["aml", "export", "--date", "2026-03-02"])
    lines = exported.output.splitlines()
    assert lines[0].startswith("business_date,alert_id,rule")
    assert ",large_value_transfer," in lines[1] and ",500000.00,open," in lines[1]
    target = tmp_path / "totals.csv"
    written = runner.invoke(
        app, ["aml", "export", "--date", "2026-03-02", "--what", "totals", "--out", str(target)]
    )
    assert written.exit_code == 0, written.output
    assert target.read_text(encoding="utf-8").splitlines()[1] == (
        f"2026-03-02,{world.customer_id},500000.00,1,0.00,0"
    )
    bad = runner.invoke(app, ["aml", "export", "--date", "02/03/2026"])
    assert bad.exit_code != 0
