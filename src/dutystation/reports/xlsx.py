"""A report as an XLSX workbook: an "About" sheet, then one sheet per section.

Each data sheet is a plain table a spreadsheet user can sort and filter: a styled, frozen
header row with an autofilter, one row per record, nothing else (the section's notes are on
the About sheet, so filtering never hides or mixes them in). Numbers stay numbers with a
display format (shares as percentages, hours with one decimal), dates are dates, and every
text cell is an explicit string cell escaped by ``spreadsheet_safety``: a value such as
``=HYPERLINK(...)`` is stored as the text ``'=HYPERLINK(...)``, never as a formula. Control
characters XLSX cannot hold become U+FFFD and carriage returns newlines (XML would make them
newlines on reading anyway)."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from dutystation.errors import DutystationError
from dutystation.reports.files import write_atomically
from dutystation.reports.model import Column, ColumnKind, Report, Section
from dutystation.reports.spreadsheet_safety import escape_column, escape_text

MAX_DATA_ROWS = 1_048_575  # a worksheet holds 1,048,576 rows, one of them the header
_FORMATS = {
    ColumnKind.SHARE: "0.0%",
    ColumnKind.HOURS: "#,##0.0",
    ColumnKind.INTEGER: "#,##0",
    ColumnKind.NUMBER: "#,##0.0",
    ColumnKind.DATE: "yyyy-mm-dd",
    ColumnKind.DATETIME: "yyyy-mm-dd hh:mm",
}
_WIDTHS = {ColumnKind.DATE: 12, ColumnKind.DATETIME: 17, ColumnKind.SHARE: 10}
# White on dark blue: a contrast ratio above 10:1.
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="1F3A5F")
_WRAP = Alignment(wrap_text=True, vertical="top")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
# Control characters the XLSX format cannot store (tab, newline and carriage return can).
_ILLEGAL = "[\x00-\x08\x0b\x0c\x0e-\x1f]"
# XML turns a carriage return (alone or before a newline) into a newline when the file is
# read; writing the newline ourselves means the file holds what every reader will see.
_CARRIAGE_RETURN = "\r\n?"


def _storable(text: str) -> str:
    return re.sub(_CARRIAGE_RETURN, "\n", re.sub(_ILLEGAL, "\ufffd", text))


def _sheet_name(title: str, taken: set[str]) -> str:
    base = _SHEET_FORBIDDEN.sub(" ", title).strip("' ")[:31] or "Sheet"
    name, n = base, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def _text_cell(sheet: Any, value: str | None, *, bold: bool = False) -> WriteOnlyCell:
    text = None if value is None else _storable(escape_text(value))
    cell = WriteOnlyCell(sheet, value=text)
    if value is not None:
        cell.data_type = "s"  # explicit: openpyxl must never guess "formula"
    if bold:
        cell.font = Font(bold=True)
    return cell


def _about(book: Workbook, report: Report, names: dict[str, str]) -> None:
    sheet = book.create_sheet("About")
    sheet.column_dimensions["A"].width = 22
    sheet.column_dimensions["B"].width = 100
    title = _text_cell(sheet, report.title)
    title.font = Font(bold=True, size=14)
    sheet.append([title])
    sheet.append([_text_cell(sheet, report.subtitle)])
    sheet.append([])
    facts = [
        ("Report", report.kind),
        ("Period", f"{report.period_start.isoformat()} to {report.period_end.isoformat()}"),
        ("Evidence as of", report.as_of.isoformat()),
        *report.parameters.items(),
    ]
    for key, value in facts:
        sheet.append([_text_cell(sheet, key, bold=True), _text_cell(sheet, value)])
    for note in report.notes:
        sheet.append([_text_cell(sheet, "Note", bold=True), _text_cell(sheet, note)])
    for section in report.sections:
        sheet.append([])
        sheet.append(
            [
                _text_cell(sheet, f"Sheet {names[section.key]!r}", bold=True),
                _text_cell(sheet, section.title),
            ]
        )
        for note in section.notes:
            cell = _text_cell(sheet, note)
            cell.alignment = _WRAP
            sheet.append([None, cell])


def _column_values(values: pa.ChunkedArray, column: Column) -> list[Any]:
    if column.kind is ColumnKind.TEXT or pa.types.is_string(values.type):
        safe = pc.replace_substring_regex(
            escape_column(values), pattern=_ILLEGAL, replacement="\ufffd"
        )
        safe = pc.replace_substring_regex(safe, pattern=_CARRIAGE_RETURN, replacement="\n")
        return list(safe.to_pylist())
    plain = values.to_pylist()
    if pa.types.is_floating(values.type):
        return [None if v is None or math.isnan(v) else v for v in plain]
    return list(plain)


def _rows(sheet: Any, section: Section) -> Iterator[list[WriteOnlyCell]]:
    kinds = [c.kind for c in section.columns]
    for batch in section.table.to_batches(max_chunksize=20_000):
        batch_table = pa.Table.from_batches([batch])
        columns = [_column_values(batch_table.column(c.name), c) for c in section.columns]
        for values in zip(*columns, strict=True):
            row = []
            for value, kind in zip(values, kinds, strict=True):
                cell = WriteOnlyCell(sheet, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"
                elif isinstance(value, date | datetime | int | float) and kind in _FORMATS:
                    cell.number_format = _FORMATS[kind]
                row.append(cell)
            yield row


def _data_sheet(book: Workbook, section: Section, name: str) -> None:
    sheet = book.create_sheet(name)
    sheet.freeze_panes = "A2"
    for i, column in enumerate(section.columns, start=1):
        wide = 48 if column.wrap else _WIDTHS.get(column.kind, 12)
        sheet.column_dimensions[get_column_letter(i)].width = max(wide, len(column.label) + 2)
    header = []
    for column in section.columns:
        cell = _text_cell(sheet, column.label)
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        header.append(cell)
    sheet.append(header)
    last = get_column_letter(max(len(section.columns), 1))
    sheet.auto_filter.ref = f"A1:{last}{section.rows + 1}"
    for row in _rows(sheet, section):
        sheet.append(row)


def xlsx_bytes(report: Report) -> bytes:
    # Checked before any sheet exists: a half-written write-only workbook cannot be closed.
    for section in report.sections:
        if section.rows > MAX_DATA_ROWS:
            raise DutystationError(
                f"section {section.title!r} has {section.rows:,} rows, more than a worksheet "
                f"holds ({MAX_DATA_ROWS:,}); narrow the period or the org unit, or use "
                "--format csv"
            )
    # Write-only mode streams rows to the file instead of holding a cell object each.
    book = Workbook(write_only=True)
    taken = {"about"}
    names = {s.key: _sheet_name(s.title, taken) for s in report.sections}
    _about(book, report, names)
    for section in report.sections:
        _data_sheet(book, section, names[section.key])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def save_xlsx(report: Report, path: Path) -> Path:
    data = xlsx_bytes(report)

    def write(fh: BinaryIO) -> None:
        fh.write(data)

    return write_atomically(path, write)
