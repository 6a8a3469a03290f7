"""``greenbank bus``: dead letters, replay and backlog — the bus console for operators."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from greenbank.bus import service
from greenbank.cli.context import open_container

app = typer.Typer(help="The event bus: dead letters, replay, backlog statistics.")
console = Console()


@app.command("dead-letters")
def dead_letters_cmd(
    limit: int = typer.Option(100, min=1, max=10_000, help="Show at most this many."),
) -> None:
    """List events that could not be routed and deliveries that ran out of attempts."""
    container = open_container()
    letters = service.dead_letters(uow_factory=container.uow, limit=limit)
    container.close()
    if not letters:
        console.print("no dead letters")
        return
    table = Table("event id", "type", "aggregate", "consumer", "attempts", "failed at", "error")
    for letter in letters:
        table.add_row(
            letter.event_id,
            f"{letter.event_type} v{letter.version}",
            f"{letter.aggregate_type}:{letter.aggregate_id}",
            letter.consumer or "(routing)",
            str(letter.attempts),
            (letter.failed_at or letter.created_at).isoformat(timespec="seconds"),
            (letter.last_error or "")[:120],
        )
    console.print(table)


@app.command("replay")
def replay_cmd(
    event_id: str = typer.Argument(..., help="The event id shown by `greenbank bus dead-letters`."),
    consumer: str | None = typer.Option(None, help="Only this consumer's dead delivery."),
) -> None:
    """Re-queue a dead letter; the dispatcher delivers it again with fresh attempts."""
    container = open_container()
    count = service.replay(
        uow_factory=container.uow,
        clock=container.clock,
        event_id=event_id,
        consumer=consumer,
        actor="cli",
    )
    container.close()
    console.print(f"re-queued {count} dead letter(s) of event {event_id}")


@app.command("stats")
def stats_cmd() -> None:
    """Events by status, deliveries by consumer and status, the oldest undelivered event."""
    container = open_container()
    stats = service.stats(uow_factory=container.uow)
    container.close()
    events = ", ".join(f"{k}={v}" for k, v in sorted(stats.events.items())) or "none"
    console.print(f"events: {events}")
    table = Table("consumer", "pending", "delivered", "dead")
    for name, counts in sorted(stats.deliveries.items()):
        table.add_row(name, *(str(counts.get(s, 0)) for s in ("pending", "delivered", "dead")))
    console.print(table)
    oldest = stats.oldest_pending_at
    console.print(f"oldest undelivered event: {oldest.isoformat() if oldest else 'none'}")
