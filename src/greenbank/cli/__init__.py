"""The ``greenbank`` command line: thin Typer commands that call services.

Domain errors become one red line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from greenbank.cli import (
    accounts,
    aml,
    bus,
    carbon,
    db,
    demo,
    deposits,
    doctor,
    funds,
    keys,
    ledger,
    partners,
    receipts,
    rewards,
    serve,
    staff,
    worker,
)
from greenbank.errors import GreenbankError

app = typer.Typer(
    name="greenbank",
    help="greenbank: personal carbon account and online deposit platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(ledger.app, name="ledger")
app.add_typer(demo.app, name="demo")
app.add_typer(deposits.app, name="deposits")
app.add_typer(staff.app, name="staff")
app.command("serve")(serve.serve)
app.command("doctor")(doctor.doctor)
app.add_typer(bus.app, name="bus")
app.add_typer(receipts.pki_app, name="pki")
app.add_typer(receipts.app, name="receipts")
app.command("worker")(worker.worker)
app.add_typer(accounts.app, name="accounts")
app.add_typer(partners.app, name="partners")
app.add_typer(funds.app, name="funds")
app.add_typer(aml.app, name="aml")
app.add_typer(rewards.app, name="rewards")
app.add_typer(carbon.app, name="carbon")

_err = Console(stderr=True)


def main() -> None:
    """Entry point for the console script and ``python -m greenbank``."""
    try:
        app()
    except GreenbankError as err:
        _err.print(
            f"error [{err.code}] {err.detail}",
            style="red",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(2)
