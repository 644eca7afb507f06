"""Dictionary-encoded result columns with one index type, whichever way rows were made.

DuckDB picks an ENUM's index width from the values of the range evaluated, so rows kept
from one evaluation and rows computed by another can differ in type only; every column is
given the narrowest index type holding the values it shows (kept_periods.py).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc


def _index_type(values: int) -> Any:
    """DuckDB sizes an ENUM's indices to its values: uint8 below 256 of them."""
    return pa.uint8() if values < 2**8 else pa.uint16() if values < 2**16 else pa.uint32()


def _distinct(arrays: list[Any]) -> int:
    return len(pc.unique(pa.concat_arrays(arrays)).drop_null()) if arrays else 0


def _shown(chunks: list[Any], enough: int) -> int:
    """How many distinct values the rows of ``chunks`` (dictionary arrays) show, counted
    up to ``enough``: a unit's org units, say, are past 255 in the first chunk."""
    seen: Any = None
    for chunk in chunks:
        shown = chunk.dictionary.take(pc.unique(chunk.indices)).drop_null()
        seen = pc.unique(shown if seen is None else pa.concat_arrays([seen, shown]))
        if len(seen) >= enough:
            break
    return 0 if seen is None else len(seen)


def _narrowed(chunk: Any, index: Any) -> Any:
    """``chunk`` (a dictionary array) with ``index`` indices; its unused values dropped
    when its dictionary is too long for them."""
    if chunk.type.index_type == index:
        return chunk
    if _index_type(len(chunk.dictionary)).bit_width <= index.bit_width:
        return chunk.cast(pa.dictionary(index, chunk.type.value_type))
    used = pc.unique(chunk.indices).drop_null()
    positions = pc.index_in(chunk.indices, value_set=used).cast(index)
    return pa.DictionaryArray.from_arrays(positions, chunk.dictionary.take(used))


def conformed(parts: list[Any]) -> Any:
    """``parts`` (tables of one evaluation's columns) as one table whose ENUM columns (the
    dictionary columns with unsigned indices) have the narrowest indices that hold the
    distinct values they show.

    DuckDB sizes them to the ENUM's values, which depend on the range evaluated (every day
    of it has a label, even when only weeks are asked for; the duty stations of the
    assignments in it); Spark to the values shown. Rows of one period are the same in an
    evaluation of the period alone, of a year, or read back from a kept result, but their
    index types are not, and ``pa.concat_tables`` refuses to join them. Sized by the values
    shown, a table's schema is the same whichever engine made it and whichever of its
    periods were kept. ``reason`` (int32, encoded batch by batch) is left as it is."""
    first = parts[0].schema
    fields, columns = [], []
    for i, field in enumerate(first):
        chunks = [c for part in parts for c in part.column(i).chunks]
        kind = field.type
        if pa.types.is_dictionary(kind) and pa.types.is_unsigned_integer(kind.index_type):
            values = _distinct([c.dictionary for c in chunks])
            if values >= 2**8:  # the dictionaries may hold values no row shows
                values = _shown(chunks, 2**8 if values < 2**16 else 2**16)
            kind = pa.dictionary(_index_type(values), kind.value_type)
            chunks = [_narrowed(c, kind.index_type) for c in chunks]
        else:
            chunks = [c if c.type == kind else c.cast(kind) for c in chunks]
        fields.append(field.with_type(kind))
        columns.append(pa.chunked_array(chunks, kind))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields, first.metadata))
