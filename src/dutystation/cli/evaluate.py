"""``dutystation evaluate``: the evaluation snapshot that the web and the API read
(docs/evaluation.md, "The snapshot"). Thin: parse, call ``services.snapshot``, print."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from dutystation.bootstrap import Runtime, bootstrap
from dutystation.cli import app
from dutystation.cli._actor import AS_OPTION, resolve_actor
from dutystation.domain.access import SYSTEM, Actor
from dutystation.services.disclosures import Stated, stated
from dutystation.services.evaluate import EvaluationRequest
from dutystation.services.evaluation_export import export_evaluation, export_request
from dutystation.services.progress import NullProgress
from dutystation.services.progress import Progress as ProgressProtocol
from dutystation.services.snapshot import SnapshotSummary, refresh_snapshot
from dutystation.store.db import translate_errors
from dutystation.store.snapshot_rows import current

console = Console(soft_wrap=True, highlight=False)


class StepProgress:
    """A Rich bar for the refresh: its steps, then the rows stored. ``total_bytes`` and
    ``bytes_done`` count whatever the step counts (steps, then rows)."""

    def __init__(self, out: Console) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
            TimeElapsedColumn(),
            console=out,
            transient=True,
        )
        self._task: TaskID | None = None

    def start(self, description: str, total_bytes: int | None) -> None:
        if self._task is None:
            self._bar.start()
            self._task = self._bar.add_task(description, total=total_bytes)
        elif self._bar.tasks[0].total == total_bytes:  # the next step of the same count
            self._bar.update(self._task, description=description)
        else:
            self._bar.reset(self._task, total=total_bytes, description=description)

    def advance(self, *, rows: int, bytes_done: int) -> None:
        if self._task is not None:
            self._bar.update(self._task, completed=bytes_done)

    def finish(self) -> None:
        pass  # the bar is reused by the next step; stopped by close()

    def close(self) -> None:
        self._bar.stop()


REFRESH = typer.Option(
    False,
    "--refresh",
    help="Evaluate the evidence again and replace the snapshot the web and API read.",
)
START = typer.Option(
    None, "--from", formats=["%Y-%m-%d"], help="First day (default: the first evidence)."
)
END = typer.Option(
    None, "--to", formats=["%Y-%m-%d"], help="Last day (default: the last evidence)."
)
QUIET = typer.Option(False, "--quiet", "-q", help="No progress bar.")
EXPORT = typer.Option(
    None,
    "--export",
    dir_okay=False,
    help="Write every employee-period row of the evaluation to this .parquet or .csv file "
    "(streamed: any range fits in memory). Recorded in the disclosure ledger of everyone "
    "it names (docs/privacy.md).",
)
ORG = typer.Option(None, "--org", help="--export: only this org unit and the units below it.")
PERIODS = typer.Option(
    "week,pay_period",
    "--periods",
    help="--export: period kinds, comma-separated: day, week, pay_period.",
)
PURPOSE = typer.Option(
    None, "--purpose", help="--export: why the file is made (the disclosure ledger records it)."
)
RECIPIENT = typer.Option(
    None,
    "--recipient",
    help="--export: who outside the agency receives the file; default: you, within it.",
)


@app.command("evaluate")
def evaluate(
    refresh: bool = REFRESH,
    start: datetime | None = START,
    end: datetime | None = END,
    as_user: str | None = AS_OPTION,
    quiet: bool = QUIET,
    export: Path | None = EXPORT,
    org: str | None = ORG,
    periods: str = PERIODS,
    purpose: str | None = PURPOSE,
    recipient: str | None = RECIPIENT,
) -> None:
    """Show the evaluation snapshot (when, over which days, stale or not); with --refresh,
    recompute it. Imports mark it stale; they do not recompute it. With --export, write the
    evaluation's rows to a file instead (docs/evaluation.md, "Exporting the rows")."""
    if export is not None:
        if refresh:
            raise typer.BadParameter("--export and --refresh are two things: give one")
        runtime = bootstrap()
        said = stated(purpose, recipient)
        actor = resolve_actor(runtime, as_user) if as_user else SYSTEM
        kinds = tuple(p.strip() for p in periods.split(",") if p.strip())
        request = export_request(runtime, _day(start), _day(end), org, kinds)
        _export(runtime, request, export, said, actor, quiet)
        return
    given = {"--org": org, "--purpose": purpose, "--recipient": recipient}
    given["--periods"] = periods if periods != "week,pay_period" else None
    extra = [name for name, value in given.items() if value is not None]
    if extra:
        raise typer.BadParameter(f"{extra[0]} goes with --export")
    runtime = bootstrap()
    if not refresh:
        if start is not None or end is not None:
            raise typer.BadParameter("--from and --to go with --refresh or --export")
        _show(runtime)
        return
    actor = resolve_actor(runtime, as_user) if as_user else SYSTEM
    bar = StepProgress(console) if not quiet and sys.stdout.isatty() else None
    progress: ProgressProtocol = bar if bar is not None else NullProgress()
    try:
        summary = refresh_snapshot(
            runtime,
            start=start.date() if start else None,
            end=end.date() if end else None,
            progress=progress,
            actor=actor,
        )
    finally:
        if bar is not None:
            bar.close()
    _print_summary(summary)


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def _export(
    runtime: Runtime,
    request: EvaluationRequest,
    path: Path,
    said: Stated,
    actor: Actor,
    quiet: bool,
) -> None:
    bar = None
    if not quiet and sys.stdout.isatty():
        bar = Progress(
            TextColumn("Evaluating, then writing rows"),
            TextColumn("{task.completed:,.0f} rows"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
    task = bar.add_task("export", total=None) if bar is not None else None

    def written(rows: int) -> None:
        if bar is not None and task is not None:
            bar.update(task, completed=rows)

    if bar is not None:
        bar.start()
    try:
        done = export_evaluation(runtime, request, path, said, actor=actor, on_rows=written)
    finally:
        if bar is not None:
            bar.stop()
    r = done.request
    scope = f", org unit {r.org_unit}" if r.org_unit else ""
    console.print(
        Text(
            f"wrote {done.path.resolve()}: {done.rows:,} rows ({', '.join(r.periods)}) for "
            f"{done.people:,} people, {r.start.isoformat()} to {r.end.isoformat()}{scope}"
        ),
        highlight=False,
        soft_wrap=True,
    )


def _print_summary(s: SnapshotSummary) -> None:
    console.print(
        f"Snapshot {s.snapshot_id}: {s.employees:,} employees, {s.week_rows:,} employee-weeks, "
        f"{s.pay_period_rows:,} pay-period tests, {s.units:,} org units, "
        f"{s.period_start.isoformat()} to {s.period_end.isoformat()}; {s.seconds:.1f} s ("
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in s.stages.items())
        + ")."
    )
    for note in s.notes:
        console.print(Text(f"note: {note}", style="yellow"))


def _show(runtime: Runtime) -> None:
    with translate_errors(), runtime.engine.connect() as conn:
        found = current(conn)
    if found is None:
        console.print("No snapshot yet: run `dutystation evaluate --refresh`.")
        return
    state = "stale: evidence or the roster changed since" if found.stale else "current"
    console.print(
        f"Snapshot of {found.period_start.isoformat()} to {found.period_end.isoformat()}, "
        f"computed {found.computed_at:%Y-%m-%d %H:%M} UTC; {state}."
    )
    if found.stale and found.changed_at is not None:
        console.print(
            f"Last change {found.changed_at:%Y-%m-%d %H:%M} UTC; "
            "`dutystation evaluate --refresh` brings it up to date."
        )
