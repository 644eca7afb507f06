"""Delimited text: the header line, the dialect, Arrow's streaming parse, and record
numbering that survives skipped (ragged or blank) rows."""

from __future__ import annotations

import bisect
import codecs
import csv
import functools
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from dutystation.errors import ConfigError, InputFileError, Location
from dutystation.ingest._detect import Sniffed, not_utf8
from dutystation.ingest._mapping import ValueRules, canonical_batch, expected_names, normalise
from dutystation.ingest._stream import (
    BLOCK_BYTES,
    MARKER,
    StreamFailure,
    TextStream,
    stream_error,
)
from dutystation.ingest.limits import IngestLimits
from dutystation.ingest.profiles import Profile

HEADER_CAP_BYTES = 1 << 20
MAX_MALFORMED = 100_000
DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_WORDS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
_SEP_LINE = re.compile(r'^"?sep=(.)"?[ \t]*$', re.IGNORECASE)


@dataclass(frozen=True)
class Head:
    delimiter: str
    names: list[str]
    header_line: int  # record number of the header: 1, or 2 after a ``sep=`` line
    skip_lines: int  # physical lines before the first data record


def read_head(path: Path, sniffed: Sniffed, profile: Profile) -> Head:
    """Read just enough text for the optional ``sep=`` line and the header record."""
    stream = TextStream(path, sniffed, marker=False)
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    text, eof, consumed = "", False, sniffed.bom
    try:
        while True:
            chunk = stream.read(64 << 10)
            eof = not chunk
            try:
                text += decoder.decode(chunk, final=eof)
            except UnicodeDecodeError as exc:
                raise not_utf8(path, consumed + exc.start) from None
            consumed += len(chunk)
            head = _parse_head(path, text, eof, profile)
            if head is not None:
                return head
            if len(text) > HEADER_CAP_BYTES:
                raise InputFileError(
                    Location(path, 1),
                    f"the header line is longer than {HEADER_CAP_BYTES >> 20} MiB "
                    "(an unbalanced quote?)",
                )
    except StreamFailure as exc:
        raise stream_error(path, sniffed, exc, 1) from None
    finally:
        stream.stop()


def _parse_head(path: Path, text: str, eof: bool, profile: Profile) -> Head | None:
    lines = io.StringIO(text, newline="").readlines()
    if not lines or not "".join(lines).strip():
        if eof:
            raise InputFileError(Location(path), "the file is empty")
        return None
    sep = _SEP_LINE.match(lines[0].rstrip("\r\n"))
    skipped = 1 if sep else 0
    body = "".join(lines[skipped:])
    if sep:
        delimiter = sep.group(1)
        if delimiter not in DELIMITERS:
            raise InputFileError(Location(path, 1), "the sep= line names an unsupported delimiter")
    else:
        delimiter = _declared_delimiter(profile) or _detect_delimiter(body, profile)
    parsed = _first_record(body, delimiter)
    if parsed is None:
        if eof:
            raise InputFileError(
                Location(path, 1 + skipped), "the header line cannot be read (an unbalanced quote?)"
            )
        return None
    names, physical = parsed
    if physical >= len(lines) - skipped and not eof:
        return None  # the header record may continue in the next chunk
    return Head(delimiter, names, 1 + skipped, skipped + physical)


def _declared_delimiter(profile: Profile) -> str | None:
    declared = profile.source.delimiter
    if declared is None:
        return None
    delimiter = _DELIMITER_WORDS.get(declared.casefold(), declared)
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise ConfigError(
            f"profile {profile.name!r}: [source] delimiter must be one character "
            "(or tab, comma, semicolon, pipe)"
        )
    return delimiter


def _first_record(body: str, delimiter: str) -> tuple[list[str], int] | None:
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter, strict=False)
    try:
        names = next(reader)
    except (csv.Error, StopIteration):
        return None
    return [n.strip() for n in names], reader.line_num


