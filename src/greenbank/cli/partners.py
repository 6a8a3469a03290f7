"""``greenbank partners``: the platform signing key, onboarding from the shell, nonce purging."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from greenbank.cli.context import load_settings, open_container
from greenbank.partners import gateway, registry
from greenbank.partners.signing import (
    init_platform_key,
    platform_keys,
    retire_platform_key,
    rotate_platform_key,
)

app = typer.Typer(help="Open API partners: platform key, onboarding (maker-checker), upkeep.")
key_app = typer.Typer(help="The platform's SM2 key that signs answers and callbacks.")
app.add_typer(key_app, name="platform-key")
console = Console()


@key_app.command("init")
def key_init() -> None:
    """Create the first platform key in the key directory (production: once, at install)."""
    keys = init_platform_key(load_settings())
    console.print(f"platform key {keys.current.serial} created")


@key_app.command("rotate")
def key_rotate() -> None:
    """A new signing key; the old one keeps decrypting fields until retired."""
    keys = rotate_platform_key(load_settings())
    console.print(f"platform key {keys.current.serial} now signs; keep the old ones a while")


@key_app.command("retire")
def key_retire(serial: str) -> None:
    retire_platform_key(load_settings(), serial)
    console.print(f"platform key {serial} retired")


@key_app.command("show")
def key_show() -> None:
    """Print the platform public keys (PEM) for partners to pin."""
    keys = platform_keys(load_settings())
    for key in keys.by_serial.values():
        marker = " (current)" if key.serial == keys.current.serial else ""
        console.print(f"# serial_no {key.serial}{marker}", highlight=False)
        console.print(key.public_pem, end="", highlight=False, markup=False)


@app.command("create")
def create(
    partner_id: str,
    name: Annotated[str, typer.Option(help="Display name")],
    key: Annotated[Path, typer.Option(help="The partner's SM2 public key (PEM)")],
    scenario: Annotated[list[str], typer.Option(help="A scenario it may report (repeat)")],
    actor: Annotated[str, typer.Option(help="Who proposes (the maker)")],
    production: Annotated[bool, typer.Option(help="Production instead of sandbox")] = False,
    rate_limit: Annotated[int, typer.Option(help="Requests per minute")] = 600,
) -> None:
    """Propose a partner; another person approves it with ``approve``."""
    container = open_container()
    try:
        view = registry.create(
            container,
            actor=actor,
            partner_id=partner_id,
            profile=registry.Profile(
                name=name,
                sandbox=not production,
                scenarios=scenario,
                rate_limit_per_minute=rate_limit,
            ),
            public_key_pem=key.read_text(),
        )
    finally:
        container.close()
    console.print(f"partner {view.id} proposed; key {view.keys[0].serial_no}; awaiting approval")


@app.command("approve")
def approve(
    partner_id: str, actor: Annotated[str, typer.Option(help="Who approves (the checker)")]
) -> None:
    container = open_container()
    try:
        view = registry.approve(container, actor=actor, partner_id=partner_id)
    finally:
        container.close()
    console.print(f"partner {view.id} is {view.status}")


@app.command("list")
def list_partners() -> None:
    container = open_container()
    try:
        views = registry.list_all(container)
    finally:
        container.close()
    table = Table(title="Partners")
    for column in ("id", "name", "status", "mode", "scenarios", "keys", "rate/min"):
        table.add_column(column)
    for v in views:
        active = sum(1 for k in v.keys if k.status == "active")
        table.add_row(
            v.id,
            v.name,
            v.status,
            "sandbox" if v.sandbox else "production",
            ", ".join(v.scenarios),
            str(active),
            str(v.rate_limit_per_minute),
        )
    console.print(table)


@app.command("purge-nonces")
def purge_nonces() -> None:
    """Forget nonces older than the replay window (safe to run any time, e.g. from cron)."""
    container = open_container()
    try:
        count = gateway.purge_nonces(container)
    finally:
        container.close()
    console.print(f"{count} expired nonces removed")
