"""Hand-built reports for the renderer tests: every column kind, text that tries formula
injection, markup and control characters, missing values, and a tiny Vega-Lite chart."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pyarrow as pa

from dutystation.reports.model import Chart, Column, ColumnKind, Report, Section

HOSTILE = '=HYPERLINK("http://evil.example","click")'
SCRIPT = "<script>alert('x')</script>"
MARKUP = "[bold red]not markup[/]"

TINY_SPEC: dict[str, Any] = {
    "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
    "data": {"values": [{"unit": "A", "share": 0.5}, {"unit": "B", "share": 0.75}]},
    "mark": "bar",
    "encoding": {
        "y": {"field": "unit", "type": "nominal"},
        "x": {"field": "share", "type": "quantitative", "axis": {"format": "%"}},
    },
}

UNITS = (
    Column("org_unit", "Org unit", short="Unit", priority=0, description="Org unit code"),
    Column("name", "Name", priority=4, wrap=True, description="Org unit name"),
    Column("employees", "Employees", ColumnKind.INTEGER, short="People", priority=1),
    Column("hours_worked", "Hours worked", ColumnKind.HOURS, short="Hours", priority=2),
    Column("share_on_site", "On site", ColumnKind.SHARE, priority=0),
    Column("share_off_site", "Off site", ColumnKind.SHARE, priority=0),
    Column("ratio", "Ratio", ColumnKind.NUMBER, priority=3),
    Column("since", "Since", ColumnKind.DATE, priority=3),
    Column("first_in", "First in", ColumnKind.DATETIME, priority=5),
    Column("is_total", "Total row", ColumnKind.BOOLEAN, priority=9),
)


def units_table() -> pa.Table:
    return pa.table(
        {
            "org_unit": ["DEA-EMA", "DEA-EIS", "-12", "DEA"],
            "name": [
                "Example Emergency Management Agency, with a long name that must wrap",
                HOSTILE,
                f"{SCRIPT} {MARKUP} bell\x07 escape\x1b[2J",
                "All of DEA (Département)",
            ],
            "employees": pa.array([270, 250, None, 520], pa.int64()),
            "hours_worked": [77810.0, 71895.5, 0.0, 149705.5],
            "share_on_site": [0.711, 0.756, None, 0.7326],
            "share_off_site": [0.289, 0.244, None, 0.2674],
            "ratio": [1.5, float("nan"), -2.25, 0.0],
            "since": pa.array([date(2025, 1, 20), None, date(2025, 2, 21), date(2025, 1, 20)]),
            "first_in": pa.array(
                [datetime(2025, 2, 3, 8, 1, 30), None, datetime(2025, 2, 3, 23, 59), None],
                pa.timestamp("us"),
            ),
            "is_total": [False, False, False, True],
        }
    )


def sample_report(*, rows: int | None = None) -> Report:
    table = units_table()
    many = pa.table(
        {
            "employee_id": [f"E{i:05d}" for i in range(rows or 3)],
            "hours": [float(i) / 4 for i in range(rows or 3)],
        }
    )
    return Report(
        kind="sample",
        title="Sample report",
        subtitle="Every column kind, and hostile text",
        period_start=date(2025, 1, 20),
        period_end=date(2025, 3, 16),
        as_of=date(2025, 3, 16),
        sections=(
            Section(
                "units",
                "Per org unit",
                UNITS,
                table,
                notes=("A note about the figures.", HOSTILE),
                chart=Chart(TINY_SPEC, "On-site share", "Two bars: A 50 %, B 75 %."),
                emphasis="is_total",
            ),
            Section(
                "people",
                "People",
                (
                    Column("employee_id", "Employee", priority=0),
                    Column("hours", "Hours", ColumnKind.HOURS, priority=0),
                ),
                many,
            ),
            Section(
                "empty",
                "Nothing here",
                (Column("employee_id", "Employee", priority=0),),
                pa.table({"employee_id": pa.array([], pa.string())}),
            ),
        ),
        primary="units",
        notes=("Evidence ends on 2025-03-14; the period ends on the Sunday after, 2025-03-16.",),
        parameters={"org unit": "DEA"},
    )
