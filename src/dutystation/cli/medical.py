"""``dutystation medical``: keeping the medical store (key rotation, removing files no
request refers to). Operator commands, like ``db upgrade``: whoever runs them holds the
key file and the database credentials; they are audited as the system."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.text import Text

from dutystation.bootstrap import bootstrap
from dutystation.cli import app
from dutystation.services import medical_store
from dutystation.services.medical_rotation import rotate
from dutystation.store.db import write_transaction

medical_app = typer.Typer(help="The encrypted medical store: key rotation and clean-up.")
app.add_typer(medical_app, name="medical")
console = Console(soft_wrap=True)


@medical_app.command("rotate-key")
def rotate_key(
    reseal_only: bool = typer.Option(
        False,
        "--reseal-only",
        help="Do not add a key: the first line of the key file is already the new one "
        "(a read-only secret mount).",
    ),
) -> None:
    """Seal everything in the medical store under a new key (see docs/documents.md)."""
    runtime = bootstrap()
    result = rotate(runtime.engine, runtime.settings, add_new_key=not reseal_only)
    added = "added new key" if result.added_key else "current key"
    console.print(
        Text(
            f"{added} {result.key_id}: re-sealed {result.records_resealed} records, "
            f"{result.documents_resealed} document rows, {result.files_resealed} files; "
            f"{result.rows_under_old_keys} rows still under older keys"
        )
    )
    if result.rows_under_old_keys == 0:
        console.print(
            Text(
                "older key lines may now be removed; `dutystation medical sweep` deletes old files"
            )
        )


@medical_app.command("sweep")
def sweep(
    grace_minutes: int = typer.Option(
        60, min=0, help="Spare files written within this many minutes (uploads in flight)."
    ),
) -> None:
    """Delete sealed document files that no request refers to any more."""
    runtime = bootstrap()
    with write_transaction(runtime.engine) as conn:
        removed = medical_store.sweep(conn, runtime.settings, grace_seconds=grace_minutes * 60)
    console.print(Text(f"removed {removed} unreferenced medical document files"))
