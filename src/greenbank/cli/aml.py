"""``greenbank aml``: the daily screening, the alert list and the CSV report."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from greenbank.accounts import aml_service
from greenbank.accounts.funds_models import AlertStatus
from greenbank.accounts.funds_policy import aml_rules
from greenbank.cli.context import open_container
from greenbank.clock import business_date
from greenbank.money import format_yuan

app = typer.Typer(help="Anti-money-laundering: daily totals, alerts, the CSV report.")
console = Console()

DateOption = Annotated[
    str | None, typer.Option("--date", help="Business date YYYY-MM-DD (default: yesterday)")
]


def _day(value: str | None, today: date) -> date:
    if value is None:
        return today - timedelta(days=1)
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from err


@app.command("run")
def run(on: DateOption = None) -> None:
    """Recompute the day's per-customer totals and raise the day's alerts (safe to repeat)."""
    container = open_container()
    try:
        day = _day(on, business_date(container.clock.now()))
        done = aml_service.run_daily(
            container.uow, container.clock, aml_rules(container.settings), on=day, actor="cli"
        )
    finally:
        container.close()
    console.print(
        f"{done.business_date}: {done.customers} customers, {done.flows} flows, "
        f"{done.alerts_created} new alert(s)"
    )


@app.command("alerts")
def alerts(
    on: DateOption = None,
    status: Annotated[AlertStatus | None, typer.Option(help="open or resolved")] = None,
) -> None:
    """List alerts (all dates unless --date is given)."""
    container = open_container()
    try:
        day = None if on is None else _day(on, business_date(container.clock.now()))
        found = aml_service.list_alerts(container.uow, status=status, on=day, limit=100)
    finally:
        container.close()
    table = Table(title="AML alerts")
    for column in ("date", "rule", "subject", "amount (CNY)", "status", "id"):
        table.add_column(column)
    for a in found:
        table.add_row(
            a.business_date.isoformat(),
            a.rule,
            a.subject,
            format_yuan(a.amount_fen),
            a.status,
            a.id,
        )
    console.print(table)


@app.command("export")
def export(
    on: DateOption = None,
    what: Annotated[str, typer.Option(help="alerts or totals")] = "alerts",
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout")] = None,
) -> None:
    """The day's alerts or per-customer totals as CSV (UTF-8)."""
    if what not in ("alerts", "totals"):
        raise typer.BadParameter("--what is alerts or totals")
    kind: Literal["alerts", "totals"] = "alerts" if what == "alerts" else "totals"
    container = open_container()
    try:
        day = _day(on, business_date(container.clock.now()))
        text = aml_service.export_csv(container.uow, on=day, what=kind)
    finally:
        container.close()
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {out} ({text.count(chr(10)) - 1} rows)")