def _detect_delimiter(body: str, profile: Profile) -> str:
    """The delimiter whose split of the header finds the most expected column names; the
    standard library's sniffer only breaks a tie at zero (e.g. an unrelated file)."""
    expected = expected_names(profile)
    scores: list[tuple[int, int, str]] = []
    for d in DELIMITERS:
        parsed = _first_record(body, d)
        names = parsed[0] if parsed else []
        scores.append((sum(normalise(n) in expected for n in names), len(names), d))
    best = max(scores, key=lambda s: (s[0], s[1]))
    if best[0] > 0:
        return best[2]
    try:
        return csv.Sniffer().sniff(body[:8192], delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        return ","


class _Records:
    """Record numbers (header = its own line number) of the rows Arrow yields, given the
    rows it skipped: ragged rows (reported), blank lines and the end marker (not)."""

    def __init__(self, head: Head, expected: int, malformed: list[tuple[int, str]]) -> None:
        self._offset = head.header_line - head.skip_lines  # Arrow numbers physical skips
        self._expected = expected
        self._malformed = malformed
        self._skipped: list[int] = []
        self._pos = 0
        self.markers: list[int] = []
        self.cursor = head.header_line + 1
        self.too_many = False

    def handler(self, row: Any) -> str:
        number = row.number if row.number is not None else self.last + 1
        record = int(number) + self._offset
        self._skipped.append(record)
        if row.actual_columns == 1 and row.text == MARKER:
            self.markers.append(record)
        elif row.actual_columns == 1 and not row.text.strip():
            pass  # blank lines (and trailing ones) are not rows
        elif len(self._malformed) >= MAX_MALFORMED:
            self.too_many = True
        else:
            self._malformed.append(
                (record, f"expected {self._expected} fields, found {row.actual_columns}")
            )
        return "skip"

    @property
    def last(self) -> int:
        tail = self._skipped[-1] if self._skipped else 0
        return max(self.cursor - 1, tail)

    def lines(self, n: int) -> np.ndarray:
        """Record numbers of the next ``n`` yielded rows."""
        start, extra = self.cursor, 0
        while True:
            end = start + n + extra
            found = bisect.bisect_left(self._skipped, end, lo=self._pos) - self._pos
            if found == extra:
                break
            extra = found
        numbers = np.arange(start, end, dtype=np.int64)
        if extra:
            skipped = np.array(self._skipped[self._pos : self._pos + extra], dtype=np.int64)
            numbers = numbers[~np.isin(numbers, skipped)]
        self._pos += extra
        self.cursor = end
        if self._pos > 4096:  # forget skipped rows already accounted for
            del self._skipped[: self._pos - 1]
            self._pos = 1
        return numbers

    def finish(self) -> bool:
        """True when the end marker arrived as the last record (no quote left open)."""
        if not self.markers or self.markers[-1] != self.last:
            return False
        for record in self.markers[:-1]:
            self._malformed.append((record, f"expected {self._expected} fields, found 1"))
        self._malformed.sort()
        return True


def _without_blank_rows(batch: pa.RecordBatch, empty_is_null: bool) -> pa.RecordBatch:
    """Drop rows with no value in any canonical column. Arrow hands blank lines over as
    rows of empty values once ``ignore_empty_lines`` is off (needed to count them as
    lines), and spreadsheet exports pad with ``,,,`` rows; neither holds anything."""
    values = batch.columns[:-1]
    if not values:
        return batch
    if empty_is_null:
        if any(column.null_count == 0 for column in values):
            return batch
        empty = [pc.is_null(column) for column in values]
    else:
        empty = [pc.fill_null(pc.equal(pc.binary_length(c), 0), True) for c in values]
    blank = functools.reduce(pc.and_, empty)
    return batch.filter(pc.invert(blank))


class CsvReader:
    def __init__(
        self,
        path: Path,
        sniffed: Sniffed,
        head: Head,
        mapped: list[tuple[str, int]],
        rules: ValueRules,
        null_values: list[str],
        malformed: list[tuple[int, str]],
        limits: IngestLimits | None = None,
    ) -> None:
        self._path, self._sniffed, self._head = path, sniffed, head
        self._limits = limits
        self._mapped, self._rules, self._nulls = mapped, rules, null_values
        self._malformed = malformed
        self.bytes_read = 0

    def batches(self) -> Iterator[pa.RecordBatch]:
        head = self._head
        names = [f"c{i}" for i in range(len(head.names))]
        wanted = sorted({i for _, i in self._mapped})
        records = _Records(head, len(names), self._malformed)
        stream = TextStream(self._path, self._sniffed, marker=True, limits=self._limits)
        try:
            reader = pacsv.open_csv(
                pa.PythonFile(stream, mode="r"),
                read_options=pacsv.ReadOptions(
                    use_threads=False,  # Arrow reports row numbers only when serial
                    block_size=BLOCK_BYTES,
                    skip_rows=head.skip_lines,
                    column_names=names,
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=head.delimiter,
                    newlines_in_values=True,
                    ignore_empty_lines=False,
                    invalid_row_handler=records.handler,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={names[i]: pa.string() for i in wanted},
                    include_columns=[names[i] for i in wanted],
                    null_values=self._nulls,
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                ),
            )
            held: pa.RecordBatch | None = None
            for raw in reader:
                stream.since_progress = 0
                self.bytes_read = stream.raw_bytes_read
                if records.too_many:
                    raise InputFileError(
                        Location(self._path),
                        f"more than {MAX_MALFORMED} rows have the wrong number of fields "
                        "(is the delimiter right?)",
                    )
                if held is not None:
                    yield held
                columns = [(field, raw.column(f"c{i}")) for field, i in self._mapped]
                held = _without_blank_rows(
                    canonical_batch(
                        self._rules, columns, records.lines(raw.num_rows), nulls_applied=True
                    ),
                    empty_is_null="" in self._nulls,
                )
            if not records.finish():
                near = records.last
                raise InputFileError(
                    Location(self._path, near),
                    f"unbalanced quote: a quoted value starting near line {near} never ends",
                )
            if held is not None:
                yield held
            self.bytes_read = self._path.stat().st_size
        except StreamFailure as exc:
            raise stream_error(self._path, self._sniffed, exc, records.last + 1) from None
        except pa.ArrowInvalid as exc:
            # Arrow's own messages can quote row contents: never pass them on.
            if "UTF8" in str(exc) and self._sniffed.encoding == "utf-8":
                raise not_utf8(self._path, self._first_bad_byte()) from None
            if "straddl" in str(exc):  # one record outgrew a whole block
                raise stream_error(
                    self._path, self._sniffed, StreamFailure("block"), records.last + 1
                ) from None
            raise InputFileError(
                Location(self._path, records.last + 1), "the file cannot be parsed as CSV here"
            ) from None
        except (OSError, pa.ArrowException):
            raise InputFileError(
                Location(self._path), "the file could not be read to the end"
            ) from None
        finally:
            stream.stop()

    def _first_bad_byte(self) -> int:
        stream = TextStream(self._path, self._sniffed, marker=False)
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        offset = 0
        try:
            while chunk := stream.read(BLOCK_BYTES):
                buffered = len(decoder.getstate()[0])
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    return offset - buffered + exc.start + self._sniffed.bom
                offset += len(chunk)
        finally:
            stream.stop()
        return offset + self._sniffed.bom
