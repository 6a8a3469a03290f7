"""``greenbank demo seed``: idempotent demo data for a local try-out."""

from __future__ import annotations

import importlib

import typer
from rich.console import Console

from greenbank.cli.context import open_container

app = typer.Typer(help="Demo data for trying greenbank locally.")
console = Console()

# Each module exposes ``seed(container) -> list[str]`` (what it created); running twice is a no-op.
SEED_MODULES: tuple[str, ...] = (
    "greenbank.demo",
    "greenbank.deposits.seed",
    "greenbank.rewards.seed",
    "greenbank.accounts.seed",
    "greenbank.carbon.seed",
)


@app.command("seed")
def seed() -> None:
    """Create demo data (customers, products, ...). Running it again changes nothing."""
    container = open_container()
    for name in SEED_MODULES:
        for line in importlib.import_module(name).seed(container):
            console.print(f"  {line}")
    console.print("demo data ready")
    container.close()
