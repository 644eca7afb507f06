"""``dutystation users``: accounts, roles, passwords, locks and API tokens. Thin: parse,
call ``services.accounts`` / ``role_grants`` / ``tokens``, print."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dutystation.bootstrap import bootstrap
from dutystation.cli import app
from dutystation.cli._actor import AS_OPTION, resolve_actor
from dutystation.domain.access import Grant, Role
from dutystation.errors import ConfigError
from dutystation.services import accounts, role_grants, tokens
from dutystation.services.account_rows import LOCKED_INDEFINITELY, UserInfo, roles_text

users_app = typer.Typer(help="Accounts: create, roles, passwords, locks and API tokens.")
token_app = typer.Typer(help="API tokens: create (shown once), list, revoke.")
users_app.add_typer(token_app, name="token")
app.add_typer(users_app, name="users")
console = Console(soft_wrap=True, highlight=False)
err_console = Console(stderr=True, soft_wrap=True, highlight=False)

USERNAME = typer.Argument(..., help="The account's username (case does not matter).")
SCOPE = typer.Option(
    None,
    "--scope",
    help="Org-unit code: the role covers that unit and every unit below it. Omit for the "
    "whole organisation. Supervisor roles take no scope (their scope is their reports).",
)
ROLE_NAMES = ", ".join(r.value for r in Role)
ROLES = typer.Option(None, "--role", help=f"A role to grant (repeatable): {ROLE_NAMES}.")
UNTIL = typer.Option(
    None,
    "--until",
    formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M"],
    help="End of the lock (UTC); default: until unlocked.",
)


@users_app.command("create")
def create(
    username: str = USERNAME,
    name: str | None = typer.Option(None, "--name", help="Display name (default: username)."),
    email: str | None = typer.Option(None, "--email", help="E-mail address."),
    employee: str | None = typer.Option(
        None, "--employee", help="HR employee id of the person this account belongs to."
    ),
    roles: list[str] | None = ROLES,
    scope: str | None = SCOPE,
    first: bool = typer.Option(
        False,
        "--bootstrap",
        help="Create the first administrator (agency_admin over the whole organisation); "
        "works only while no user exists, and needs no --as.",
    ),
    acting: str | None = AS_OPTION,
) -> None:
    """Create an account (no password yet: set one with set-password)."""
    runtime = bootstrap()
    parsed = [role_grants.parse_role(r) for r in roles or []]
    if first:
        if scope or employee or any(r is not Role.AGENCY_ADMIN for r in parsed):
            raise ConfigError(
                "--bootstrap creates an agency_admin over the whole organisation and nothing "
                "else; grant other roles and link an employee afterwards"
            )
        info = accounts.bootstrap_admin(runtime.engine, username, display_name=name, email=email)
        console.print(Text(f"created {info.username} ({', '.join(roles_text(info.grants))})"))
        return
    actor = resolve_actor(runtime, acting)
    grants = [Grant(r, scope) for r in parsed]
    info = accounts.create_user(
        runtime.engine,
        actor,
        username,
        display_name=name,
        email=email,
        employee_id=employee,
        grants=grants,
    )
    held = ", ".join(roles_text(info.grants)) or "no roles"
    console.print(Text(f"created {info.username} ({held})"))


@users_app.command("list")
def list_(acting: str | None = AS_OPTION) -> None:
    """The accounts you may see, with their roles and state."""
    runtime = bootstrap()
    actor = resolve_actor(runtime, acting)
    now = datetime.now(UTC)
    table = Table("username", "name", "employee", "roles", "state")
    for info in accounts.list_users(runtime.engine, actor):
        table.add_row(
            info.username,
            info.display_name,
            info.employee_id or "",
            ", ".join(roles_text(info.grants)),
            info.state(now),
        )
    console.print(table)


@users_app.command("show")
def show(username: str = USERNAME, acting: str | None = AS_OPTION) -> None:
    """One account: roles, employee, state, password set or not."""
    runtime = bootstrap()
    info = accounts.show_user(runtime.engine, resolve_actor(runtime, acting), username)
    for label, value in _details(info):
        console.print(Text(f"{label:<14}{value}"))


@users_app.command("grant")
def grant(
    username: str = USERNAME,
    role: str = typer.Argument(..., help=f"One of: {ROLE_NAMES}."),
    scope: str | None = SCOPE,
    acting: str | None = AS_OPTION,
) -> None:
    """Grant a role (ends the user's web sessions)."""
    runtime = bootstrap()
    actor = resolve_actor(runtime, acting)
    parsed = role_grants.parse_role(role)
    info = role_grants.grant_role(runtime.engine, actor, username, parsed, scope)
    console.print(Text(f"{info.username}: {', '.join(roles_text(info.grants))}"))


@users_app.command("revoke")
def revoke(
    username: str = USERNAME,
    role: str = typer.Argument(..., help=f"One of: {ROLE_NAMES}."),
    scope: str | None = SCOPE,
    acting: str | None = AS_OPTION,
) -> None:
    """Take a role away (ends the user's web sessions)."""
    runtime = bootstrap()
    actor = resolve_actor(runtime, acting)
    parsed = role_grants.parse_role(role)
    info = role_grants.revoke_role(runtime.engine, actor, username, parsed, scope)
    console.print(Text(f"{info.username}: {', '.join(roles_text(info.grants)) or 'no roles'}"))


@users_app.command("link")
def link(
    username: str = USERNAME,
    employee: str | None = typer.Argument(None, help="HR employee id; omit with --unlink."),
    unlink: bool = typer.Option(False, "--unlink", help="Link the account to no employee."),
    acting: str | None = AS_OPTION,
) -> None:
    """Link the account to its employee (self-service and supervisor scope need it)."""
    if bool(employee) == unlink:
        raise ConfigError("give either an employee id or --unlink")
    runtime = bootstrap()
    actor = resolve_actor(runtime, acting)
    info = accounts.link_employee(runtime.engine, actor, username, employee)
    console.print(Text(f"{info.username}: employee {info.employee_id or 'none'}"))


@users_app.command("set-password")
def set_password(
    username: str = USERNAME,
    from_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
    acting: str | None = AS_OPTION,
) -> None:
    """Set a password (asked for twice, hidden; ends the user's web sessions)."""
    runtime = bootstrap()
    actor = resolve_actor(runtime, acting)
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    accounts.set_password(runtime.engine, actor, username, password, settings=runtime.settings)
    console.print(Text(f"password set for {username.strip().lower()}"))


@users_app.command("lock")
def lock(
    username: str = USERNAME,
    until: datetime | None = UNTIL,
    acting: str | None = AS_OPTION,
) -> None:
    """Lock the account: no sign-in, and its sessions and API tokens end now."""
    runtime = bootstrap()
    actor = resolve_actor(runtime, acting)
    end = until.replace(tzinfo=UTC) if until else None
    info = accounts.lock_user(runtime.engine, actor, username, until=end)
    console.print(Text(f"{info.username} is locked {_lock_text(info)}"))


@users_app.command("unlock")
def unlock(username: str = USERNAME, acting: str | None = AS_OPTION) -> None:
    """Lift a lock (an administrator's, or one from failed sign-ins)."""
    runtime = bootstrap()
    info = accounts.unlock_user(runtime.engine, resolve_actor(runtime, acting), username)
    console.print(Text(f"{info.username} is unlocked"))


@users_app.command("deactivate")
def deactivate(username: str = USERNAME, acting: str | None = AS_OPTION) -> None:
    """Deactivate the account for good: no sign-in, no --as; history stays."""
    runtime = bootstrap()
    info = accounts.deactivate_user(runtime.engine, resolve_actor(runtime, acting), username)
    console.print(Text(f"{info.username} is deactivated"))


@token_app.command("create")
def token_create(
    username: str = USERNAME,
    name: str = typer.Option(..., "--name", help="What the token is for (e.g. 'nightly export')."),
    days: int = typer.Option(..., "--days", help="Lifetime in days (at most token_max_days)."),
    acting: str | None = AS_OPTION,
) -> None:
    """Create an API token. The secret goes to stdout, once: it cannot be shown again."""
    runtime = bootstrap()
    actor = resolve_actor(runtime, acting)
    new = tokens.create_token(
        runtime.engine, actor, username, name, days=days, settings=runtime.settings
    )
    err_console.print(
        Text(
            f"token {new.id} ({new.name}) for {username.strip().lower()}, expires "
            f"{new.expires_at:%Y-%m-%d %H:%M} UTC; store it now, it is not shown again:"
        )
    )
    print(new.secret)


@token_app.command("list")
def token_list(username: str = USERNAME, acting: str | None = AS_OPTION) -> None:
    """The user's tokens (never their secrets)."""
    runtime = bootstrap()
    found = tokens.list_tokens(runtime.engine, resolve_actor(runtime, acting), username)
    now = datetime.now(UTC)
    table = Table("id", "name", "prefix", "created", "expires", "last used", "state")
    for t in found:
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else ""
        table.add_row(str(t.id), t.name, t.prefix, f"{t.created_at:%Y-%m-%d}",
                      f"{t.expires_at:%Y-%m-%d}", used, t.state(now))  # fmt: skip
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: int = typer.Argument(..., help="The token's id (see `token list`)."),
    acting: str | None = AS_OPTION,
) -> None:
    """Revoke an API token: it stops working at once."""
    runtime = bootstrap()
    info = tokens.revoke_token(runtime.engine, resolve_actor(runtime, acting), token_id)
    console.print(Text(f"token {info.id} ({info.name}) of {info.username} is revoked"))


def _lock_text(info: UserInfo) -> str:
    if info.locked_until is None or info.locked_until >= LOCKED_INDEFINITELY:
        return "until unlocked"
    return f"until {info.locked_until:%Y-%m-%d %H:%M} UTC"


def _details(info: UserInfo) -> list[tuple[str, str]]:
    now = datetime.now(UTC)
    state = info.state(now)
    if state == "locked":
        state += " " + _lock_text(info)
    return [
        ("username", info.username),
        ("name", info.display_name),
        ("email", info.email or ""),
        ("employee", info.employee_id or "none"),
        ("roles", ", ".join(roles_text(info.grants)) or "none"),
        ("state", state),
        ("password", "set" if info.has_password else "not set"),
        ("created", f"{info.created_at:%Y-%m-%d %H:%M} UTC"),
    ]
