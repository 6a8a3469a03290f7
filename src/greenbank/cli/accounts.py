"""``greenbank accounts``: account-opening operations — the sandbox identities, the review
queue and the blacklist (the same services the staff API calls, audited the same way)."""

from __future__ import annotations

import getpass

import typer
from rich.console import Console
from rich.table import Table

from greenbank.accounts import review, wiring
from greenbank.accounts.models import ApplicationState, BlacklistKind
from greenbank.accounts.sandbox import SANDBOX_PEOPLE
from greenbank.cli.context import open_container
from greenbank.crypto import mask_id_number, mask_name

app = typer.Typer(help="Class II account opening: sandbox people, review queue, blacklist.")
console = Console()


def _actor(by: str | None) -> str:
    return by or f"cli:{getpass.getuser()}"


@app.command("sandbox-people")
def sandbox_people() -> None:
    """The sandbox test identities and how each one's checks turn out."""
    table = Table("key", "name", "ID number", "card", "bank mobile", "outcome")
    for person in SANDBOX_PEOPLE:
        table.add_row(
            person.key,
            person.card.name,
            person.card.id_number,
            person.card_number,
            person.bank_mobile or "(other on record)",
            person.outcome,
        )
    console.print(table)


@app.command("applications")
def applications(
    state: ApplicationState | None = typer.Option(None, help="e.g. in_review"),
    limit: int = typer.Option(50, min=1, max=500),
) -> None:
    """Applications, newest first (personal data masked)."""
    container = open_container()
    rows, total = review.list_applications(
        wiring.onboarding(container), state=state.value if state else None, limit=limit
    )
    table = Table("id", "state", "name", "ID number", "refusal", "created")
    for row in rows:
        table.add_row(
            row.id,
            row.state,
            mask_name(row.name) if row.name else "",
            mask_id_number(row.id_number) if row.id_number else "",
            row.refusal_code or "",
            row.created_at.isoformat(timespec="seconds"),
        )
    console.print(table)
    console.print(f"{len(rows)} of {total}")
    container.close()


@app.command("review")
def decide(
    application_id: str,
    approve: bool = typer.Option(..., "--approve/--refuse"),
    reason: str = typer.Option(..., help="Why (kept in the audit trail)"),
    by: str | None = typer.Option(None, "--by", help="Reviewer (default: cli:<os user>)"),
) -> None:
    """Approve (the account opens) or refuse an application in review."""
    container = open_container()
    decision = review.ReviewDecision.APPROVE if approve else review.ReviewDecision.REFUSE
    done = review.decide(
        wiring.onboarding(container),
        application_id=application_id,
        decision=decision,
        reason=reason,
        staff=_actor(by),
    )
    console.print(f"application {done.id}: {done.state}")
    container.close()


@app.command("blacklist-add")
def blacklist_add(
    kind: BlacklistKind,
    value: str,
    reason: str = typer.Option(..., help="Why (kept in the audit trail)"),
    by: str | None = typer.Option(None, "--by"),
) -> None:
    """Bar an ID number, card, phone, device fingerprint or IP from opening accounts."""
    container = open_container()
    entry = review.add_to_blacklist(
        wiring.onboarding(container), kind=kind, value=value, reason=reason, staff=_actor(by)
    )
    console.print(f"blacklisted {entry.kind} {entry.label}")
    container.close()
