"""Writing one event file: the canonical schema exactly, zstd, streamed batch by batch.

DuckDB's own ``COPY ... TO`` marks columns it knows to be non-null as ``required``, so
files of one dataset would differ in schema from batch to batch; writing through pyarrow
with the canonical schema keeps every file identical in shape. It also pipelines: DuckDB
computes the next batch on its threads while this thread encodes the previous one."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# Rows per row group: large enough for good compression, small enough that a reader
# filtering on local_date or employee_id skips most of a month.
ROW_GROUP_ROWS = 262_144


def write_events(
    batches: pa.RecordBatchReader,
    path: Path,
    schema: pa.Schema,
    *,
    dictionary: Sequence[str],
) -> int:
    """Write ``batches`` to ``path`` in ``schema``; returns the row count (no file if 0).

    ``dictionary`` names the low-cardinality columns worth dictionary encoding; encoding
    a column with hundreds of thousands of distinct ids that way costs more than it saves.
    """
    rows = 0
    writer: pq.ParquetWriter | None = None
    try:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            if writer is None:
                writer = pq.ParquetWriter(
                    path,
                    schema,
                    compression="zstd",
                    use_dictionary=list(dictionary),
                    write_statistics=True,
                )
            writer.write_batch(batch.cast(schema), row_group_size=ROW_GROUP_ROWS)
            rows += batch.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows
