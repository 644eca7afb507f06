"""XLSX through python-calamine: the first sheet (or ``source.sheet``), header = the first
non-empty row, ``_line`` = the Excel row number. Formulas are never evaluated: calamine
returns the value Excel last stored with the formula (empty if none was stored).

Cells become text as Excel shows them to a person: whole numbers without ``.0``, dates and
times in ISO 8601, booleans ``true``/``false``, durations ``H:MM:SS``. calamine holds the
sheet in memory; the XLSX format caps a sheet at 1,048,576 rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from python_calamine import CalamineWorkbook, WorksheetNotFound

from dutystation.errors import InputFileError, Location
from dutystation.ingest._mapping import ValueRules, canonical_batch

_EXACT_FLOAT_INTS = 2**53


def cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < _EXACT_FLOAT_INTS:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.date | dt.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        seconds = int(value.total_seconds())
        sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
        return f"{sign}{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return str(value)


class XlsxSheet:
    """One sheet, opened at ``open_source`` time so the header can be checked."""

    def __init__(self, path: Path, sheet_name: str | None) -> None:
        self.path, self.sheet_name = path, sheet_name
        self._rows: Iterator[list[Any]] | None = self._open()
        self.header: list[str] = []
        self.header_line = 0
        for index, row in enumerate(self._rows):
            if any(cell != "" for cell in row):
                self.header = [(cell_text(c) or "").strip() for c in row]
                self.header_line = index + 1
                break
        else:
            raise InputFileError(Location(path), f"the sheet {self.name!r} is empty")

    def _open(self) -> Iterator[list[Any]]:
        try:
            workbook = CalamineWorkbook.from_path(str(self.path))
            if self.sheet_name is None:
                sheet = workbook.get_sheet_by_index(0)
            else:
                sheet = workbook.get_sheet_by_name(self.sheet_name)
            self.name: str = sheet.name
            # iter_rows starts at row 1 of the sheet (index 0), whatever the used range.
            return iter(sheet.iter_rows())
        except WorksheetNotFound:
            raise InputFileError(
                Location(self.path),
                f"there is no sheet named {self.sheet_name!r} "
                f"(sheets: {', '.join(workbook.sheet_names)})",
            ) from None
        except Exception:  # calamine parses untrusted bytes: any failure means "damaged"
            raise InputFileError(Location(self.path), "the XLSX workbook is damaged") from None

    def data_rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(Excel row number, cells) of the rows below the header; the first call continues
        the iterator opened for the header, later calls reopen the file."""
        rows, self._rows = self._rows, None
        if rows is None:
            rows = self._open()
            for _ in range(self.header_line):
                next(rows, None)
        try:
            yield from enumerate(rows, start=self.header_line + 1)
        except Exception:  # as in _open
            raise InputFileError(Location(self.path), "the XLSX workbook is damaged") from None


class XlsxReader:
    def __init__(
        self,
        sheet: XlsxSheet,
        mapped: list[tuple[str, int]],
        rules: ValueRules,
        batch_rows: int,
    ) -> None:
        self._sheet, self._mapped, self._rules = sheet, mapped, rules
        self._batch_rows = batch_rows
        self.bytes_read = 0

    def batches(self) -> Iterator[pa.RecordBatch]:
        cells: list[list[str | None]] = [[] for _ in self._mapped]
        lines: list[int] = []
        for line, row in self._sheet.data_rows():
            if all(cell == "" for cell in row):
                continue  # an empty row is not a record
            for values, (_, index) in zip(cells, self._mapped, strict=True):
                values.append(cell_text(row[index]) if index < len(row) else None)
            lines.append(line)
            if len(lines) >= self._batch_rows:
                yield self._batch(cells, lines)
                cells, lines = [[] for _ in self._mapped], []
        if lines:
            yield self._batch(cells, lines)
        self.bytes_read = self._sheet.path.stat().st_size

    def _batch(self, cells: list[list[str | None]], lines: list[int]) -> pa.RecordBatch:
        columns = [
            (field, pa.array(values, pa.string()))
            for (field, _), values in zip(self._mapped, cells, strict=True)
        ]
        return canonical_batch(
            self._rules, columns, np.array(lines, dtype=np.int64), nulls_applied=False
        )
