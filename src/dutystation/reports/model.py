"""The format-independent report: what every renderer draws and docs/reports.md documents.

A service builds a ``Report`` with every figure already computed (DESIGN.md §3: ``reports/``
is rendering only); a renderer decides only how to show it. A report is a title, the period
it covers and a list of sections; a section is one table (an Arrow table whose columns are
described by ``Column``), notes in plain sentences and at most one chart (a Vega-Lite spec).

Units travel with the column kind, never inside the numbers: a ``share`` is a fraction from
0 to 1 (shown as a percentage), ``hours`` are decimal hours, a ``datetime`` is office-local
wall-clock time. Exports keep the raw value; text outputs format it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import pyarrow as pa


class ColumnKind(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    HOURS = "hours"  # decimal hours
    SHARE = "share"  # a fraction from 0 to 1, shown as a percentage
    DATE = "date"  # a calendar day (ISO 8601)
    DATETIME = "datetime"  # office-local wall-clock time, no offset
    BOOLEAN = "boolean"

    @property
    def numeric(self) -> bool:
        return self in _NUMERIC


_NUMERIC = frozenset({ColumnKind.INTEGER, ColumnKind.NUMBER, ColumnKind.HOURS, ColumnKind.SHARE})


@dataclass(frozen=True)
class Column:
    """One column of a section. ``name`` is the stable machine key (CSV header, JSON key);
    ``label`` the header people read; ``short`` the header where space is scarce (the
    terminal). When a table is too wide, columns with the highest ``priority`` number go
    first; priority 0 is never dropped. ``wrap`` marks long text that may run over lines."""

    name: str
    label: str
    kind: ColumnKind = ColumnKind.TEXT
    short: str | None = None
    description: str = ""
    priority: int = 1
    wrap: bool = False

    @property
    def short_label(self) -> str:
        return self.short or self.label


@dataclass(frozen=True)
class Chart:
    """A Vega-Lite spec with the words a reader without the picture needs: ``title`` names
    it, ``description`` says what it shows (alt text)."""

    spec: Mapping[str, Any]
    title: str
    description: str


@dataclass(frozen=True)
class Section:
    key: str  # stable identifier: JSON key, HTML anchor, CSV --section value
    title: str
    columns: tuple[Column, ...]
    table: pa.Table
    notes: tuple[str, ...] = ()
    chart: Chart | None = None
    # A boolean column marking rows to emphasise (totals): text outputs show those rows in
    # bold instead of the column; exports keep the column.
    emphasis: str | None = None

    def __post_init__(self) -> None:
        # A mismatch is a bug in the service that built the section; catching it here
        # keeps renderers from guessing.
        names = [c.name for c in self.columns]
        if names != self.table.column_names:
            raise ValueError(
                f"section {self.key!r}: columns {names} do not match the table's "
                f"{self.table.column_names}"
            )
        kinds = {c.name: c.kind for c in self.columns}
        if self.emphasis is not None and kinds.get(self.emphasis) is not ColumnKind.BOOLEAN:
            raise ValueError(f"section {self.key!r}: emphasis {self.emphasis!r} is no boolean")

    @property
    def rows(self) -> int:
        return int(self.table.num_rows)


@dataclass(frozen=True)
class Report:
    """``kind`` is the report's command name (``onsite-share``); ``primary`` the key of the
    section a single-table export (CSV) carries by default."""

    kind: str
    title: str
    subtitle: str
    period_start: date
    period_end: date
    as_of: date
    sections: tuple[Section, ...]
    primary: str
    notes: tuple[str, ...] = ()
    parameters: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        keys = [s.key for s in self.sections]
        if len(set(keys)) != len(keys):
            raise ValueError(f"report {self.kind!r}: section keys repeat: {keys}")
        if self.primary not in keys:
            raise ValueError(f"report {self.kind!r}: primary section {self.primary!r} missing")

    def section(self, key: str | None = None) -> Section:
        """The section ``key`` (the primary one when None); KeyError names the choices."""
        wanted = key or self.primary
        for section in self.sections:
            if section.key == wanted:
                return section
        raise KeyError(f"{wanted!r}; sections are {', '.join(s.key for s in self.sections)}")
