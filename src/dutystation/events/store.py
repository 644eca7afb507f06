"""The event store on disk and its commit protocol.

Layout under ``settings.events_dir``::

    .lock                                   flock: one writer at a time
    .staging/<batch_id>/...                 files being written by a running import
    manifests/<batch_id>.json               one per committed batch: the commit point
    badges/month=YYYY-MM/<batch_id>.parquet
    timecards/month=YYYY-MM/<batch_id>.parquet

A batch commits in this order: its Parquet files are written under ``.staging``, each is
fsynced and renamed to its final name, each final directory is fsynced, and only then the
manifest is written (temp, fsync, rename, fsync). Readers list files through manifests,
so a batch is visible whole or not at all; a SIGKILL at any moment leaves at most files no
manifest names, which ``recover`` deletes before the next import starts.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.parquet as pq

from dutystation.errors import StoreBusy, StoreError
from dutystation.events.durable import fsync_dir, make_dirs, publish, write_atomically
from dutystation.events.manifest import Manifest, PartitionFile, Restatement, SourceFile
from dutystation.events.rollups import ROLLUP_DIR, rollup_path, rollup_state
from dutystation.events.schemas import SCHEMAS, EventKind

LOCK_WAIT_SECONDS = 600.0

_DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.int16(): "SMALLINT",
    pa.int64(): "BIGINT",
    pa.uint64(): "UBIGINT",
    pa.float64(): "DOUBLE",
    pa.date32(): "DATE",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
}


def sql_string(text: str) -> str:
    """A SQL string literal (paths come from settings, which may contain quotes)."""
    return "'" + text.replace("'", "''") + "'"


def latest_timecards_sql(relation: str) -> str:
    """Of the timecard rows in ``relation``, those of the latest batch per employee, day
    and pay code."""
    return (
        f"(SELECT * FROM {relation} QUALIFY row_number() OVER "
        "(PARTITION BY employee_id, date, source_code ORDER BY batch_seq DESC) = 1)"
    )


class EventStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.manifests_dir = root / "manifests"
        self.staging_root = root / ".staging"

    # ----------------------------------------------------------------- reading

    def manifests(self, kind: EventKind | None = None) -> list[Manifest]:
        """Committed batches, oldest first."""
        if not self.manifests_dir.is_dir():
            return []
        found: list[Manifest] = []
        for path in self.manifests_dir.glob("*.json"):
            if path.name.startswith("."):
                continue  # a manifest still being written: not committed
            try:
                manifest = Manifest.from_json(path.read_bytes())
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise StoreError(
                    f"event store manifest {path} cannot be read ({type(exc).__name__}); "
                    "restore it from backup before importing or reporting"
                ) from None
            if kind is None or manifest.kind == kind:
                found.append(manifest)
        return sorted(found, key=lambda m: m.sequence)

    def files(self, kind: EventKind, months: Iterable[str] | None = None) -> list[Path]:
        """The committed Parquet files of ``kind``, optionally only those of some months."""
        wanted = None if months is None else set(months)
        return [
            self.root / f.path
            for m in self.manifests(kind)
            for f in m.files
            if wanted is None or f.month in wanted
        ]

    def scan_sql(self, kind: EventKind, months: Iterable[str] | None = None) -> str:
        """A DuckDB table expression over the committed rows of ``kind`` (usable after FROM).

        With no committed file it is an empty relation of the right columns, so queries
        need no special case for an empty store."""
        files = self.files(kind, months)
        if not files:
            cols = ", ".join(f"NULL::{_DUCKDB_TYPES[f.type]} AS {f.name}" for f in SCHEMAS[kind])
            return f"(SELECT {cols} WHERE false)"
        listed = ", ".join(sql_string(str(p)) for p in files)
        return f"read_parquet([{listed}], hive_partitioning = false)"

    def timecards_current_sql(self, months: Iterable[str] | None = None) -> str:
        """The T&A rows in force: for each employee, day and pay code the row of the latest
        batch (a re-sent day with different hours is a correction, never a second row)."""
        return latest_timecards_sql(self.scan_sql(EventKind.TIMECARDS, months))

    # ----------------------------------------------------------------- writing

    def lock(self, wait_seconds: float = LOCK_WAIT_SECONDS) -> StoreLock:
        return StoreLock(self, wait_seconds)

    def recover(self) -> int:
        """Delete what killed imports left behind; returns the number of files removed."""
        with self.lock() as held:
            return held.recover()


class StoreLock:
    """The writer's exclusive hold on the store; everything that changes files is here."""

    def __init__(self, store: EventStore, wait_seconds: float) -> None:
        self.store = store
        self._wait_seconds = wait_seconds
        self._fd: int | None = None

    def __enter__(self) -> StoreLock:
        make_dirs(self.store.root)
        fd = os.open(self.store.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self._wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise StoreBusy(
                        "another import into the event store is still running; "
                        "try again when it has finished"
                    ) from None
                time.sleep(0.1)
        self._fd = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def _check_held(self) -> None:
        if self._fd is None:
            raise RuntimeError("the event store lock is not held")

    def recover(self) -> int:
        self._check_held()
        store = self.store
        removed = 0
        if store.staging_root.exists():
            for entry in store.staging_root.iterdir():
                removed += _remove(entry)
        if store.manifests_dir.is_dir():
            for temp in store.manifests_dir.glob(".*.tmp"):
                removed += _remove(temp)
        manifests = store.manifests()
        committed = {
            (store.root / f.path).resolve() for m in manifests for f in (*m.files, *m.rollups)
        }
        for kind in EventKind:
            for base in (store.root / str(kind), store.root / ROLLUP_DIR / str(kind)):
                if not base.is_dir():
                    continue
                for path in base.glob("month=*/*"):
                    if path.resolve() not in committed:
                        removed += _remove(path)
        return removed + self._prune_rollups(manifests)

    def _prune_rollups(self, manifests: Sequence[Manifest]) -> int:
        """Delete roll-up generations superseded twice: the previous generation of each
        month stays, for readers that listed the manifests just before the last commit."""
        removed = 0
        for kind in EventKind:
            state = rollup_state(manifests, kind)
            by_month: dict[str, list[PartitionFile]] = {}
            for f in state.superseded:
                by_month.setdefault(f.month, []).append(f)
            for old in by_month.values():
                for f in old[:-1]:
                    path = self.store.root / f.path
                    if path.exists():
                        removed += _remove(path)
        return removed

    def next_sequence(self) -> int:
        self._check_held()
        return 1 + max((m.sequence for m in self.store.manifests()), default=0)

    def staging_dir(self, batch_id: str) -> Path:
        self._check_held()
        path = self.store.staging_root / batch_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def commit(
        self,
        *,
        kind: EventKind,
        batch_id: str,
        sequence: int,
        created_at: datetime,
        profile: str,
        sources: Sequence[SourceFile],
        staged: Sequence[tuple[str, Path]],
        rows_read: int,
        duplicates: int,
        rejected: int,
        notes: Sequence[str] = (),
        rollups: Sequence[tuple[str, Path]] = (),
        restatements: Sequence[Restatement] = (),
        purpose: str = "import",
    ) -> Manifest:
        """Publish ``staged`` (month, written Parquet file) pairs and the roll-up
        generations ``rollups`` (month, file), and commit the batch."""
        self._check_held()
        store = self.store
        files: list[PartitionFile] = []
        touched: set[Path] = set()
        generations: list[PartitionFile] = []
        for month, temp in sorted(rollups):
            final = store.root / rollup_path(kind, month, batch_id)
            make_dirs(final.parent)
            rows = pq.read_metadata(temp).num_rows
            publish(temp, final)
            touched.add(final.parent)
            generations.append(PartitionFile(str(final.relative_to(store.root)), month, rows))
        per_month: dict[str, int] = {}
        for month, temp in sorted(staged):
            rows = pq.read_metadata(temp).num_rows
            if rows == 0:
                continue
            directory = store.root / str(kind) / f"month={month}"
            make_dirs(directory)
            index = per_month[month] = per_month.get(month, -1) + 1
            suffix = "" if index == 0 else f"-{index}"
            final = directory / f"{batch_id}{suffix}.parquet"
            publish(temp, final)
            touched.add(directory)
            files.append(PartitionFile(str(final.relative_to(store.root)), month, rows))
        for directory in sorted(touched):
            fsync_dir(directory)
        manifest = Manifest(
            batch_id=batch_id,
            kind=kind,
            sequence=sequence,
            created_at=created_at,
            profile=profile,
            sources=list(sources),
            files=files,
            rows_read=rows_read,
            duplicates=duplicates,
            rejected=rejected,
            notes=list(notes),
            rollups=generations,
            restatements=list(restatements),
            purpose=purpose,
        )
        make_dirs(store.manifests_dir)
        write_atomically(store.manifests_dir / f"{batch_id}.json", manifest.to_json())
        shutil.rmtree(store.staging_root / batch_id, ignore_errors=True)
        return manifest


def _remove(path: Path) -> int:
    if path.is_dir() and not path.is_symlink():
        count = sum(1 for p in path.rglob("*") if p.is_file())
        shutil.rmtree(path, ignore_errors=True)
        return count
    path.unlink(missing_ok=True)
    return 1
