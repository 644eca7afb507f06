"""An evaluation's rows on disk rather than in memory: ``RowsFile`` writes them part by part
to Parquet in a ``scratch_folder``, for the snapshot refresh (``snapshot.py``) and for a
live report too large to hold (``reporting/file_rows.py``). DuckDB then reads them within
its memory limit.

The rows hold names and statuses: a scratch folder is private to the account (0700, as
``tempfile`` makes it) and deleted when the work ends, however it ends; one left by a
process that was killed (SIGKILL, a power cut) is deleted by the first of its kind to
start a day later. Reasons never name a confidential category (``redacted``).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dutystation.services.reporting.tables import CONFIDENTIAL, CONFIDENTIAL_PATTERN
from dutystation.settings import Settings

# A scratch folder untouched this long is a killed process's (the work writing in it
# touches it every few minutes at most).
ABANDONED_SCRATCH_SECONDS = 24 * 3600


@contextlib.contextmanager
def scratch_folder(settings: Settings, prefix: str) -> Iterator[Path]:
    """A new folder ``<prefix>...`` under ``tmp_dir`` (0700), deleted however the block
    ends; folders of that prefix untouched for a day go first."""
    tmp_dir = settings.tmp_dir
    tmp_dir.mkdir(parents=True, exist_ok=True)
    abandoned = time.time() - ABANDONED_SCRATCH_SECONDS
    for left in tmp_dir.glob(f"{prefix}*"):
        with contextlib.suppress(OSError):  # another process got there first
            if left.is_dir() and left.stat().st_mtime < abandoned:
                shutil.rmtree(left)
    with tempfile.TemporaryDirectory(prefix=prefix, dir=tmp_dir) as path:
        yield Path(path)


class RowsFile:
    """The evaluation's rows, part after part (``evaluate_in_parts``), in one Parquet file:
    reasons redacted (``redacted``), the ``left_out`` columns left out (the snapshot
    leaves names out: no snapshot table holds them), dictionaries given one index type
    (each part has its own). It lives in a ``scratch_folder``."""

    def __init__(self, path: Path, left_out: Sequence[str] = ()) -> None:
        self.path = path
        self.left_out = list(left_out)
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, part: Any) -> None:
        table = part if isinstance(part, pa.Table) else pa.Table.from_batches([part])
        table = redacted(table.drop_columns(self.left_out))
        if self._schema is None:
            # One index type for every part (each part chose its narrowest); the texts stay
            # encoded, which is cheaper to write and to read than plain strings.
            self._schema = pa.schema(
                pa.field(f.name, pa.dictionary(pa.int32(), f.type.value_type))
                if pa.types.is_dictionary(f.type)
                else f
                for f in table.schema
            )
            self._writer = pq.ParquetWriter(self.path, self._schema, compression="snappy")
        assert self._writer is not None
        self._writer.write_table(table.cast(self._schema))
        self.rows += table.num_rows

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def redacted(employee_periods: pa.Table) -> pa.Table:
    """``reason`` with confidential category names replaced, as every report section does
    (the evaluation already writes "confidential category"; this is the safety net).
    Only the dictionary's distinct texts are rewritten."""
    i = employee_periods.schema.get_field_index("reason")
    column = employee_periods.column(i)
    chunks = []
    for chunk in column.chunks:
        if pa.types.is_dictionary(chunk.type):
            words = pc.replace_substring_regex(
                chunk.dictionary, pattern=CONFIDENTIAL_PATTERN, replacement=CONFIDENTIAL
            )
            chunks.append(pa.DictionaryArray.from_arrays(chunk.indices, words))
        else:
            chunks.append(
                pc.replace_substring_regex(
                    chunk, pattern=CONFIDENTIAL_PATTERN, replacement=CONFIDENTIAL
                )
            )
    cleaned = pa.chunked_array(chunks) if chunks else column
    return employee_periods.set_column(i, pa.field("reason", cleaned.type), cleaned)
