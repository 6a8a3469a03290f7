"""``greenbank deposits run-maturity``: the maturity job by hand (cron, catch-up, operations).

``greenbank serve`` also runs it on a schedule (``GREENBANK_DEPOSITS_MATURITY_SCHEDULER``); both
are safe together: the job is idempotent and skips holdings another runner has locked.
"""

from __future__ import annotations

from datetime import date

import typer
from rich.console import Console

from greenbank.cli.context import open_container
from greenbank.clock import business_date
from greenbank.deposits.maturity import run_maturity
from greenbank.deposits.maturity_receipts import maturity_receipting

console = Console()


def run_maturity_command(
    day: str | None = typer.Option(
        None, "--date", help="Settle everything due on or before this day (default: today)."
    ),
) -> None:
    """Settle matured holdings: roll over or pay back, catching up any missed days."""
    container = open_container()
    try:
        on = business_date(container.clock.now()) if day is None else _day(day)
        report = run_maturity(
            uow_factory=container.uow,
            clock=container.clock,
            on=on,
            receipting=maturity_receipting(container),
        )
    finally:
        container.close()
    console.print(
        f"{report.business_date}: {report.processed} settled "
        f"({report.rolled_over} rolled over, {report.returned} returned), "
        f"{len(report.failures)} failed"
    )
    for holding_id, code in report.failures:
        console.print(f"  failed {holding_id}: {code}", style="red")
    if report.failures:
        raise typer.Exit(1)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as err:
        raise typer.BadParameter(f"{text!r} is not a date like 2026-03-02") from err
