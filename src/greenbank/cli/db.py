"""``greenbank db``: migrate and inspect the database schema."""

from __future__ import annotations

import typer
from rich.console import Console

from greenbank.cli.context import open_container
from greenbank.db import connect_or_explain
from greenbank.migrations_runner import migration_status, upgrade

app = typer.Typer(help="Database schema: migrate to the latest version, show the current one.")
console = Console()


@app.command("upgrade")
def upgrade_cmd(
    revision: str = typer.Argument("heads", help="Target revision (default: the latest)."),
) -> None:
    """Apply every pending migration (safe to run again: it does nothing when up to date)."""
    container = open_container()
    with connect_or_explain(container.engine):
        pass
    upgrade(container.engine, revision)
    status = migration_status(container.engine)
    console.print(f"database at {', '.join(sorted(status.current))}")
    container.close()


@app.command("current")
def current_cmd() -> None:
    """Show the database's migration revision and whether it is the latest."""
    container = open_container()
    with connect_or_explain(container.engine):
        pass
    status = migration_status(container.engine)
    current = ", ".join(sorted(status.current)) or "(empty database)"
    state = "up to date" if status.at_head else f"pending: {', '.join(sorted(status.pending))}"
    console.print(f"{current} — {state}")
    container.close()
    if not status.at_head:
        raise typer.Exit(1)
