"""Parquet: streamed batch by batch (row group by row group), every mapped column turned
into text the way a CSV export of the same data would read.

* timestamps: ISO 8601; tz-aware ones in UTC with ``Z`` (same instant, whatever zone the
  writer used), naive ones without an offset (validation treats them as site-local);
* dates ISO, whole floats as integers (``12345.0`` -> ``12345``), booleans ``true``/``false``;
* an integer id column is accepted, but its leading zeros were lost when it was written as
  a number: validation cannot restore them;
* nested (list, struct, map) mapped columns are refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dutystation.errors import InputFileError, Location
from dutystation.ingest._mapping import ValueRules, canonical_batch

_EXACT_FLOAT_INTS = 2**53


def open_parquet(path: Path) -> tuple[pq.ParquetFile, pa.Schema]:
    try:
        parquet = pq.ParquetFile(str(path))
        return parquet, parquet.schema_arrow
    except (pa.ArrowException, OSError, ValueError):  # ValueError: undecodable names
        raise InputFileError(
            Location(path), "the Parquet file is damaged or truncated (its footer cannot be read)"
        ) from None


def check_types(path: Path, schema: pa.Schema, mapped: list[tuple[str, int]]) -> None:
    for field, index in mapped:
        kind = schema.field(index).type
        if pa.types.is_nested(kind):
            raise InputFileError(
                Location(path, None, field),
                f"the column holds nested values ({kind}); a flat text, number or date "
                "column is needed",
            )


class ParquetReader:
    def __init__(
        self,
        path: Path,
        parquet: pq.ParquetFile,
        mapped: list[tuple[str, int]],
        rules: ValueRules,
        batch_rows: int,
    ) -> None:
        self._path, self._parquet, self._mapped = path, parquet, mapped
        self._rules, self._batch_rows = rules, batch_rows
        self.bytes_read = 0

    def batches(self) -> Iterator[pa.RecordBatch]:
        schema = self._parquet.schema_arrow
        names = [schema.field(i).name for _, i in self._mapped]
        total = max(self._parquet.metadata.num_rows, 1)
        size = self._path.stat().st_size
        line = 2  # the first row is line 2, as in a CSV export with a header
        try:
            for batch in self._parquet.iter_batches(
                batch_size=self._batch_rows, columns=sorted(set(names))
            ):
                columns = [
                    (field, self._text(field, batch.column(name)))
                    for (field, _), name in zip(self._mapped, names, strict=True)
                ]
                lines = np.arange(line, line + batch.num_rows, dtype=np.int64)
                line += batch.num_rows
                self.bytes_read = min(size, size * (line - 2) // total)
                yield canonical_batch(self._rules, columns, lines, nulls_applied=False)
        except (pa.ArrowException, OSError, ValueError):
            raise InputFileError(
                Location(self._path, line), "the Parquet data is damaged or truncated here"
            ) from None

    def _text(self, field: str, column: pa.Array) -> pa.Array:
        try:
            return as_text(column)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise InputFileError(
                Location(self._path, None, field),
                f"the column's values ({column.type}) cannot be read as text",
            ) from None


def as_text(column: pa.Array) -> pa.Array:
    kind = column.type
    if pa.types.is_dictionary(kind):
        return as_text(column.dictionary_decode())
    if pa.types.is_null(kind):
        return pa.nulls(len(column), pa.string())
    if pa.types.is_timestamp(kind):
        return _timestamp_text(column)
    if pa.types.is_floating(kind):
        return _float_text(column.cast(pa.float64()))
    return column.cast(pa.string())


def _timestamp_text(column: pa.Array) -> pa.Array:
    kind = column.type
    if kind.tz is not None:
        column = column.cast(pa.timestamp(kind.unit, "UTC"))
        text = pc.strftime(column, format="%Y-%m-%dT%H:%M:%SZ")
    else:
        text = pc.strftime(column, format="%Y-%m-%dT%H:%M:%S")
    if kind.unit == "s":
        return text
    # Sub-second units always print a fraction; drop it when it is all zeros.
    return pc.replace_substring_regex(text, pattern=r"\.0+(Z?)$", replacement=r"\1")


def _float_text(column: pa.Array) -> pa.Array:
    whole = pc.and_(
        pc.equal(pc.floor(column), column),
        pc.less(pc.abs(column), float(_EXACT_FLOAT_INTS)),
    )
    as_int = pc.cast(pc.if_else(whole, column, 0.0), pa.int64()).cast(pa.string())
    return pc.if_else(whole, as_int, column.cast(pa.string()))
