"""Who a command acts for: ``--as USERNAME`` (or ``DUTYSTATION_AS``), shared by every
command that reads or changes something on someone's behalf.

The command line does not authenticate: whoever can run it against the database is
trusted as far as the database credentials go. ``--as`` names the user whose roles and
scopes the services apply, and whom the audit trail records (docs/access.md)."""

from __future__ import annotations

import typer

from dutystation.bootstrap import Runtime
from dutystation.domain.access import Actor
from dutystation.errors import ConfigError, NotFound
from dutystation.services.accounts import load_actor, user_count

AS_ENV = "DUTYSTATION_AS"
AS_OPTION = typer.Option(
    None,
    "--as",
    envvar=AS_ENV,
    show_envvar=True,
    help="Act as this user: their roles decide what the command may do, and the audit "
    "trail records them.",
)


def resolve_actor(runtime: Runtime, username: str | None) -> Actor:
    """The active user named by ``--as``; one sentence if it is missing or unknown."""
    if not username or not username.strip():
        raise ConfigError(f"say who is acting: give --as USERNAME or set {AS_ENV}")
    with runtime.engine.connect() as conn:
        try:
            return load_actor(conn, username, channel="cli")
        except NotFound:
            if user_count(conn) == 0:
                raise NotFound(
                    "no users exist yet; create the first administrator with "
                    "`dutystation users create NAME --role agency_admin --bootstrap`"
                ) from None
            raise
