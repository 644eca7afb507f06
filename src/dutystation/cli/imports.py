"""``dutystation import KIND FILE...``: load org units, offices, the roster, T&A hours or
badge events. Each run lands whole or not at all, and re-running it changes nothing."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from dutystation.analytics.cores import keep_to_cores, lower_priority
from dutystation.bootstrap import bootstrap
from dutystation.cli import app
from dutystation.cli.progress import progress_for
from dutystation.errors import ImportRejected
from dutystation.ingest.fields import ImportKind
from dutystation.ingest.summary import ImportSummary
from dutystation.services.importing import ImportOptions, run_import

import_app = typer.Typer(
    help=(
        "Import org units, offices, the roster, T&A hours or badge events. Files may be CSV "
        "(any common encoding and delimiter, optionally .gz), XLSX or Parquet; columns are "
        "mapped by --profile (default: the generic column names in docs/importing.md). "
        "Rows that fail validation go to a quarantine file and nothing is stored unless "
        "--accept-partial is given. An import runs at a lower CPU priority than the shell "
        "(import_nice, default 10) and on import_cpus cores (docs/configuration.md)."
    ),
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

FILES = typer.Argument(..., exists=False, help="One or more files, imported as one batch.")
PROFILE = typer.Option(
    None, "--profile", "-p", help="Column-mapping profile (TOML or YAML); see docs/profiles.md."
)
ACCEPT_PARTIAL = typer.Option(
    False, "--accept-partial", help="Store the valid rows even if some rows are rejected."
)
QUIET = typer.Option(False, "--quiet", "-q", help="No progress bar and no summary on success.")


def _run(kind: ImportKind, files: list[Path], options: ImportOptions, quiet: bool) -> ImportSummary:
    runtime = bootstrap()
    # Before the progress bar's, the read-ahead's, DuckDB's and Arrow's threads start:
    # they inherit the priority and the cores.
    lower_priority(runtime.settings.import_nice)
    if runtime.settings.import_cpus is not None:
        keep_to_cores(runtime.settings.import_cpus)
    progress = progress_for(err_console, quiet)
    try:
        summary = run_import(runtime, kind, files, options, progress)
    except ImportRejected:
        progress.finish()
        raise
    progress.finish()
    if not quiet:
        _print_summary(summary)
    return summary


def _print_summary(summary: ImportSummary) -> None:
    line = (
        f"{summary.kind}: {summary.rows_read:,} rows read, {summary.rows_stored:,} stored, "
        f"{summary.duplicates:,} already present or repeated, "
        f"{summary.rows_rejected:,} rejected"
    )
    if summary.batch_id:
        line += f" (batch {summary.batch_id})"
    console.print(Text(line))
    for rejection in summary.rejections:
        where = f"{rejection.first_file} line {rejection.first_line}"
        column = f", column {rejection.column}" if rejection.column else ""
        console.print(
            Text(f"  {rejection.count:,} rows: {rejection.message} (first at {where}{column})")
        )
    for note in summary.notes:
        console.print(Text(f"  {note}"))
    if summary.quarantine_file:
        console.print(Text(f"  rejected rows are in {summary.quarantine_file}"))


@import_app.command("org-units")
def import_org_units(
    files: list[Path] = FILES,
    profile: Path | None = PROFILE,
    accept_partial: bool = ACCEPT_PARTIAL,
    quiet: bool = QUIET,
) -> None:
    """Org units as a tree: org_unit, name, parent, kind."""
    _run(ImportKind.ORG_UNITS, files, ImportOptions(profile, accept_partial), quiet)


@import_app.command("offices")
def import_offices(
    files: list[Path] = FILES,
    profile: Path | None = PROFILE,
    accept_partial: bool = ACCEPT_PARTIAL,
    quiet: bool = QUIET,
) -> None:
    """Offices: site_id, name, zip, latitude, longitude, timezone, seats, org_unit, ..."""
    _run(ImportKind.OFFICES, files, ImportOptions(profile, accept_partial), quiet)


@import_app.command("roster")
def import_roster(
    files: list[Path] = FILES,
    profile: Path | None = PROFILE,
    accept_partial: bool = ACCEPT_PARTIAL,
    snapshot: bool = typer.Option(
        False,
        "--snapshot",
        help="The file is the whole roster as of its effective date: employees missing "
        "from it are separated from that date.",
    ),
    confirm: bool = typer.Option(
        False,
        "--confirm",
        help="Apply a snapshot that would separate more than 10 %% or move more than 20 %% "
        "of employees (otherwise it is held; the shares are settings, docs/configuration.md).",
    ),
    quiet: bool = QUIET,
) -> None:
    """Employees with effective-dated history: a row dated D holds from D on."""
    options = ImportOptions(profile, accept_partial, snapshot=snapshot, confirm=confirm)
    _run(ImportKind.ROSTER, files, options, quiet)


@import_app.command("timecards")
def import_timecards(
    files: list[Path] = FILES,
    profile: Path | None = PROFILE,
    accept_partial: bool = ACCEPT_PARTIAL,
    quiet: bool = QUIET,
) -> None:
    """T&A hours per employee, day and code (on site, telework, remote, field, leave...)."""
    _run(ImportKind.TIMECARDS, files, ImportOptions(profile, accept_partial), quiet)


@import_app.command("badges")
def import_badges(
    files: list[Path] = FILES,
    profile: Path | None = PROFILE,
    accept_partial: bool = ACCEPT_PARTIAL,
    quiet: bool = QUIET,
) -> None:
    """Badge events, one row per swipe: employee_id or badge_id, timestamp, site_id, direction."""
    _run(ImportKind.BADGES, files, ImportOptions(profile, accept_partial), quiet)
