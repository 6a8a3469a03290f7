"""``greenbank deposits run-maturity``: the job by hand, against the system clock.

The holding is bought in 2020 (fixture clock moved back) so it is due whatever today is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from deposits_support import MakeProduct
from holding_support import balance, open_funded_account
from typer.testing import CliRunner

from greenbank.bootstrap import Container
from greenbank.cli import app
from greenbank.clock import FixedClock
from greenbank.deposits import catalogue
from greenbank.deposits.domain import Term, percent
from greenbank.deposits.holdings_models import MaturityOption
from greenbank.deposits.purchase import purchase

runner = CliRunner()


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("GREENBANK_DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "200")


def test_run_maturity_settles_and_a_second_run_finds_nothing(
    cli_env: None, container: Container, clock: FixedClock, make_product: MakeProduct
) -> None:
    clock.set(datetime(2020, 1, 6, 2, tzinfo=UTC))
    catalogue.post_demand_rate(uow=container.uow, clock=clock, actor="t", rate=percent("0.30"))
    make_product("TD-3M", rate="1.20", term=Term.M3)
    customer = open_funded_account(container, 1_000_000)
    purchase(
        uow=container.uow,
        clock=clock,
        customer_id=customer,
        product_code="TD-3M",
        amount_fen=1_000_000,
        idempotency_key="k",
        maturity_option=MaturityOption.RETURN_TO_BALANCE,
    )
    first = runner.invoke(app, ["deposits", "run-maturity", "--date", "2020-04-06"])
    assert first.exit_code == 0, first.output
    assert "1 settled (0 rolled over, 1 returned), 0 failed" in first.output
    assert balance(container, customer) == 1_003_000  # 1,000,000 x 1.20% x 3/12
    again = runner.invoke(app, ["deposits", "run-maturity"])  # today: catches up, nothing left
    assert again.exit_code == 0 and "0 settled" in again.output


def test_a_future_date_is_refused(cli_env: None) -> None:
    result = runner.invoke(app, ["deposits", "run-maturity", "--date", "2999-01-01"])
    assert result.exit_code != 0
    assert getattr(result.exception, "code", None) == "maturity_date_in_future"
