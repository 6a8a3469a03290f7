"""``greenbank staff``: create (bootstraps the first admin), list and disable staff accounts.

Shell access to the server is the authority here, so no token is needed; each change is audited
with the operating-system user as actor (``cli:<user>``).
"""

from __future__ import annotations

import getpass
import sys

import typer
from rich.console import Console
from rich.table import Table

from greenbank.cli.context import open_container
from greenbank.identity import service, staff
from greenbank.identity.domain import Role, permissions_for
from greenbank.identity.errors import WeakPassword

app = typer.Typer(help="Staff accounts: create (also the first admin), list, disable.")
console = Console()


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "cli"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Repeat password", hide_input=True) != first:
        raise WeakPassword("the two passwords differ")
    return str(first)


@app.command("create")
def create(
    username: str = typer.Option(..., help="Login name: a-z first, then a-z, 0-9, . _ -"),
    role: list[Role] = typer.Option(..., "--role", help="A role; repeat for several."),
    display_name: str = typer.Option("", help="Shown name (default: the username)."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
) -> None:
    """Create an active staff account (the first one should hold the admin role)."""
    password = _read_password(password_stdin)
    container = open_container()
    try:
        user = staff.create(
            container.uow,
            container.clock,
            service.staff_policy(container),
            username=username,
            display_name=display_name,
            password=password,
            roles=[r.value for r in role],
            actor=_actor(),
        )
    finally:
        container.close()
    console.print(f"created {user.username} ({', '.join(user.role_names)})")


@app.command("list")
def list_cmd() -> None:
    """Every staff account with its roles, status and last sign-in."""
    container = open_container()
    try:
        users = staff.list_all(container.uow)
    finally:
        container.close()
    table = Table("username", "display name", "roles", "status", "last login", "permissions")
    for user in users:
        table.add_row(
            user.username,
            user.display_name,
            ", ".join(user.role_names),
            user.status,
            user.last_login_at.isoformat(timespec="seconds") if user.last_login_at else "-",
            str(len(permissions_for(user.role_names))),
        )
    console.print(table)


@app.command("disable")
def disable(username: str = typer.Argument(..., help="The account to disable.")) -> None:
    """Disable an account and revoke all its sessions (the last active admin cannot be)."""
    container = open_container()
    try:
        user = staff.set_status(
            container.uow,
            container.clock,
            username=username,
            status=staff.StaffStatus.DISABLED,
            actor=_actor(),
        )
    finally:
        container.close()
    console.print(f"disabled {user.username}; its sessions are revoked")
