"""``dutystation import KIND FILE...`` (filled in as the importers land)."""

from __future__ import annotations

import typer

from dutystation.cli import app

import_app = typer.Typer(help="Import org units, offices, the roster, T&A hours or badge events.")
app.add_typer(import_app, name="import")
