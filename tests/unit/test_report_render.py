"""Each renderer on hand-built reports: the terminal fits 80 columns, CSV and XLSX cannot
run formulas, JSON is stable and valid, HTML is self-contained and accessible."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
import pyarrow as pa
import pytest
from openpyxl import load_workbook
from report_samples import HOSTILE, MARKUP, sample_report
from rich.console import Console

from dutystation.errors import DutystationError
from dutystation.reports import xlsx
from dutystation.reports.csv import save_csv, write_csv
from dutystation.reports.formats import Format, default_path, write_report
from dutystation.reports.json import JSON_SCHEMA, write_json
from dutystation.reports.model import Column, Report, Section
from dutystation.reports.terminal import fit_columns, render_terminal


def _terminal(report: Report, width: int = 80, **options: object) -> str:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    render_terminal(report, console, **options)  # type: ignore[arg-type]
    return console.export_text()


# --------------------------------------------------------------------------- terminal


def test_every_terminal_line_fits_in_80_columns() -> None:
    text = _terminal(sample_report(rows=40))
    assert max(len(line) for line in text.splitlines()) <= 80


def test_a_narrow_terminal_keeps_the_key_columns_and_names_the_ones_left_out() -> None:
    text = _terminal(sample_report())
    assert "On site" in text and "Off site" in text and "Unit" in text
    assert "Not shown at this width:" in text
    assert "First in" in text.split("Not shown at this width:")[1]


def test_columns_are_dropped_strictly_by_priority() -> None:
    section = sample_report().section("units")
    rows = [["x" * 5] * len(section.columns)]
    kept = fit_columns(section, rows, 40)
    priorities = [section.columns[i].priority for i in kept]
    left = [c.priority for i, c in enumerate(section.columns) if i not in kept]
    assert max(priorities) <= min(left)


def test_wide_terminal_shows_every_column() -> None:
    text = _terminal(sample_report(), width=250)
    assert "Not shown at this width" not in text
    assert "First in" in text


def test_a_total_row_is_bold_instead_of_a_column_of_yes_and_no() -> None:
    console = Console(width=250, record=True, file=io.StringIO(), color_system="standard")
    render_terminal(sample_report(), console)
    assert "Total row" not in console.export_text(clear=False)
    styled = console.export_text(styles=True)
    total_line = next(line for line in styled.splitlines() if "All of DEA" in line)
    assert "\x1b[1m" in total_line


def test_terminal_prints_text_as_text_never_as_markup_or_control_codes() -> None:
    text = _terminal(sample_report(), width=250)
    assert MARKUP in text
    assert "\x1b" not in text and "\x07" not in text


def test_terminal_row_limit_says_how_many_rows_exist() -> None:
    text = _terminal(sample_report(rows=30), max_rows=5)
    assert "Showing the first 5 of 30 rows" in text
    assert "E00004" in text and "E00005" not in text


def test_an_empty_section_says_so() -> None:
    assert "No rows." in _terminal(sample_report())


# --------------------------------------------------------------------------- CSV


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_escapes_formula_text_and_keeps_numbers_numeric() -> None:
    sink = io.BytesIO()
    write_csv(sample_report().section("units"), sink)
    rows = _csv_rows(sink.getvalue())
    assert rows[0][:3] == ["org_unit", "name", "employees"]
    assert rows[2][1] == "'" + HOSTILE
    assert rows[3][0] == "-12"  # a plain number stays as it is
    assert rows[1][4] == "0.711" and rows[1][2] == "270"
    assert '"0.711"' not in sink.getvalue().decode()  # numbers are not quoted
    assert rows[1][7] == "2025-01-20" and rows[1][8] == "2025-02-03 08:01:30"
    assert rows[3][2] == "" and rows[2][6] == ""  # null and NaN are empty
    assert rows[4][9] == "true"


def test_no_csv_cell_can_start_a_formula() -> None:
    sink = io.BytesIO()
    write_csv(sample_report().section("units"), sink)
    for row in _csv_rows(sink.getvalue()):
        for cell in row:
            assert not cell.lstrip(" ").startswith(("=", "+", "@", "\t", "\r")), cell


def test_csv_file_has_a_byte_order_mark_and_owner_only_permissions(tmp_path: Path) -> None:
    path = save_csv(sample_report().section("people"), tmp_path / "people.csv")
    assert path.read_bytes().startswith("\ufeff".encode())
    assert path.stat().st_mode & 0o077 == 0
    assert not list(tmp_path.glob(".*.tmp"))


# --------------------------------------------------------------------------- XLSX


def _workbook(tmp_path: Path) -> object:
    path = xlsx.save_xlsx(sample_report(), tmp_path / "r.xlsx")
    return load_workbook(path)


def test_xlsx_has_an_about_sheet_and_a_sheet_per_section(tmp_path: Path) -> None:
    book = _workbook(tmp_path)
    assert book.sheetnames == ["About", "Per org unit", "People", "Nothing here"]  # type: ignore[attr-defined]
    about = book["About"]  # type: ignore[index]
    assert about["A1"].value == "Sample report"
    texts = [c.value for row in about.iter_rows() for c in row if c.value]
    assert "A note about the figures." in texts
    assert "'" + HOSTILE in texts  # notes are escaped too


def test_xlsx_formula_text_is_an_escaped_string_cell(tmp_path: Path) -> None:
    sheet = _workbook(tmp_path)["Per org unit"]  # type: ignore[index]
    cell = sheet["B3"]
    assert cell.data_type == "s"
    assert cell.value == "'" + HOSTILE
    for row in sheet.iter_rows():
        for c in row:
            assert c.data_type != "f", c.coordinate


def test_xlsx_numbers_are_numbers_with_formats_and_the_header_is_frozen(tmp_path: Path) -> None:
    sheet = _workbook(tmp_path)["Per org unit"]  # type: ignore[index]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].value == "Org unit" and sheet["A1"].font.bold
    assert sheet["E2"].value == pytest.approx(0.711) and sheet["E2"].number_format == "0.0%"
    assert sheet["C2"].value == 270 and sheet["C2"].data_type == "n"
    assert sheet["H2"].is_date
    assert sheet["G3"].value is None  # NaN
    assert sheet["A4"].value == "-12"  # an id that looks like a number stays text
    assert sheet.auto_filter.ref == "A1:J5"
    assert sheet["J1"].value == "Total row" and sheet["J5"].value is True  # exports keep it


def test_xlsx_refuses_more_rows_than_a_worksheet_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx, "MAX_DATA_ROWS", 10)
    with pytest.raises(DutystationError, match="more than a worksheet holds"):
        xlsx.xlsx_bytes(sample_report(rows=11))


# --------------------------------------------------------------------------- JSON


def _json(report: Report) -> str:
    out = io.StringIO()
    write_json(report, out)
    return out.getvalue()


def test_json_is_valid_against_its_schema_and_the_same_every_time() -> None:
    text = _json(sample_report())
    assert text == _json(sample_report())
    document = json.loads(text)
    jsonschema.validate(document, JSON_SCHEMA)
    assert document["schema_version"] == 1
    rows = document["sections"][0]["rows"]
    assert rows[0]["share_on_site"] == 0.711
    assert rows[0]["since"] == "2025-01-20" and rows[0]["first_in"] == "2025-02-03T08:01:30"
    assert rows[1]["ratio"] is None  # NaN is not JSON
    assert document["sections"][2]["rows"] == []


JSON_SNAPSHOT = """\
{
  "schema_version": 1,
  "report": "sample",
  "title": "Sample report",
  "subtitle": "Every column kind, and hostile text",
  "period": {"start": "2025-01-20", "end": "2025-03-16"},
  "as_of": "2025-03-16",
  "parameters": {"org unit": "DEA"},
  "notes": ["Evidence ends on 2025-03-14; the period ends on the Sunday after, 2025-03-16."],
  "sections": [
    {
      "key": "people",
      "title": "People",
      "notes": [],
      "columns": [{"name": "employee_id", "label": "Employee", "type": "text", "description": ""}, \
{"name": "hours", "label": "Hours", "type": "hours", "description": ""}],
      "row_count": 2,
      "chart": null,
      "rows": [
        {"employee_id": "E00000", "hours": 0.0},
        {"employee_id": "E00001", "hours": 0.25}
      ]
    }
  ]
}
"""


def test_json_layout_matches_the_documented_snapshot() -> None:
    full = sample_report(rows=2)
    only = Report(
        full.kind, full.title, full.subtitle, full.period_start, full.period_end,
        full.as_of, (full.section("people"),), "people", full.notes, full.parameters,
    )  # fmt: skip
    assert _json(only) == JSON_SNAPSHOT


# --------------------------------------------------------------------------- formats


def test_xlsx_and_html_go_to_a_file_named_after_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    report = sample_report()
    console = Console(file=io.StringIO())
    written = write_report(report, Format.XLSX, console=console)
    assert written == default_path(report, Format.XLSX)
    assert written.name == "sample-2025-01-20-to-2025-03-16.xlsx" and written.exists()


def test_a_section_the_report_does_not_have_is_one_clear_sentence() -> None:
    with pytest.raises(DutystationError, match="has no section 'nope'; sections are units"):
        write_report(sample_report(), Format.CSV, console=Console(), section="nope")


def test_a_section_must_describe_exactly_its_table() -> None:
    with pytest.raises(ValueError, match="do not match"):
        Section("s", "S", (Column("a", "A"),), pa.table({"b": [1]}))
