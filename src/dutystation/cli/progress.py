"""A Rich progress bar (rows, rows/s, ETA) on a terminal; silence in scripts."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from dutystation.services.progress import NullProgress
from dutystation.services.progress import Progress as ProgressProtocol


class RichProgress:
    def __init__(self, console: Console) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[rows]:>12,} rows"),
            TextColumn("{task.fields[rate]:>10,.0f} rows/s"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self._task: TaskID | None = None
        self._rows = 0

    def start(self, description: str, total_bytes: int | None) -> None:
        self._bar.start()
        self._rows = 0
        self._task = self._bar.add_task(description, total=total_bytes, rows=0, rate=0.0)

    def advance(self, *, rows: int, bytes_done: int) -> None:
        if self._task is None:
            return
        self._rows += rows
        elapsed = self._bar.tasks[0].elapsed or 0.0
        rate = self._rows / elapsed if elapsed > 0 else 0.0
        self._bar.update(self._task, completed=bytes_done, rows=self._rows, rate=rate)

    def finish(self) -> None:
        self._bar.stop()
        self._task = None


def progress_for(console: Console, quiet: bool) -> ProgressProtocol:
    """A bar only when a person is watching: not with --quiet, not when piped."""
    if quiet or not sys.stdout.isatty():
        return NullProgress()
    return RichProgress(console)
