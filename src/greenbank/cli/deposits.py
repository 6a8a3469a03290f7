"""``greenbank deposits``: the staff side of the product catalogue until staff HTTP routes exist.

Amounts are typed in yuan ('50', '200000.00'), rates in percent ('1.50'); each command calls one
catalogue service function, which audits it.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from datetime import UTC, date, datetime

import typer
from rich.console import Console
from rich.table import Table

from greenbank.bootstrap import Container
from greenbank.cli.context import open_container
from greenbank.cli.deposits_ops import run_maturity_command
from greenbank.clock import SHANGHAI
from greenbank.db import UowFactory
from greenbank.deposits import catalogue
from greenbank.deposits.domain import BelowMinimum, DayCount, ProductKind, Term, percent
from greenbank.deposits.models import DEMAND_SERIES, Product, ProductSpec
from greenbank.deposits.schemas import rate_percent
from greenbank.money import format_yuan, parse_yuan

app = typer.Typer(help="Deposit products: list, create, post rates, publish, pause, retire.")
console = Console()

ByOption = typer.Option(None, "--by", help="Staff member responsible (default: cli:<os user>).")


def _actor(by: str | None) -> str:
    return by or f"cli:{getpass.getuser()}"


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as err:
        raise typer.BadParameter(f"{text!r} is not a date like 2026-03-02") from err


def _instant(text: str | None) -> datetime | None:
    """An ISO date-time; without an offset it is Beijing time."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as err:
        raise typer.BadParameter(f"{text!r} is not a date-time like 2026-03-02T09:00") from err
    return (value if value.tzinfo else value.replace(tzinfo=SHANGHAI)).astimezone(UTC)


def _yuan(text: str | None) -> int | None:
    return None if text is None else parse_yuan(text)


def _run(action: Callable[[UowFactory, Container], Product], verb: str) -> None:
    container = open_container()
    try:
        product = action(container.uow, container)
    finally:
        container.close()
    console.print(f"{product.code} {verb}: {product.status.value}")


@app.command("products")
def products() -> None:
    """Every product with today's rate, status and quota."""
    container = open_container()
    try:
        listings = catalogue.list_products(uow=container.uow, clock=container.clock)
    finally:
        container.close()
    table = Table("code", "name", "kind", "term", "rate %", "status", "on sale", "green", "quota")
    for item in listings:
        p = item.product
        quota = "-" if p.total_quota_fen is None else f"{format_yuan(p.quota_used_fen)} / "
        quota += "" if p.total_quota_fen is None else format_yuan(p.total_quota_fen)
        table.add_row(
            p.code,
            p.name,
            p.kind.value,
            p.term.label,
            "-" if item.rate is None else rate_percent(item.rate),
            p.status.value,
            "yes" if item.on_sale else "no",
            "yes" if p.green else "",
            quota,
        )
    console.print(table)


@app.command("create")
def create(
    code: str = typer.Option(..., help="Unique code, e.g. TD-1Y."),
    name: str = typer.Option(..., help="Name customers see."),
    kind: str = typer.Option("time_deposit", help="time_deposit or large_cd."),
    term: str = typer.Option(..., help="1m, 3m, 6m, 9m, 1y, 18m, 2y, 3y or 5y."),
    minimum: str = typer.Option("50", help="Minimum amount, yuan."),
    step: str = typer.Option("1", help="Step above the minimum, yuan."),
    maximum: str | None = typer.Option(None, help="Maximum amount, yuan (default none)."),
    quota: str | None = typer.Option(None, help="Total quota, yuan (default unlimited)."),
    per_customer: str | None = typer.Option(None, help="Per-customer limit, yuan."),
    sale_start: str | None = typer.Option(None, help="Sale start, ISO (default now)."),
    sale_end: str | None = typer.Option(None, help="Sale end, ISO (default open)."),
    partial: bool = typer.Option(True, help="Allow one partial early withdrawal."),
    below_minimum: str = typer.Option("refuse", help="refuse or close."),
    rollover: bool = typer.Option(True, help="Allow automatic rollover at maturity."),
    return_to_balance: bool = typer.Option(True, help="Allow return to balance at maturity."),
    day_count: str = typer.Option("years_months_days", help="Day-count convention."),
    green: bool = typer.Option(False, help="Eligible for the carbon-account rate bonus."),
    disclosure: str = typer.Option("", help="Disclosure; the 存款保险 statement is appended."),
    by: str | None = ByOption,
) -> None:
    """Create a product in draft."""
    try:
        settings = (ProductKind(kind), BelowMinimum(below_minimum), DayCount(day_count))
    except ValueError as err:
        raise typer.BadParameter(str(err)) from err

    def action(uow: UowFactory, container: Container) -> Product:
        spec = ProductSpec(
            code=code,
            name=name,
            kind=settings[0],
            term=Term.parse(term),
            minimum_fen=parse_yuan(minimum),
            step_fen=parse_yuan(step),
            maximum_fen=_yuan(maximum),
            total_quota_fen=_yuan(quota),
            per_customer_limit_fen=_yuan(per_customer),
            sale_start=_instant(sale_start) or container.clock.now(),
            sale_end=_instant(sale_end),
            partial_withdrawal_allowed=partial,
            below_minimum=settings[1],
            rollover_allowed=rollover,
            return_to_balance_allowed=return_to_balance,
            day_count=settings[2],
            green=green,
            disclosure=disclosure,
        )
        return catalogue.create_product(uow=uow, clock=container.clock, actor=_actor(by), spec=spec)

    _run(action, "created")


@app.command("post-rate")
def post_rate(
    target: str = typer.Argument(..., help="Product code, or 'demand' for the demand rate."),
    rate: str = typer.Argument(..., help="Annual rate in percent, e.g. 1.50."),
    effective_from: str | None = typer.Option(None, help="First day, YYYY-MM-DD (default today)."),
    by: str | None = ByOption,
) -> None:
    """Post a rate from a day on; holdings keep the rate of their value date."""
    container = open_container()
    uow, clock, actor, day = container.uow, container.clock, _actor(by), _day(effective_from)
    try:
        if target == DEMAND_SERIES:
            posting = catalogue.post_demand_rate(
                uow=uow, clock=clock, actor=actor, rate=percent(rate), effective_from=day
            )
        else:
            posting = catalogue.post_product_rate(
                uow=uow,
                clock=clock,
                actor=actor,
                code=target,
                rate=percent(rate),
                effective_from=day,
            )
    finally:
        container.close()
    console.print(f"{target} {rate_percent(posting.rate)}% from {posting.effective_from}")


def _status_command(
    service: Callable[..., Product], verb: str
) -> Callable[[str, str | None], None]:
    def command(
        code: str = typer.Argument(..., help="Product code."), by: str | None = ByOption
    ) -> None:
        _run(lambda uow, c: service(uow=uow, clock=c.clock, actor=_actor(by), code=code), verb)

    command.__doc__ = service.__doc__
    return command


app.command("publish")(_status_command(catalogue.publish_product, "published"))
app.command("pause")(_status_command(catalogue.pause_product, "paused"))
app.command("retire")(_status_command(catalogue.retire_product, "retired"))
app.command("run-maturity")(run_maturity_command)
