"""Formula-injection safety for every CSV and XLSX a person may open in a spreadsheet
(OWASP ASVS 5.0 1.2.10; RELIABILITY.md C8).

A cell whose text starts with ``= + - @``, a tab, a carriage return or NUL (or the
full-width ``＝ ＋ － ＠`` some spreadsheet locales also accept), possibly after spaces, is
prefixed with ``'`` so it is shown as text and never run. Genuine numbers such as
``-12.5`` or ``+3`` are left alone by the ``*_or_number`` variants so numeric columns stay
numeric.

Report exports use the reversible form (``escape_text``, ``escape_column``): a text that
itself starts with ``'`` gets one more, so a reader strips exactly one leading ``'``
whenever there is one (``unescape_text``) and has the original back. ``escape_cell`` alone
leaves such a text as it is; callers that need to read back pre-escape reversibly
(services/audit_files.py) and then find nothing left for ``escape_cell`` to do.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

TRIGGERS = frozenset("=+-@\t\r\x00\uff1d\uff0b\uff0d\uff20")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# The same two rules in RE2 syntax, for Arrow columns.
_TRIGGER_RE2 = "^(?:'| *[=+\\-@\\t\\r\\x00\uff1d\uff0b\uff0d\uff20])"
_NUMBER_RE2 = "^[+-]?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"

Cell = str | int | float | bool | dt.date | dt.time | None


def is_formula_like(value: str) -> bool:
    rest = value.lstrip(" ")
    return bool(rest) and rest[0] in TRIGGERS


def escape_cell(value: str) -> str:
    """Text that a spreadsheet will show, never evaluate."""
    return "'" + value if is_formula_like(value) else value


def escape_text(value: str) -> str:
    """``escape_cell`` made reversible: a text starting with ``'`` is prefixed too."""
    return "'" + value if value.startswith("'") or is_formula_like(value) else value


def unescape_text(value: str) -> str:
    """The original of an ``escape_text`` (or ``escape_column``) result."""
    return value[1:] if value.startswith("'") else value


def escape_cell_or_number(value: Cell) -> Cell:
    """Like ``escape_text``, but numbers (and texts that are plain decimal numbers) stay
    numbers; other non-text values pass unchanged."""
    if not isinstance(value, str) or _NUMBER.fullmatch(value):
        return value
    return escape_text(value)


def is_plain_number(value: str) -> bool:
    """A text a spreadsheet reads as a number (``-12.5``), not as a formula."""
    return _NUMBER.fullmatch(value) is not None


def escape_column(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """``escape_cell_or_number`` over an Arrow column, vectorised; nulls stay null and the
    result is always a string column."""
    text = values if values.type == pa.string() else values.cast(pa.string())
    risky = pc.and_(
        pc.match_substring_regex(text, pattern=_TRIGGER_RE2),
        pc.invert(pc.match_substring_regex(text, pattern=_NUMBER_RE2)),
    )
    prefixed = pc.binary_join_element_wise(pa.scalar("'"), text, pa.scalar(""))
    return pc.if_else(risky, prefixed, text)


def _csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, int | float):
        return str(value)
    return escape_cell(value) if not _NUMBER.fullmatch(value) else value


def write_safe_csv(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    excel_bom: bool = True,
) -> int:
    """Write a CSV whose every cell is formula-safe; returns the number of data rows.

    The file appears atomically (temp file in the same directory, fsync, rename), readable
    by its owner only, since exports and quarantine files hold personal data. With
    ``excel_bom`` a UTF-8 byte-order mark tells Excel the encoding (names keep accents)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    count = 0
    try:
        with open(fd, "w", encoding="utf-8-sig" if excel_bom else "utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\r\n")
            writer.writerow([escape_cell(h) for h in header])
            for row in rows:
                writer.writerow([_csv_text(v) for v in row])
                count += 1
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count
