"""``greenbank carbon``: scenarios and methodology versions, re-computation with a progress bar,
and the simulated card and bill systems that publish behaviour events on the bus."""

from __future__ import annotations

from enum import StrEnum

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from greenbank.bus import Event, publish
from greenbank.bus.consumers import REGISTRY, ConsumerRegistry, load_bus_modules
from greenbank.bus.dispatcher import Dispatcher
from greenbank.carbon import methodologies_admin, queries, recomputation
from greenbank.carbon.consumers import CREDIT_CONSUMER
from greenbank.carbon.events import ECreditCardApplied, EStatementOptedIn, UtilityPaid
from greenbank.carbon.schemas import grams
from greenbank.cli.context import open_container
from greenbank.ids import new_id

app = typer.Typer(help="Carbon account: scenarios, re-computation, simulated bank systems.")
console = Console()


@app.command("scenarios")
def scenarios(
    scenario: str | None = typer.Option(None, help="Only this scenario."),
) -> None:
    """List every methodology version with its status (provisional factors are flagged)."""
    container = open_container()
    views = methodologies_admin.list_methodologies(container.uow, scenario=scenario)
    container.close()
    table = Table("scenario", "version", "name", "status", "effective from", "provisional", "by")
    for v in views:
        table.add_row(
            v.scenario,
            str(v.version),
            v.name,
            v.status,
            v.effective_from.isoformat(),
            "yes" if v.provisional else "",
            f"{v.created_by} / {v.approved_by or '-'}",
        )
    console.print(table)


@app.command("recompute")
def recompute(
    scenario: str = typer.Option(..., help="Scenario code, e.g. online_deposit."),
    version: int = typer.Option(..., min=1, help="The published version to apply."),
    batch: int = typer.Option(200, min=1, help="Customers per transaction."),
    actor: str = typer.Option("cli", help="Who runs it (audit trail)."),
) -> None:
    """Re-compute credited history under a published version; resumable (run it again)."""
    container = open_container()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"{scenario} v{version}", total=None)

        def step(view: recomputation.RunView) -> None:
            bar.update(task, total=view.total_events, completed=view.events_seen)

        done = recomputation.run(
            container.uow,
            container.clock,
            scenario=scenario,
            version=version,
            actor=actor,
            batch_customers=batch,
            on_batch=step,
        )
    changes = recomputation.change_report(container.uow, done.id)
    container.close()
    console.print(
        f"{done.status}: {done.events_seen} events seen, {done.adjusted} adjusted, "
        f"{done.failures} kept (refused by the new version), delta {grams(done.delta_mg)} g, "
        f"{len(changes)} customers changed (run {done.id})"
    )


class Utility(StrEnum):
    WATER = "water"
    ELECTRICITY = "electricity"
    GAS = "gas"


class Kind(StrEnum):
    E_STATEMENT = "e-statement"
    UTILITY = "utility"
    E_CARD = "e-card"


@app.command("simulate")
def simulate(
    kind: Kind = typer.Argument(..., help="Which simulated bank system reports the behaviour."),
    customer: str = typer.Option(..., help="Customer id."),
    utility: Utility = typer.Option(Utility.ELECTRICITY, help="For a utility payment."),
    deliver: bool = typer.Option(True, help="Deliver now instead of waiting for a worker."),
) -> None:
    """Publish an event from the simulated card / bill-payment systems on the bus."""
    container = open_container()
    now = container.clock.now()
    ref = new_id()
    event: Event
    if kind is Kind.E_STATEMENT:
        event = EStatementOptedIn(customer_id=customer, statement_account=ref, opted_in_at=now)
    elif kind is Kind.UTILITY:
        event = UtilityPaid(
            customer_id=customer,
            payment_id=ref,
            utility=utility.value,
            amount_fen=10_000,
            paid_at=now,
        )
    else:
        event = ECreditCardApplied(customer_id=customer, application_id=ref, applied_at=now)
    with container.uow() as uow:
        event_id = publish(
            uow.session,
            event,
            aggregate_type="carbon-sim",
            aggregate_id=customer,
            clock=container.clock,
        )
        uow.commit()
    console.print(f"published {event.type} ({event_id})")
    if deliver:
        load_bus_modules()
        credit = REGISTRY.get(CREDIT_CONSUMER)
        assert credit is not None
        Dispatcher(container, consumers=ConsumerRegistry([credit])).drain()
        summary = queries.summary(container.uow, container.clock, customer_id=customer)
        console.print(
            f"{customer}: lifetime {grams(summary.lifetime_mg)} g, {summary.points_balance} points"
        )
    container.close()
