"""Open a user file of any supported shape and yield canonical Arrow batches.

Contract (everything downstream relies on it):

* ``open_source(path, profile)`` checks the file (format by content, encoding, dialect,
  header) and raises ``InputFileError`` for a file-level problem before any row is read.
* ``Source.batches()`` yields ``pa.RecordBatch`` objects (at most ``batch_rows`` rows each)
  whose columns are the canonical field names present in the file, in field order (all
  ``pa.string()``, ``null`` for the profile's null values, value maps and patterns already
  applied) plus ``_line`` (``int64``): the 1-based record number in the file counting the
  header as line 1 (equal to the physical line unless a quoted value spans lines). A
  problem found mid-file (truncated gzip, an unbalanced quote) raises ``InputFileError``
  from the iterator. A header-only file yields no batch.
* ``Source.malformed_rows``: ``(line, reason)`` of rows with more or fewer fields than the
  header. They are not in any batch; the validator reports them as row-level rejections.
  The list is complete once ``batches()`` is exhausted.
* ``Source.bytes_read`` / ``Source.info.size_bytes`` drive progress bars (for gzip the
  compressed bytes read, for Parquet and XLSX an estimate).
* Error messages name the file, line, column and a reason, never cell contents.

What each source looks like:

* Size caps (``IngestLimits``, from settings): a gzip-compressed CSV stops at its
  decompressed-size cap or compression ratio, an XLSX is checked as an archive (parts,
  names, layout, actual inflated size) before it is read; both refuse with one sentence.
* Format is decided by content: Parquet (``PAR1``), XLSX (a ZIP with ``xl/``), gzip (CSV
  inside, decompressed as a stream), otherwise delimited text. A known extension naming
  another format is refused; an empty (0-byte) file is refused.
* Text is UTF-8 (a byte-order mark is skipped) or UTF-16 with a byte-order mark; any
  other encoding (Latin-1, Windows-1252, BOM-less UTF-16) only when the profile declares
  ``[source] encoding``. Nothing is ever decoded with replacement characters.
* The delimiter is the one an Excel ``sep=`` first line names (the file knows best; the
  line counts as line 1), else the profile's, else whichever of ``, ; TAB |`` splits the
  header into the most expected column names. Headers match the profile by normalised
  name (case, spaces, ``_``/``-``); unknown columns are ignored, duplicates and more
  than 1,000 columns refused.
* Quoted values may span lines. A quote left open is refused (at the end of the file, or
  once a record outgrows the parser's block, 1 MiB) instead of swallowing the rest.
* Blank lines, and rows with no value in any canonical column (``,,,`` padding), are not
  rows: they yield nothing and are not reported, but keep their line numbers.
* Values: surrounding whitespace trimmed, then null texts, patterns and value maps as
  described in ``ValueRules``. Ids stay text end to end (leading zeros kept).
* XLSX: ``_line`` is the Excel row; numbers, dates and formulas as in ``_xlsx``.
  Parquet: ``_line`` is the row number + 1; types as in ``_parquet``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from dutystation.errors import InputFileError, Location
from dutystation.ingest._csv import CsvReader, read_head
from dutystation.ingest._detect import sniff
from dutystation.ingest._mapping import LINE, ValueRules, map_header
from dutystation.ingest._parquet import ParquetReader, check_types, open_parquet
from dutystation.ingest._xlsx import XlsxReader, XlsxSheet
from dutystation.ingest.limits import IngestLimits
from dutystation.ingest.profiles import Profile

__all__ = ["LINE", "Source", "SourceInfo", "open_source"]


@dataclass
class SourceInfo:
    path: Path
    format: str  # csv | xlsx | parquet
    encoding: str | None  # text only, e.g. utf-8, utf-16-le, latin-1
    delimiter: str | None  # text only
    columns: list[str]  # canonical fields present, in field order
    size_bytes: int
    compression: str | None = None  # gzip
    header_line: int = 1  # 2 after a sep= line; the Excel row of an XLSX header


class _Reader(Protocol):
    bytes_read: int

    def batches(self) -> Iterator[pa.RecordBatch]: ...


@dataclass
class Source:
    info: SourceInfo
    profile: Profile
    batch_rows: int
    _reader: _Reader
    bytes_read: int = 0
    malformed_rows: list[tuple[int, str]] = field(default_factory=list)

    def batches(self) -> Iterator[pa.RecordBatch]:
        self.malformed_rows.clear()
        self.bytes_read = 0
        for batch in self._reader.batches():
            self.bytes_read = self._reader.bytes_read
            for start in range(0, batch.num_rows, self.batch_rows):
                yield batch.slice(start, self.batch_rows)
        self.bytes_read = self._reader.bytes_read


def open_source(
    path: Path,
    profile: Profile,
    *,
    batch_rows: int = 1_000_000,
    limits: IngestLimits | None = None,
) -> Source:
    path = Path(path)
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    sniffed = sniff(path, profile.source.encoding, limits)
    rules = ValueRules.from_profile(profile)
    size = path.stat().st_size
    malformed: list[tuple[int, str]] = []
    reader: _Reader
    if sniffed.format == "parquet":
        parquet, schema = open_parquet(path)
        mapped = map_header(path, schema.names, profile, 1)
        check_types(path, schema, mapped)
        reader = ParquetReader(path, parquet, mapped, rules, batch_rows)
        info = SourceInfo(path, "parquet", None, None, [f for f, _ in mapped], size)
    elif sniffed.format == "xlsx":
        sheet = XlsxSheet(path, profile.source.sheet)
        mapped = map_header(path, sheet.header, profile, sheet.header_line)
        reader = XlsxReader(sheet, mapped, rules, batch_rows)
        columns = [f for f, _ in mapped]
        info = SourceInfo(path, "xlsx", None, None, columns, size, None, sheet.header_line)
    else:
        head = read_head(path, sniffed, profile)
        mapped = map_header(path, head.names, profile, head.header_line)
        if len(head.names) < 2:
            raise InputFileError(
                Location(path, head.header_line),
                "the header has one column only (is the delimiter right?)",
            )
        reader = CsvReader(
            path, sniffed, head, mapped, rules, profile.source.null_values, malformed, limits
        )
        info = SourceInfo(
            path,
            "csv",
            sniffed.encoding,
            head.delimiter,
            [f for f, _ in mapped],
            size,
            sniffed.compression,
            head.header_line,
        )
    return Source(info, profile, batch_rows, reader, malformed_rows=malformed)
