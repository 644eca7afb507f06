"""Rejected rows: the reason catalogue, the tally an import reports, and the quarantine
file a person reviews.

The quarantine file holds the rejected rows' source values, so it is personal data: it is
created readable by its owner only (0600) in ``settings.quarantine_dir``, and every cell
is neutralised against spreadsheet formula injection (RELIABILITY.md C8) because the
reviewer will open it in a spreadsheet. Messages built here never contain row values.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from dutystation.ingest.summary import RejectionClass
from dutystation.reports.spreadsheet_safety import escape_column

# reason code -> what it means, one phrase each (shown as "1,204 rows: <phrase> (...)").
REASONS: dict[str, str] = {
    "missing_value": "a required value is empty",
    "malformed_row": "the row cannot be read (wrong number of fields or broken quoting)",
    "bad_timestamp": "the timestamp is not ISO 8601 (or the profile's timestamp_format)",
    "dst_gap": (
        "the local time does not exist (skipped when clocks sprang forward); "
        "send it with a UTC offset or in UTC"
    ),
    "dst_ambiguous": (
        "the local time occurs twice (clocks fell back) and we do not guess which; "
        "send it with a UTC offset or in UTC"
    ),
    "future_timestamp": "the time is in the future",
    "too_old": "the date is before earliest_event_date",
    "unknown_site": "unknown office (site_id)",
    "unknown_employee": "unknown employee",
    "excel_mangled_id": (
        "looks like a number reformatted by a spreadsheet (e.g. 1.2E+11 or 123.0); "
        "export identifiers as text"
    ),
    "leading_zeros_lost": (
        "unknown employee, but a known id is the same number with leading zeros: a "
        "spreadsheet or numeric column may have dropped them; export identifiers as text"
    ),
    "unknown_badge": "the badge was held by nobody on that day",
    "bad_direction": "the direction is not IN, OUT or empty",
    "bad_date": "the date is not a valid date in the expected format",
    "too_far_ahead": "the date is more than a year ahead",
    "unknown_code": "the pay code maps to no hours category",
    "bad_hours": "hours are not a number from 0 to 24",
    "day_over_24h": "the employee's hours for that day add up to more than 24",
    "conflicting_hours": "the same employee, day and pay code appear with different hours",
}

FIXED_COLUMNS = ["file", "line", "column", "reason"]


@dataclass
class _Tally:
    count: int
    first_rank: tuple[int, int]  # (file number, line): the earliest occurrence
    first_file: Path
    first_line: int
    column: str | None


class Quarantine:
    """Collects rejected rows: counts per reason, and the rows themselves on disk."""

    def __init__(self, path: Path, value_columns: Sequence[str]) -> None:
        self.path = path
        self.value_columns = list(value_columns)
        self._tallies: dict[str, _Tally] = {}
        self._handle: IO[bytes] | None = None
        self._writer: pacsv.CSVWriter | None = None
        self._schema = pa.schema(
            [(name, pa.string()) for name in FIXED_COLUMNS + self.value_columns]
        )

    @property
    def rows(self) -> int:
        return sum(t.count for t in self._tallies.values())

    def add(self, file_no: int, file: Path, rows: pa.Table) -> None:
        """Record rejected rows of one file: columns ``_line``, ``_reason``, ``_column`` and
        the value columns (a missing value column is written empty)."""
        if rows.num_rows == 0:
            return
        self._count(file_no, file, rows)
        n = rows.num_rows
        arrays: list[pa.Array | pa.ChunkedArray] = [
            escape_column(pa.repeat(pa.scalar(str(file), pa.string()), n)),
            rows.column("_line").cast(pa.string()),
            rows.column("_column").cast(pa.string()),
            rows.column("_reason").cast(pa.string()),
        ]
        for name in self.value_columns:
            if name in rows.column_names:
                arrays.append(escape_column(rows.column(name)))
            else:
                arrays.append(pa.nulls(n, pa.string()))
        self._write(pa.Table.from_arrays(arrays, schema=self._schema))

    def add_malformed(self, file_no: int, file: Path, lines: Iterable[int]) -> None:
        """Rows the reader could not split into fields: only their line numbers are known."""
        line_list = sorted(lines)
        if not line_list:
            return
        n = len(line_list)
        table = pa.table(
            {
                "_line": pa.array(line_list, pa.int64()),
                "_reason": pa.array(["malformed_row"] * n),
                "_column": pa.nulls(n, pa.string()),
            }
        )
        self.add(file_no, file, table)

    def classes(self) -> list[RejectionClass]:
        """One entry per reason, in order of first occurrence."""
        ordered = sorted(self._tallies.items(), key=lambda item: item[1].first_rank)
        return [
            RejectionClass(
                reason=reason,
                message=REASONS.get(reason, reason),
                count=t.count,
                first_file=t.first_file,
                first_line=t.first_line,
                column=t.column,
            )
            for reason, t in ordered
        ]

    def close(self) -> Path | None:
        """Finish the file; returns its path, or None when nothing was rejected."""
        if self._writer is not None:
            self._writer.close()
        if self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
        self._writer = None
        self._handle = None
        return self.path if self._tallies else None

    # ---------------------------------------------------------------- internals

    def _count(self, file_no: int, file: Path, rows: pa.Table) -> None:
        grouped = rows.group_by(["_reason"]).aggregate([("_line", "count"), ("_line", "min")])
        for reason, count, first in zip(
            grouped.column("_reason").to_pylist(),
            grouped.column("_line_count").to_pylist(),
            grouped.column("_line_min").to_pylist(),
            strict=True,
        ):
            mask = pc.and_(
                pc.equal(rows.column("_reason"), reason), pc.equal(rows.column("_line"), first)
            )
            column = rows.filter(mask).column("_column")[0].as_py()
            rank = (file_no, int(first))
            tally = self._tallies.get(reason)
            if tally is None:
                self._tallies[reason] = _Tally(count, rank, file, int(first), column)
                continue
            tally.count += count
            if rank < tally.first_rank:
                tally.first_rank, tally.first_file = rank, file
                tally.first_line, tally.column = int(first), column

    def _write(self, table: pa.Table) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # O_EXCL: never follow or reuse a file someone else placed at this name.
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            self._handle = os.fdopen(fd, "wb")
            self._writer = pacsv.CSVWriter(
                self._handle,
                self._schema,
                write_options=pacsv.WriteOptions(quoting_style="needed"),
            )
        self._writer.write_table(table)


def rejection_message(classes: Sequence[RejectionClass], stored: bool) -> str:
    """The sentence an import raises or prints: a headline, then one line per reason."""
    total = sum(c.count for c in classes)
    head = (
        f"{total:,} rows were rejected; the valid rows were stored"
        if stored
        else f"{total:,} rows were rejected, so nothing was stored "
        "(fix the file and import it again, or use --accept-partial)"
    )
    lines = [head]
    for c in classes:
        column = f", column {c.column}" if c.column else ""
        lines.append(
            f"{c.count:,} rows: {c.message} (first at {c.first_file.name} line "
            f"{c.first_line}{column})"
        )
    return "\n".join(lines)
