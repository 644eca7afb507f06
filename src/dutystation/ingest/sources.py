"""Open a user file of any supported shape and yield canonical Arrow batches.

Contract (everything downstream relies on it):

* ``open_source(path, profile)`` checks the file (format by content, encoding, dialect,
  header) and raises ``InputFileError`` for a file-level problem before any row is read.
* ``Source.batches()`` yields ``pa.RecordBatch`` objects whose columns are the canonical
  field names present in the file (all ``pa.string()``, ``null`` for the profile's null
  values, value maps and patterns already applied) plus ``_line`` (``int64``): the 1-based
  record number in the file counting the header as line 1 (equal to the physical line
  unless a quoted value spans lines). A problem found mid-file (truncated gzip, an
  unbalanced quote) raises ``InputFileError`` from the iterator.
* ``Source.bytes_read`` / ``Source.info.size_bytes`` drive progress bars.

This first version reads UTF-8 comma-separated CSV only; the full reader replaces it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from dutystation.errors import InputFileError, Location
from dutystation.ingest.fields import FIELDS
from dutystation.ingest.profiles import Profile

LINE = "_line"


@dataclass
class SourceInfo:
    path: Path
    format: str
    encoding: str
    delimiter: str | None
    columns: list[str]
    size_bytes: int


@dataclass
class Source:
    info: SourceInfo
    profile: Profile
    batch_rows: int
    bytes_read: int = 0
    _renames: dict[str, str] = field(default_factory=dict)

    def batches(self) -> Iterator[pa.RecordBatch]:
        reader = pacsv.open_csv(
            self.info.path,
            read_options=pacsv.ReadOptions(block_size=8 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(self._renames, pa.string()),
                include_columns=list(self._renames),
                strings_can_be_null=True,
                null_values=self.profile.source.null_values,
            ),
        )
        line = 2
        for batch in reader:
            arrays = [batch.column(name) for name in self._renames]
            names = list(self._renames.values())
            arrays.append(pa.array(np.arange(line, line + batch.num_rows, dtype=np.int64)))
            names.append(LINE)
            line += batch.num_rows
            yield pa.RecordBatch.from_arrays(arrays, names=names)


def open_source(path: Path, profile: Profile, *, batch_rows: int = 1_000_000) -> Source:
    try:
        with path.open("rb") as fh:
            header = fh.readline().decode("utf-8").rstrip("\r\n").split(",")
    except OSError as exc:
        raise InputFileError(Location(path), f"cannot read the file ({exc.strerror})") from None
    header = [h.strip().strip('"') for h in header]
    renames: dict[str, str] = {}
    for f in FIELDS[profile.kind]:
        for candidate in profile.source_names(f.name):
            if candidate in header:
                renames[candidate] = f.name
                break
        else:
            if f.required:
                raise InputFileError(
                    Location(path, 1, f.name), f"required column {f.name!r} is missing"
                )
    info = SourceInfo(path, "csv", "utf-8", ",", list(renames.values()), path.stat().st_size)
    return Source(info, profile, batch_rows, _renames=renames)
