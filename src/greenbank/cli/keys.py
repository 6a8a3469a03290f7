"""``greenbank keys``: create the PII key store, show which key versions hold the data, rotate."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from greenbank.cli.context import load_settings, open_container
from greenbank.crypto import init_keys
from greenbank.keys import key_directory, key_status, rotate

app = typer.Typer(help="PII encryption keys: initialise, inspect, rotate.")
console = Console()


@app.command("init")
def init_cmd(
    directory: Path | None = typer.Option(
        None, "--dir", help="Key directory (default: GREENBANK_KEYS_DIR or <var_dir>/keys)."
    ),
) -> None:
    """Create a KEK, a blind-index key and data key version 1; never overwrites existing keys."""
    target = directory or key_directory(load_settings())
    init_keys(target)
    console.print(f"keys created in {target} (data key version 1); keep this directory secret")


@app.command("status")
def status_cmd() -> None:
    """Key versions, and how many tokens of each encrypted column each version sealed."""
    container = open_container()
    try:
        ring = container.keyring
        columns = key_status(container.engine, ring)
    finally:
        container.close()
    current = ring.current_version
    versions = range(1, current + 1)
    console.print(f"data key versions 1..{current}; new data is sealed with version {current}")
    table = Table("column", *(f"v{v}" for v in versions), "unreadable", "to rotate")
    for column in columns:
        stale = column.total - column.by_version.get(current, 0)
        table.add_row(
            f"{column.table}.{column.column}",
            *(str(column.by_version[v]) for v in versions),
            str(column.other),
            str(stale),
        )
    console.print(table)


@app.command("rotate")
def rotate_cmd(
    batch_size: int = typer.Option(1000, min=1, max=100_000, help="Rows per transaction."),
) -> None:
    """Re-encrypt every encrypted column under a new data key version, in short batches.

    Safe to stop and run again: an unfinished rotation is resumed, not restarted.
    """
    container = open_container()
    columns = TextColumn("[progress.description]{task.description}")
    progress = Progress(columns, BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with progress:
            task = progress.add_task("re-encrypting", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            report = rotate(
                container.engine, container.keyring, batch_size=batch_size, progress=advance
            )
    finally:
        container.close()
    how = "new version" if report.new_version else "resumed rotation to version"
    console.print(
        f"{how} {report.version}: {report.rotated} tokens re-encrypted in {report.batches} "
        f"batches, {report.seconds:.1f} s; {report.remaining} left under older versions"
    )
    if report.remaining:
        raise typer.Exit(1)
