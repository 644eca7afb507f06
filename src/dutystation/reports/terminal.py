"""Reports as Rich tables that fit the terminal (80 columns when output is piped).

A table that would not fit keeps its most important columns (``Column.priority``), uses
short headers, wraps long text and says which columns it left out: a reader on an
80-column terminal sees a readable table, never one squeezed to one letter per line. Every
value is printed as plain text (no Rich markup is interpreted, control characters are
replaced), since names and reasons come from imported files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from dutystation.reports.cells import (
    CONTROLS,
    displayed_rows,
    emphasised,
    more_rows_note,
    readable,
)
from dutystation.reports.model import Column, Report, Section

# Between two columns of a SIMPLE_HEAD table without edges: padding, rule, padding.
_GAP = 3
# A wrapping column is never narrower than this (or its longest value, if shorter).
_WRAP_MIN = 24


def _plain(text: str) -> Text:
    return Text(text.translate(CONTROLS))


def _widths(section: Section, rows: list[list[str]]) -> list[int]:
    widths = []
    for i, column in enumerate(section.columns):
        natural = max([len(column.short_label), *(len(r[i]) for r in rows)])
        widths.append(min(natural, _WRAP_MIN) if column.wrap else natural)
    return widths


def fit_columns(section: Section, rows: list[list[str]], width: int) -> list[int]:
    """Indices of the columns to show, in table order: the most important first, as many
    as fit in ``width`` at their minimum widths; priority 0 columns always."""
    minimum = _widths(section, rows)
    order = sorted(range(len(section.columns)), key=lambda i: (section.columns[i].priority, i))
    kept: list[int] = []
    used = -_GAP
    for i in order:
        need = minimum[i] + _GAP
        if section.columns[i].priority == 0 or used + need <= width:
            kept.append(i)
        else:
            # Strictly by priority: a less important narrow column never takes the place
            # of a more important wide one.
            break
        used += need
    return sorted(kept)


def _table(section: Section, rows: list[list[str]], kept: list[int], bold: list[bool]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for i in kept:
        column: Column = section.columns[i]
        if column.kind.numeric:
            table.add_column(_plain(column.short_label), justify="right", no_wrap=True)
        elif column.wrap:
            table.add_column(_plain(column.short_label), overflow="fold", min_width=8)
        else:
            table.add_column(_plain(column.short_label), no_wrap=True, overflow="ellipsis")
    for row, strong in zip(rows, bold, strict=True):
        table.add_row(*(_plain(row[i]) for i in kept), style="bold" if strong else None)
    return table


@dataclass(frozen=True)
class Hints:
    """What to tell a reader when something was left out; the caller knows its options."""

    columns: str = "a wider terminal or another format shows them"
    rows: str = "another format has all of them"


DEFAULT_HINTS = Hints()


def render_section(
    section: Section, console: Console, *, max_rows: int | None = None, hints: Hints = DEFAULT_HINTS
) -> None:
    console.print(_plain(section.title), style="bold underline")
    bold = emphasised(section, max_rows)
    section = readable(section)
    rows, total = displayed_rows(section, max_rows)
    notes = list(section.notes)
    if not rows:
        notes.insert(0, "No rows.")
    else:
        kept = fit_columns(section, rows, console.width)
        console.print(_table(section, rows, kept, bold))
        left_out = [c.label for i, c in enumerate(section.columns) if i not in kept]
        if left_out:
            notes.append(f"Not shown at this width: {', '.join(left_out)}; {hints.columns}.")
        if more := more_rows_note(len(rows), total, f"{hints.rows}."):
            notes.append(more)
    for note in notes:
        console.print(_plain(note), style="dim")
    console.print()


def render_terminal(
    report: Report,
    console: Console,
    *,
    max_rows: int | None = None,
    sections: Sequence[str] | None = None,
    hints: Hints = DEFAULT_HINTS,
) -> None:
    """Print ``report`` (or only the named ``sections``) at the console's width, showing at
    most ``max_rows`` rows per section."""
    console.print(_plain(report.title), style="bold")
    console.print(_plain(report.subtitle))
    console.print(_plain(_period_line(report)), style="dim")
    console.print()
    for section in report.sections:
        if sections is None or section.key in sections:
            render_section(section, console, max_rows=max_rows, hints=hints)
    for note in report.notes:
        console.print(_plain(note), style="dim")


def _period_line(report: Report) -> str:
    parts = [
        f"Period {report.period_start.isoformat()} to {report.period_end.isoformat()}",
        f"evidence as of {report.as_of.isoformat()}",
        *(f"{k} {v}" for k, v in report.parameters.items()),
    ]
    return "; ".join(parts)
