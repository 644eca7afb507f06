"""Storing one generation of the evaluation snapshot (``services/snapshot.py`` derives
it): the tables' rows, from Parquet files or small Arrow tables, a batch at a time with
the generation's id first, the ``evaluation_snapshot`` row, the pointer to it and the
audit record, in one transaction (``store/snapshot_rows.py``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias, cast

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Table, insert, update

from dutystation.bootstrap import Runtime
from dutystation.domain.access import Actor
from dutystation.services.audit import Change, record
from dutystation.services.progress import Progress
from dutystation.store import snapshot_rows as rows
from dutystation.store.schema import Base
from dutystation.store.schema_snapshot import EvaluationSnapshot

# A snapshot table's rows: a Parquet file that DuckDB wrote, or a small Arrow table.
Source: TypeAlias = Path | pa.Table


def store_generation(
    runtime: Runtime,
    actor: Actor,
    derived: dict[type[Base], Source],
    meta: dict[str, Any],
    progress: Progress,
    clock: float,
) -> int:
    """Store ``derived`` as a new generation described by ``meta`` and make it current,
    in one transaction (``snapshot_rows.storing``); its id."""
    total = sum(row_count(source) for source in derived.values())
    progress.start(f"Storing {total:,} rows", total)
    done = 0

    def stored(count: int) -> None:
        nonlocal done
        done += count
        progress.advance(rows=count, bytes_done=done)

    with rows.storing(runtime.engine) as conn:
        snapshot_id = int(
            conn.execute(
                insert(EvaluationSnapshot).returning(EvaluationSnapshot.id),
                {**meta, "computed_at": datetime.now(UTC), "seconds": 0.0},
            ).scalar_one()
        )
        for model, source in derived.items():
            table = cast(Table, model.__table__)
            rows.copy_arrow(conn, table, _with_snapshot_id(source, snapshot_id), stored)
        rows.serialise_writers(conn)
        seconds = time.perf_counter() - clock
        conn.execute(
            update(EvaluationSnapshot)
            .where(EvaluationSnapshot.id == snapshot_id)
            .values(computed_at=datetime.now(UTC), seconds=round(seconds, 3))
        )
        rows.replace_current(conn, snapshot_id)
        after = {k: meta[k] for k in ("period_start", "period_end", "employees", "week_rows")}
        after |= {"changes_seen": meta["changes_seen"], "event_batches": meta["event_batches"]}
        record(
            conn,
            actor,
            Change("snapshot.refresh", "evaluation_snapshot", str(snapshot_id), None, after),
        )
    return snapshot_id


def row_count(source: Source) -> int:
    return int(
        pq.ParquetFile(source).metadata.num_rows if isinstance(source, Path) else source.num_rows
    )


def _with_snapshot_id(source: Source, snapshot_id: int) -> pa.RecordBatchReader:
    """``source``'s rows a batch at a time, ``snapshot_id`` first."""
    if isinstance(source, Path):
        found = pq.ParquetFile(source)
        schema, batches = found.schema_arrow, found.iter_batches(batch_size=rows.BATCH_ROWS)
    else:
        schema, batches = source.schema, iter(source.to_batches(max_chunksize=rows.BATCH_ROWS))
    with_id = pa.schema([pa.field("snapshot_id", pa.int32()), *schema])

    def numbered() -> Iterator[pa.RecordBatch]:
        for batch in batches:
            ids = pa.array(np.full(batch.num_rows, snapshot_id, np.int32))
            yield pa.RecordBatch.from_arrays([ids, *batch.columns], schema=with_id)

    return pa.RecordBatchReader.from_batches(with_id, numbered())
