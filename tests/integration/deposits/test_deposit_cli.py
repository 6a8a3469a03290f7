"""``greenbank deposits``: the staff commands change the catalogue through the audited services."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from greenbank.bootstrap import Container
from greenbank.cli import app
from greenbank.deposits import catalogue

runner = CliRunner()


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("GREENBANK_DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "200")


def test_create_price_publish_and_list(cli_env: None, container: Container) -> None:
    steps = [
        ["deposits", "post-rate", "demand", "0.20", "--by", "wang"],
        ["deposits", "create", "--code", "TD-5Y", "--name", "整存整取 5年", "--term", "5y"],
        ["deposits", "post-rate", "TD-5Y", "2.00", "--by", "wang"],
        ["deposits", "publish", "TD-5Y", "--by", "wang"],
    ]
    for args in steps:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    listing = runner.invoke(app, ["deposits", "products"])
    assert "TD-5Y" in listing.output and "2.00" in listing.output and "published" in listing.output
    (product,) = catalogue.list_products(uow=container.uow, clock=container.clock)
    assert (product.product.code, product.product.status.value) == ("TD-5Y", "published")


def test_an_illegal_change_exits_with_the_code(cli_env: None) -> None:
    runner.invoke(app, ["deposits", "create", "--code", "TD-5Y", "--name", "x", "--term", "5y"])
    result = runner.invoke(app, ["deposits", "pause", "TD-5Y"])
    assert result.exit_code != 0
    assert getattr(result.exception, "code", None) == "illegal_status_change"
