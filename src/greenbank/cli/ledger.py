"""``greenbank ledger``: verify the books, show a balance or a statement."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from greenbank.cli.context import open_container
from greenbank.ledger import commands
from greenbank.money import format_yuan

app = typer.Typer(help="The double-entry money ledger: verify, balances, statements.")
console = Console()


@app.command("verify")
def verify() -> None:
    """Recompute every balance from the postings; exit 1 on any difference."""
    container = open_container()
    try:
        report = commands.verify_ledger(uow_factory=container.uow)
    finally:
        container.close()
    table = Table(title="Ledger verification")
    for column in ("check", "result", "what it checks / problems"):
        table.add_column(column)
    for check in report.checks:
        details = "\n".join([check.description, *check.problems])
        if check.count > len(check.problems):
            details += f"\n... and {check.count - len(check.problems)} more"
        result = "[green]ok[/green]" if check.ok else f"[red]{check.count} problem(s)[/red]"
        table.add_row(check.name, result, details)
    console.print(table)
    console.print(
        f"{report.accounts} accounts, {report.entries} entries, {report.postings} postings: "
        + ("[green]ledger is clean[/green]" if report.ok else "[red]LEDGER HAS DIFFERENCES[/red]")
    )
    if not report.ok:
        raise typer.Exit(1)


@app.command("chart")
def chart() -> None:
    """Create the bank's chart of accounts if missing (idempotent) and list it."""
    container = open_container()
    try:
        accounts = commands.ensure_chart_of_accounts(
            uow_factory=container.uow, clock=container.clock
        )
    finally:
        container.close()
    table = Table(title="Chart of accounts")
    for column in ("code", "type", "name"):
        table.add_column(column)
    for account in accounts:
        table.add_row(account.code, account.type.value, account.name)
    console.print(table)


@app.command("balance")
def balance(
    account: str = typer.Argument(..., help="Account code, e.g. bank:card_clearing"),
) -> None:
    """Current, held and available balance of an account (CNY)."""
    container = open_container()
    try:
        out = commands.balance(uow_factory=container.uow, clock=container.clock, account=account)
    finally:
        container.close()
    console.print(
        f"{out.account} ({out.type.value}, {out.currency}): balance {format_yuan(out.balance_fen)}"
        f"  held {format_yuan(out.held_fen)}  available {format_yuan(out.available_fen)}",
        highlight=False,
    )


@app.command("statement")
def statement(
    account: str = typer.Argument(..., help="Account code"),
    limit: int = typer.Option(20, min=1, max=500, help="Lines per page"),
    cursor: str | None = typer.Option(None, help="Continue after this posting id"),
    oldest_first: bool = typer.Option(False, "--oldest-first", help="Oldest postings first"),
) -> None:
    """Postings of an account with the running balance, newest first."""
    container = open_container()
    try:
        page = commands.statement(
            uow_factory=container.uow,
            account=account,
            limit=limit,
            cursor=cursor,
            newest_first=not oldest_first,
        )
    finally:
        container.close()
    table = Table(title=f"Statement of {page.account}")
    for column in ("posting", "value date", "code", "description", "amount", "balance"):
        table.add_column(column, justify="right" if column in {"amount", "balance"} else "left")
    for line in page.lines:
        table.add_row(
            str(line.posting_id),
            line.value_date.isoformat(),
            line.entry_code,
            line.description,
            format_yuan(line.amount_fen),
            format_yuan(line.balance_after_fen),
        )
    console.print(table)
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}")
