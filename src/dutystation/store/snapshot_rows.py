"""Reads and writes of the evaluation snapshot's tables (``schema_snapshot.py``).

- ``mark_stale``: what an import calls in its own transaction when it stored rows (a
  counter, so a refresh running meanwhile cannot clear the mark of an import it missed);
- ``copy_arrow``: an Arrow table, or a stream of record batches, into a snapshot table
  inside an open transaction —
  ``COPY ... FROM STDIN (FORMAT csv)`` fed by Arrow's C++ CSV writer on PostgreSQL (no
  Python object per value), one prepared INSERT over batches of plain tuples on SQLite;
- ``replace_current``: point ``snapshot_state`` at a new generation and delete every
  other one, in the caller's transaction;
- ``current``: the current snapshot's row and whether it is stale, in one query;
- ``storing``: the transaction a refresh stores its generation in.

Column and table names come from our own schema, never from input.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg import sql
from sqlalchemy import Connection, Engine, Table, delete, select, text, update

from dutystation.errors import Conflict, DutystationError
from dutystation.store.db import (
    PG_WRITER_LOCK,
    WRITER_WAIT_SECONDS,
    translate_errors,
    write_transaction,
)
from dutystation.store.schema_snapshot import (
    EvaluationSnapshot,
    SnapshotEmployee,
    SnapshotPayPeriod,
    SnapshotState,
    SnapshotUnit,
    SnapshotUnitWeek,
    SnapshotWeek,
)

STATE_ID = 1
# Any constant other than the writers' lock (store.db): two refreshes must not interleave.
PG_REFRESH_LOCK = 0x647574797366  # "dutysf"
BATCH_ROWS = 100_000
# Every table holding rows of a generation, children first.
GENERATION_TABLES: tuple[Table, ...] = tuple(
    m.__table__  # type: ignore[misc]
    for m in (SnapshotWeek, SnapshotPayPeriod, SnapshotEmployee, SnapshotUnitWeek, SnapshotUnit)
)
_SNAPSHOT: Table = EvaluationSnapshot.__table__  # type: ignore[assignment]
_STATE: Table = SnapshotState.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class CurrentSnapshot:
    id: int
    computed_at: datetime
    period_start: date
    period_end: date
    evidence_last: date
    directives: list[dict[str, Any]]
    notes: list[str]
    stale: bool  # an import stored rows after this snapshot began
    changed_at: datetime | None  # when the last such import was recorded


def mark_stale(conn: Connection, cause: str, *, now: datetime | None = None) -> None:
    """Record, in the caller's transaction, that evidence or the roster changed (``cause``:
    the audit action, e.g. ``import.badges``): the snapshot is stale from then on."""
    conn.execute(
        update(_STATE)
        .where(_STATE.c.id == STATE_ID)
        .values(changes=_STATE.c.changes + 1, changed_at=now or datetime.now(UTC), changed_by=cause)
    )


def change_count(conn: Connection) -> int:
    return int(conn.scalar(select(_STATE.c.changes).where(_STATE.c.id == STATE_ID)) or 0)


# The current snapshot and its stale mark, labelled ``snapshot_<name>``: ``current`` reads
# them alone, a status request with the person it is about (``CURRENT_FROM``: the one row
# of ``snapshot_state``, its snapshot, if any). Built once: read on every status request.
CURRENT_COLUMNS = tuple(
    c.label(f"snapshot_{c.name}")
    for c in (
        _SNAPSHOT.c.id,
        _SNAPSHOT.c.computed_at,
        _SNAPSHOT.c.period_start,
        _SNAPSHOT.c.period_end,
        _SNAPSHOT.c.evidence_last,
        _SNAPSHOT.c.directives,
        _SNAPSHOT.c.notes,
        _SNAPSHOT.c.changes_seen,
        _STATE.c.changes,
        _STATE.c.changed_at,
    )
)
CURRENT_FROM = _STATE.join(_SNAPSHOT, _SNAPSHOT.c.id == _STATE.c.current_snapshot_id)
CURRENT_STATE = _STATE.c.id == STATE_ID
_CURRENT = select(*CURRENT_COLUMNS).select_from(CURRENT_FROM).where(CURRENT_STATE)


def current(conn: Connection) -> CurrentSnapshot | None:
    return current_of(conn.execute(_CURRENT).first())


def current_of(row: Any) -> CurrentSnapshot | None:
    """The snapshot in a row read with ``CURRENT_COLUMNS`` (None: there is none)."""
    if row is None or row.snapshot_id is None:
        return None
    return CurrentSnapshot(
        id=row.snapshot_id,
        computed_at=_utc(row.snapshot_computed_at),
        period_start=row.snapshot_period_start,
        period_end=row.snapshot_period_end,
        evidence_last=row.snapshot_evidence_last,
        directives=list(row.snapshot_directives or []),
        notes=list(row.snapshot_notes or []),
        stale=row.snapshot_changes > row.snapshot_changes_seen,
        changed_at=_utc(row.snapshot_changed_at) if row.snapshot_changed_at is not None else None,
    )


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for what was stored in UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def replace_current(conn: Connection, snapshot_id: int) -> None:
    """Make ``snapshot_id`` current and delete every other generation (the previous one,
    and any left by a refresh that died before its commit)."""
    conn.execute(
        update(_STATE).where(_STATE.c.id == STATE_ID).values(current_snapshot_id=snapshot_id)
    )
    for table in GENERATION_TABLES:
        conn.execute(delete(table).where(table.c.snapshot_id != snapshot_id))
    conn.execute(delete(_SNAPSHOT).where(_SNAPSHOT.c.id != snapshot_id))


def copy_arrow(
    conn: Connection,
    table: Table,
    data: pa.Table | pa.RecordBatchReader,
    on_rows: Callable[[int], None] | None = None,
) -> None:
    """Insert every row of ``data`` (its columns named as ``table``'s) into ``table``;
    a reader's batches are taken one at a time. ``on_rows`` hears the count of each
    batch stored."""
    columns = data.schema.names
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
            sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        options = pacsv.WriteOptions(include_header=False)
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for batch in _batches(data):
                sink = io.BytesIO()
                # Strings are quoted and nulls left empty: COPY reads "" as an empty
                # string and an unquoted empty field as NULL.
                pacsv.write_csv(batch, sink, write_options=options)
                copy.write(sink.getvalue())
                if on_rows is not None:
                    on_rows(batch.num_rows)
        return
    text = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    )
    cursor = driver.cursor()
    try:
        for batch in _batches(data, dates_as_text=True):
            columns_ = [_values(batch.column(i)) for i in range(batch.num_columns)]
            cursor.executemany(text, zip(*columns_, strict=True))
            if on_rows is not None:
                on_rows(batch.num_rows)
    finally:
        cursor.close()


def _batches(
    data: pa.Table | pa.RecordBatchReader, *, dates_as_text: bool = False
) -> Iterator[pa.RecordBatch]:
    """``data`` a batch at a time, dictionary columns decoded (one batch at a time: the
    whole table decoded would cost a gigabyte at 250,000 employees), dates as ISO text
    when asked (what SQLAlchemy's SQLite Date type stores)."""
    fields = []
    for f in data.schema:
        kind = f.type.value_type if pa.types.is_dictionary(f.type) else f.type
        if dates_as_text and pa.types.is_date(kind):
            kind = pa.string()
        fields.append(pa.field(f.name, kind))
    plain = pa.schema(fields)
    source = data.to_batches(max_chunksize=BATCH_ROWS) if isinstance(data, pa.Table) else data
    for batch in source:
        yield batch.cast(plain)


def _values(array: pa.Array) -> list[Any]:
    # numpy's tolist is several times faster than Arrow's to_pylist for numbers.
    kind = array.type
    if array.null_count == 0 and pa.types.is_boolean(kind):
        array = pc.cast(array, pa.int8())  # what SQLAlchemy's Boolean stores on SQLite
    if array.null_count == 0 and (
        pa.types.is_floating(array.type) or pa.types.is_integer(array.type)
    ):
        numbers: list[Any] = array.to_numpy(zero_copy_only=False).tolist()
        return numbers
    values: list[Any] = array.to_pylist()
    return values


@contextlib.contextmanager
def storing(engine: Engine) -> Iterator[Connection]:
    """The transaction that stores a generation. SQLite: the writers' transaction (one
    writer at a time; readers keep reading the old snapshot in WAL mode). PostgreSQL: its
    own lock, so imports are not held up while rows are copied; the writers' lock is
    taken at the end (``serialise_writers``) for the pointer and the audit record."""
    if engine.dialect.name != "postgresql":
        with write_transaction(engine) as conn:
            yield conn
        return
    with translate_errors(), engine.connect() as conn, conn.begin():
        locked = conn.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": PG_REFRESH_LOCK})
        if not locked:
            raise Conflict("a snapshot refresh is already running; try again when it has finished")
        yield conn


def serialise_writers(conn: Connection) -> None:
    if conn.dialect.name != "postgresql":
        return  # the SQLite transaction is the writers' one already
    wait = f"{int(WRITER_WAIT_SECONDS * 1000)}ms"
    conn.execute(text("SELECT set_config('lock_timeout', :w, true)"), {"w": wait})
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_WRITER_LOCK})
    conn.execute(text("SET LOCAL lock_timeout TO DEFAULT"))


def analyze(engine: Engine) -> None:
    """Fresh planner statistics for the new generation (PostgreSQL); outside the
    transaction, and harmless to skip if it fails."""
    if engine.dialect.name != "postgresql":
        return
    with contextlib.suppress(DutystationError), translate_errors(), engine.connect() as conn:
        for table in GENERATION_TABLES:
            conn.execute(text(f"ANALYZE {table.name}"))
        conn.commit()
