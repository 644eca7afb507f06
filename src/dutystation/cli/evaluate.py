"""``dutystation evaluate``: the evaluation snapshot that the web and the API read
(docs/evaluation.md, "The snapshot"). Thin: parse, call ``services.snapshot``, print."""

from __future__ import annotations

import sys
from datetime import datetime

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from dutystation.bootstrap import Runtime, bootstrap
from dutystation.cli import app
from dutystation.cli._actor import AS_OPTION, resolve_actor
from dutystation.domain.access import SYSTEM
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


@app.command("evaluate")
def evaluate(
    refresh: bool = REFRESH,
    start: datetime | None = START,
    end: datetime | None = END,
    as_user: str | None = AS_OPTION,
    quiet: bool = QUIET,
) -> None:
    """Show the evaluation snapshot (when, over which days, stale or not); with --refresh,
    recompute it. Imports mark it stale; they do not recompute it."""
    runtime = bootstrap()
    if not refresh:
        if start is not None or end is not None:
            raise typer.BadParameter("--from and --to go with --refresh")
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
