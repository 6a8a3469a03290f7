"""``greenbank funds``: the jobs of the closed fund loop (run them from cron or a scheduler)."""

from __future__ import annotations

import typer
from rich.console import Console

from greenbank.accounts import states
from greenbank.accounts.funds_policy import runtime
from greenbank.accounts.settlement import settle_due
from greenbank.cli.context import open_container

app = typer.Typer(help="Top-ups and withdrawals: settle with the card rail, restrict expired IDs.")
console = Console()


@app.command("settle")
def settle(limit: int = typer.Option(200, min=1, max=10_000)) -> None:
    """Ask the card rail about every transfer still processing and apply its answers."""
    container = open_container()
    try:
        done = settle_due(container.uow, runtime(container.settings, container.clock), limit=limit)
    finally:
        container.close()
    counts: dict[str, int] = {}
    for transfer in done:
        counts[transfer.status] = counts.get(transfer.status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing due"
    console.print(f"{len(done)} transfer(s) asked about: {summary}")


@app.command("restrict-expired")
def restrict_expired() -> None:
    """Restrict every active account whose holder's ID validity has ended (daily job)."""
    container = open_container()
    try:
        restricted = states.restrict_expired_ids(container.uow, container.clock, actor="cli")
    finally:
        container.close()
    console.print(f"{len(restricted)} account(s) restricted")
    for account_id in restricted:
        console.print(f"  {account_id}")
