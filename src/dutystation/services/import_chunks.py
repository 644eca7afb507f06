"""Reading an import's files in chunks sized for DuckDB, the next chunk read on a helper
thread while the current one is checked (``services/import_events.py``)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

_SCAN_BATCH_ROWS = 100_000


def chunks(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Group reader batches into tables of about ``rows`` rows, made of ~100k-row slices.

    DuckDB scans a registered table in parallel across its record batches, but a single
    batch (or a Python iterator) on one thread only, which was 3x slower here; slicing
    is zero-copy."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield _sliced(pending)
            pending, count = [], 0
    if pending:
        yield _sliced(pending)


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_DONE = object()


def read_ahead(chunks: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """Read the next chunk on a helper thread while DuckDB checks the current one.

    Parsing (pyarrow) and checking (DuckDB) both release the GIL, so they overlap; at most
    one chunk waits, so memory stays at two chunks. A reader error is raised here, in
    the importing thread, as if it had been read directly."""
    slot: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                slot.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not offer(chunk):
                    return
        except BaseException as exc:  # handed over and re-raised in the importing thread
            offer(_Failed(exc))
            return
        offer(_DONE)

    helper = threading.Thread(target=produce, name="dutystation-read-ahead", daemon=True)
    helper.start()
    try:
        while True:
            item = slot.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            assert isinstance(item, pa.Table)
            yield item
    finally:
        stop.set()
        helper.join()


def _sliced(batches: list[pa.RecordBatch]) -> pa.Table:
    return pa.Table.from_batches(
        [
            b.slice(start, _SCAN_BATCH_ROWS)
            for b in batches
            for start in range(0, b.num_rows, _SCAN_BATCH_ROWS)
        ]
    )
