"""A report section as CSV, safe to open in a spreadsheet.

One section per file (the report's primary section unless another is asked for): a CSV has
one header, and mixing tables would break every program that reads it. The header is the
columns' machine names (docs/reports.md). Text cells go through
``spreadsheet_safety.escape_column``, so a name like ``=HYPERLINK(...)`` arrives as the text
``'=HYPERLINK(...)``; numbers, dates and booleans are written unquoted as numbers, ISO dates
and ``true``/``false``; local times as ``YYYY-MM-DD HH:MM:SS``; a missing value is empty.

The conversion is column-wise in Arrow and the writer is Arrow's, so a presence export of
millions of rows streams without a Python object per cell."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from dutystation.reports.files import write_atomically
from dutystation.reports.model import ColumnKind, Section
from dutystation.reports.spreadsheet_safety import escape_column, escape_text

_BOM = "\ufeff".encode()


def _safe(values: pa.ChunkedArray, kind: ColumnKind) -> pa.ChunkedArray | pa.Array:
    if kind is ColumnKind.TEXT or pa.types.is_string(values.type):
        return escape_column(values)
    if pa.types.is_timestamp(values.type):
        # Office-local wall-clock times carry no zone; whole seconds are what T&A uses.
        return values.cast(pa.timestamp("s"), safe=False)
    if pa.types.is_floating(values.type):
        # NaN is no number a spreadsheet understands; it means "no value" here.
        return pc.if_else(pc.is_nan(values), pa.scalar(None, values.type), values)
    return values


def csv_table(section: Section) -> pa.Table:
    """The section's table with every column as it goes into the CSV."""
    arrays = [_safe(section.table.column(c.name), c.kind) for c in section.columns]
    names = [escape_text(c.name) for c in section.columns]
    return pa.Table.from_arrays(arrays, names=names)


def write_csv(section: Section, sink: BinaryIO, *, excel_bom: bool = False) -> int:
    """Write the section to ``sink``; returns the number of data rows. ``excel_bom`` puts a
    UTF-8 byte-order mark first, which tells Excel the encoding (names keep accents)."""
    if excel_bom:
        sink.write(_BOM)
    options = pa_csv.WriteOptions(include_header=True, quoting_style="needed")
    pa_csv.write_csv(csv_table(section), sink, write_options=options)
    return section.rows


def save_csv(section: Section, path: Path) -> Path:
    """The section as a CSV file for spreadsheets (with a byte-order mark)."""

    def write(fh: BinaryIO) -> None:
        write_csv(section, fh, excel_bom=True)

    return write_atomically(path, write)
