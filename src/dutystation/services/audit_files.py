"""Audit trail export files: JSON Lines and CSV, written and read back record by record.

Every export carries each record's fields exactly as they were hashed, plus ``prev_hash``
and ``hash``, so the file can be verified offline (``dutystation audit verify --file``)
by anyone holding the algorithm in docs/audit.md.

CSV cells must be formula-safe (RELIABILITY C8) and still give back the exact text that
was hashed. ``escape_cell`` alone is ambiguous on the way back (is a leading ``'`` ours or
the value's?), so text cells use a reversible form of it: a ``'`` is put in front of every
text that is formula-like, starts with ``'`` or is empty; an empty cell is NULL. A reader
drops one leading ``'`` and gets the original. ``write_safe_csv`` then finds nothing left
to defuse.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Generator, Iterable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from dutystation.errors import InputFileError, Location
from dutystation.reports.spreadsheet_safety import is_formula_like, write_safe_csv


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


# The columns of an export, in order: the hashed fields, then the two hashes.
COLUMNS = (
    "seq",
    "at",
    "actor",
    "actor_user_id",
    "channel",
    "action",
    "outcome",
    "subject_type",
    "subject_id",
    "before",
    "after",
    "prev_hash",
    "hash",
)
_INTEGERS = frozenset({"seq", "actor_user_id"})
_REQUIRED = frozenset({"seq", "at", "actor", "channel", "action", "outcome", "prev_hash", "hash"})


def write_export(path: Path, fmt: ExportFormat, records: Iterable[Mapping[str, Any]]) -> int:
    """Write ``records`` (dicts with ``COLUMNS``) to ``path`` atomically, readable by its
    owner only; returns the number written."""
    if fmt is ExportFormat.CSV:
        rows = ([_csv_cell(r[c], c) for c in COLUMNS] for r in records)
        return write_safe_csv(path, COLUMNS, rows)
    return _write_jsonl(path, records)


def _csv_cell(value: Any, column: str) -> str | int | None:
    if value is None or (column in _INTEGERS and isinstance(value, int)):
        return value
    text = str(value)
    return "'" + text if not text or text.startswith("'") or is_formula_like(text) else text


def _write_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> int:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    count = 0
    try:
        with open(fd, "w", encoding="utf-8", newline="\n") as fh:
            for record in records:
                fh.write(json.dumps({c: record[c] for c in COLUMNS}, ensure_ascii=False))
                fh.write("\n")
                count += 1
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


def read_export(path: Path) -> Generator[dict[str, Any]]:
    """The records of an export file, one at a time, whichever format it is in."""
    if not path.is_file():
        raise InputFileError(Location(path), "no such file")
    with path.open("rb") as fh:
        head = fh.read(8).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        yield from _read_jsonl(path)
    else:
        yield from _read_csv(path)


def _read_jsonl(path: Path) -> Generator[dict[str, Any]]:
    with path.open(encoding="utf-8-sig") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except ValueError:
                raise InputFileError(Location(path, line_no), "not a JSON record") from None
            yield _checked(raw, path, line_no)


def _read_csv(path: Path) -> Generator[dict[str, Any]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or tuple(header) != COLUMNS:
            raise InputFileError(
                Location(path, 1), "not an audit trail export (the header does not match)"
            )
        for cells in reader:
            line_no = reader.line_num
            if len(cells) != len(COLUMNS):
                raise InputFileError(Location(path, line_no), "wrong number of fields")
            raw: dict[str, Any] = {}
            for column, cell in zip(COLUMNS, cells, strict=True):
                if cell == "":
                    raw[column] = None
                elif column in _INTEGERS:
                    raw[column] = _integer(cell, path, line_no, column)
                else:
                    raw[column] = cell[1:] if cell.startswith("'") else cell
            yield _checked(raw, path, line_no)


def _integer(cell: str, path: Path, line_no: int, column: str) -> int:
    try:
        return int(cell)
    except ValueError:
        raise InputFileError(Location(path, line_no, column), "not a whole number") from None


def _checked(raw: Any, path: Path, line_no: int) -> dict[str, Any]:
    if not isinstance(raw, dict) or set(raw) != set(COLUMNS):
        raise InputFileError(
            Location(path, line_no), "not an audit trail record (its fields do not match)"
        )
    for column in _REQUIRED:
        if raw[column] is None:
            raise InputFileError(Location(path, line_no, column), "missing value")
    if not isinstance(raw["seq"], int) or isinstance(raw["seq"], bool):
        raise InputFileError(Location(path, line_no, "seq"), "not a whole number")
    return raw
