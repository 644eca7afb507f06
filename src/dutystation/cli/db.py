"""``dutystation db``: the operational database's schema."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.text import Text

from dutystation.cli import app
from dutystation.settings import load_settings
from dutystation.store.db import is_current, make_engine, migrate

db_app = typer.Typer(help="The operational database: schema upgrades and status.")
app.add_typer(db_app, name="db")
console = Console(soft_wrap=True)


@db_app.command("upgrade")
def upgrade() -> None:
    """Bring the database schema to the current version (run after every upgrade)."""
    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    console.print(Text(f"schema is current ({engine.url.render_as_string(hide_password=True)})"))


@db_app.command("status")
def status() -> None:
    """Say whether the schema is current; exit 1 if it is not."""
    settings = load_settings()
    engine = make_engine(settings.resolved_database_url)
    url = engine.url.render_as_string(hide_password=True)
    if is_current(engine):
        console.print(Text(f"schema is current ({url})"))
    else:
        console.print(Text(f"schema needs `dutystation db upgrade` ({url})"))
        raise typer.Exit(1)
