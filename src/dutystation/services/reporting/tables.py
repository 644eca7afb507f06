"""What every report builder shares: DuckDB over Arrow, the org-unit grouping, the privacy
filter and the context a report is built in.

The builders aggregate the evaluation's and the badge services' Arrow tables with SQL
(DuckDB in-process): no Python loop over employees or days. With ``analytics = "spark"``
some get ``EngineRows`` instead (the evaluation kept on Spark, ``spark_rows.py``), and
the same SQL runs there. Every section goes through ``section()``, which removes
confidential exemption categories from every text column, so no builder can forget to
(DESIGN.md §5: medical and disability matters never appear in reports or exports)."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dutystation.analytics.shared import shared_connection
from dutystation.domain.directive import Directive, ExemptionCategory
from dutystation.reports.model import Chart, Column, ColumnKind, Section

# Columns every per-org-unit section starts and ends with.
UNIT = Column(
    "org_unit",
    "Org unit",
    short="Unit",
    priority=0,
    description="Org unit code; the total row carries the report's root unit",
)
TOTAL = Column(
    "is_total",
    "Total row",
    ColumnKind.BOOLEAN,
    priority=9,
    description="true on the row that sums every unit above it",
)


def unit_name(priority: int) -> Column:
    """The org unit's name, dropped first or later on a narrow terminal."""
    return Column("name", "Name", priority=priority, wrap=True, description="Org unit name")


CONFIDENTIAL = "confidential category"
TOTAL_FLAG = "is_total"  # the boolean column of the rows that sum the others
# The confidential categories by their codes and in words, and the words OPM and the
# importers use for the same things (reasonable accommodation, qualifying medical
# condition); any of them in a reason becomes "confidential category".
_WORDS = sorted(
    {
        *(c.value for c in ExemptionCategory if c.confidential),
        "reasonable_accommodation",
        "qualifying_medical_condition",
        "disability",
        "disabilities",
        "medical",
    },
    key=len,
    reverse=True,
)
# Whole words only, so "Biomedical Research Office" keeps its name (RE2 syntax, for Arrow).
CONFIDENTIAL_PATTERN = (
    r"(?i)\b(" + "|".join(re.escape(w).replace("_", "[_ ]") for w in _WORDS) + r")\b"
)


@dataclass(frozen=True)
class ReportContext:
    """Where and when a report is built: the period (already cut to the evidence), the
    org unit asked for (None: everyone), the directives, org-unit names by code, and notes
    about the period that every report repeats."""

    start: date
    end: date
    as_of: date
    org_unit: str | None = None
    directives: Sequence[Directive] = ()
    unit_names: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    parameters: Mapping[str, str] = field(default_factory=dict)

    def unit_name(self, code: str) -> str:
        return self.unit_names.get(code, code)


class EngineRows(ABC):
    """An evaluation's result kept on another engine (a Spark view: ``spark_rows.py``)
    rather than handed over as Arrow. ``query``, ``within``, ``group_depth`` and
    ``root_label`` take one in place of a table and run there, so a builder's SQL runs
    unchanged and only its aggregated rows reach this process."""

    @abstractmethod
    def query(self, sql: str, tables: Mapping[str, Any]) -> pa.Table:
        """``sql`` (DuckDB's text) with each of ``tables`` as a relation of that name."""

    @abstractmethod
    def within(self, org_unit: str) -> EngineRows: ...

    @abstractmethod
    def group_depth(self, org_unit: str) -> int: ...

    @abstractmethod
    def roots(self) -> list[str]:
        """The distinct first segments of ``org_path``."""


def query(sql: str, **tables: Any) -> pa.Table:
    """Run ``sql`` with each keyword registered as a relation of that name; on the
    engine that holds them when one is ``EngineRows``."""
    for table in tables.values():
        if isinstance(table, EngineRows):
            return table.query(sql, tables)
    # The process's shared in-memory database, two threads: the inputs are the
    # evaluation's result tables, already aggregated per employee and period, small next
    # to the events behind them (a database of its own per query cost more than the query).
    with shared_connection() as con:
        for name, table in tables.items():
            con.register(name, table)
        return con.sql(sql).to_arrow_table()


def redact(table: pa.Table) -> pa.Table:
    """Every text column with confidential category names replaced."""
    for i, name in enumerate(table.column_names):
        column = table.column(i)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            cleaned = pc.replace_substring_regex(
                column, pattern=CONFIDENTIAL_PATTERN, replacement=CONFIDENTIAL
            )
            table = table.set_column(i, name, cleaned)
    return table


def section(
    key: str,
    title: str,
    columns: Sequence[Column],
    table: pa.Table,
    *,
    notes: Sequence[str] = (),
    chart: Chart | None = None,
) -> Section:
    """A report section over ``table`` (its columns selected in ``columns`` order), with
    confidential categories removed."""
    picked = table.select([c.name for c in columns])
    # Total rows read in bold in the terminal and the HTML page; exports keep the flag.
    total = TOTAL_FLAG if TOTAL_FLAG in picked.column_names else None
    return Section(key, title, tuple(columns), redact(picked), tuple(notes), chart, total)


def within(table: pa.Table | EngineRows, org_unit: str | None) -> pa.Table | EngineRows:
    """The rows of ``org_unit`` and the units below it (the evaluation already returns only
    those; this keeps a builder right whatever table it is handed). ``table``: Arrow, or
    ``EngineRows`` (then ``EngineRows`` too)."""
    if org_unit is None:
        return table
    if isinstance(table, EngineRows):
        return table.within(org_unit)
    pattern = f"(^|/){re.escape(org_unit)}(/|$)"
    return table.filter(pc.match_substring_regex(table.column("org_path"), pattern=pattern))


def group_depth(org_unit: str | None, table: pa.Table | EngineRows) -> int:
    """How many path segments the report's root has: rows are grouped by the unit one
    level below it. No org unit: the roots (departments), so rows are components."""
    if org_unit is None:
        return 1
    if isinstance(table, EngineRows):
        return table.group_depth(org_unit)
    with shared_connection() as con:
        con.register("t", table.select(["org_path"]))
        row = con.execute(
            "SELECT min(list_position(string_split(org_path, '/'), ?)) FROM t", [org_unit]
        ).fetchone()
    return int(row[0]) if row and row[0] is not None else 1


def group_sql(depth: int) -> str:
    """SQL for the reporting unit of a row: the unit ``depth + 1`` segments down its path,
    or its own unit when it sits at or above that level (a component's own staff)."""
    return (
        f"CASE WHEN len(string_split(org_path, '/')) > {depth} "
        f"THEN string_split(org_path, '/')[{depth + 1}] ELSE org_unit END"
    )


def root_label(org_unit: str | None, table: pa.Table | EngineRows) -> str:
    """The code the total row carries: the org unit asked for, or the single root."""
    if org_unit is not None:
        return org_unit
    if isinstance(table, EngineRows):
        values = [v for v in table.roots() if v]
        return values[0] if len(values) == 1 else "all"
    roots = query("SELECT DISTINCT split_part(org_path, '/', 1) AS r FROM t", t=table)
    values = [v for v in roots.column("r").to_pylist() if v]
    return values[0] if len(values) == 1 else "all"


def names_column(codes: pa.ChunkedArray | pa.Array, context: ReportContext) -> pa.Array:
    """The names of org units (or any code) by a lookup of the distinct codes only."""
    distinct = pc.unique(codes)
    names = pa.array([context.unit_name(c) for c in distinct.to_pylist()], pa.string())
    return pc.take(names, pc.index_in(codes, value_set=distinct))
