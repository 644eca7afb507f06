"""How a value of each column kind reads in text outputs (terminal and HTML).

Exports (CSV, XLSX, JSON) keep raw values; only the outputs people read directly format
them here, so a share reads "28.9%" in both the terminal and the HTML page."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from dutystation.reports.model import ColumnKind, Section

MISSING = "–"  # an en dash: visibly "no value", unlike an empty cell
# Bidi controls (embeddings, overrides, isolates, marks) let a name reorder the text around
# it ("Trojan Source" spoofing): what people read (pages, HTML reports, the terminal) shows
# U+FFFD in their place, visibly. Exports (CSV, XLSX, JSON) keep the value as stored.
# Zero-width (non-)joiners stay: scripts and emoji need them. docs/security.md.
BIDI_CONTROLS = dict.fromkeys(
    (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)), "\ufffd"
)
# C0 controls and DEL become U+FFFD: ESC could drive a terminal, and HTML forbids them.
# Newlines and tabs stay.
CONTROLS = {
    **{c: "\ufffd" for c in (*range(0x20), 0x7F) if c not in (0x09, 0x0A)},
    **BIDI_CONTROLS,
}


def neutralised(value: Any) -> Any:
    """``value`` with bidi controls shown as U+FFFD, in every string inside it (lists,
    dicts: a chart's spec); markup stays markup, other values pass unchanged. It is the
    ``finalize`` of the page and report templates, so every ``{{ }}`` goes through it."""
    if isinstance(value, str):  # Markup.translate keeps it Markup (the table is no text)
        return value.translate(BIDI_CONTROLS)
    if isinstance(value, Mapping):
        return {neutralised(k): neutralised(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [neutralised(v) for v in value]
    return value


def display(value: Any, kind: ColumnKind) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if kind is ColumnKind.SHARE:
        return f"{value:.1%}"
    if kind is ColumnKind.HOURS:
        return f"{value:,.1f}"
    if kind is ColumnKind.INTEGER:
        return f"{int(value):,}"
    if kind is ColumnKind.NUMBER:
        return f"{value:,.1f}"
    if kind is ColumnKind.BOOLEAN:
        return "yes" if value else "no"
    if kind is ColumnKind.DATETIME and isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).translate(CONTROLS)


def displayed_rows(section: Section, limit: int | None) -> tuple[list[list[str]], int]:
    """The first ``limit`` rows (all when None) as display strings, and how many rows the
    section has in all. Only the rows shown are converted to Python values."""
    table: pa.Table = section.table if limit is None else section.table.slice(0, limit)
    columns = [
        [display(v, column.kind) for v in table.column(column.name).to_pylist()]
        for column in section.columns
    ]
    return [list(row) for row in zip(*columns, strict=True)], section.rows


def readable(section: Section) -> Section:
    """The section as people read it: without its emphasis column (the emphasised rows
    are shown in bold instead)."""
    if section.emphasis is None:
        return section
    keep = tuple(c for c in section.columns if c.name != section.emphasis)
    table = section.table.select([c.name for c in keep])
    return Section(section.key, section.title, keep, table, section.notes, section.chart)


def emphasised(section: Section, limit: int | None) -> list[bool]:
    """Per row shown (the first ``limit``), whether it is emphasised."""
    shown = section.rows if limit is None else min(limit, section.rows)
    if section.emphasis is None:
        return [False] * shown
    return [bool(v) for v in section.table.column(section.emphasis).slice(0, shown).to_pylist()]


def more_rows_note(shown: int, total: int, hint: str) -> str | None:
    if shown >= total:
        return None
    return f"Showing the first {shown:,} of {total:,} rows; {hint}"
