"""The ``greenbank`` command line: thin Typer commands that call services.

Domain errors become one red line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from greenbank.cli import carbon, db, demo, deposits, doctor, keys, ledger, rewards, serve, staff
from greenbank.errors import GreenbankError

app = typer.Typer(
    name="greenbank",
    help="greenbank: personal carbon account and online deposit platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(ledger.app, name="ledger")
app.add_typer(keys.app, name="keys")
app.add_typer(demo.app, name="demo")
app.add_typer(deposits.app, name="deposits")
app.add_typer(staff.app, name="staff")
app.command("serve")(serve.serve)
app.command("doctor")(doctor.doctor)
app.add_typer(carbon.app, name="carbon")
app.add_typer(rewards.app, name="rewards")

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
