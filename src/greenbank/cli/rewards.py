"""``greenbank rewards``: the nightly perks run and the exports for the card system."""

from __future__ import annotations

import csv
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path

import typer
from rich.console import Console

from greenbank.cli.context import open_container
from greenbank.clock import SHANGHAI, FixedClock, business_date
from greenbank.rewards import perks
from greenbank.rewards.domain import CODED_KINDS, PerkKind

app = typer.Typer(help="Points mall, donations, perks, calculator, quizzes.")
console = Console()


@app.command("evaluate-perks")
def evaluate_perks(
    on: datetime | None = typer.Option(
        None, "--date", formats=["%Y-%m-%d"], help="Business date (default: today)"
    ),
) -> None:
    """Evaluate every active perk rule for every carbon-account customer (the nightly job)."""
    container = open_container()
    clock = container.clock
    if on is not None:  # evaluate as of that Shanghai business date, at noon
        clock = FixedClock(datetime.combine(on.date(), time(12), SHANGHAI).astimezone(UTC))
    result = perks.evaluate_all(uow=container.uow, clock=clock)
    console.print(
        f"{result.rules} active rules, {result.customers} customers, "
        f"{result.granted} rights granted"
    )
    container.close()


def _export(kinds: list[PerkKind], on: date | None, out: Path | None, columns: list[str]) -> None:
    container = open_container()
    day = on or business_date(container.clock.now())
    rows = perks.export_grants(uow=container.uow, kinds=kinds, on=day)
    container.close()
    handle = out.open("w", newline="", encoding="utf-8") if out else sys.stdout
    writer = csv.writer(handle)
    writer.writerow(["customer_id", "kind", "right_id", "valid_from", "valid_until", *columns])
    for row in rows:
        extra = [row.coupon_code if c == "coupon_code" else row.params.get(c, "") for c in columns]
        writer.writerow(
            [row.customer_id, row.kind, row.id, row.valid_from, row.valid_until, *extra]
        )
    if out:
        handle.close()
        console.print(f"{len(rows)} rows written to {out}")


DateOption = typer.Option(None, "--date", formats=["%Y-%m-%d"], help="Valid on (default: today)")
OutOption = typer.Option(None, "--out", help="CSV file (default: stdout)")


@app.command("export-credit-upgrades")
def export_credit_upgrades(on: datetime | None = DateOption, out: Path | None = OutOption) -> None:
    """The credit-limit-upgrade eligibility list for the card system (CSV)."""
    _export(
        [PerkKind.CREDIT_LIMIT_UPGRADE],
        on.date() if on else None,
        out,
        ["suggested_increase_fen"],
    )


@app.command("export-card-coupons")
def export_card_coupons(on: datetime | None = DateOption, out: Path | None = OutOption) -> None:
    """Instalment-fee and payment discount coupon codes for the card system (CSV)."""
    columns = ["coupon_code", "discount_percent", "max_instalments", "amount_off_fen"]
    _export(sorted(CODED_KINDS), on.date() if on else None, out, [*columns, "min_spend_fen"])
