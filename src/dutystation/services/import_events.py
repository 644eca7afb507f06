"""Importing badge events and T&A hours into the event store: one batch per call.

A batch lands whole or not at all (DESIGN.md §6):

1. take the store's writer lock and clear what killed imports left (``recover``);
2. read every file in chunks and check each chunk in DuckDB; valid rows are staged in a
   DuckDB table that spills to ``settings.tmp_dir`` past ``duckdb_memory_limit``, rejected
   rows go to the quarantine file;
3. if any row was rejected and ``accept_partial`` is false, store nothing and raise
   ``ImportRejected`` (one line per reason);
4. otherwise write the distinct new rows as month partitions, stage the new employee-day
   roll-up of the months they touch (``rollups``), and commit both with the manifest;
5. write the batch's audit record (step 1 also writes any a crash left missing: see
   ``import_audit``).

Re-importing a file stores nothing new; an overlapping file stores only the new rows.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine

from dutystation.analytics.cores import usable_cores
from dutystation.analytics.engine import out_of_memory
from dutystation.domain.access import SYSTEM, Actor
from dutystation.domain.presence import PresenceSettings
from dutystation.errors import ConfigError, ImportRejected, StoreError
from dutystation.events.manifest import Manifest, SourceFile
from dutystation.events.schemas import EventKind
from dutystation.events.store import EventStore, StoreLock
from dutystation.ingest.badges import BadgeChecker, BadgeRules
from dutystation.ingest.limits import limits_from
from dutystation.ingest.profiles import Profile
from dutystation.ingest.quarantine import Quarantine, rejection_message
from dutystation.ingest.reference import ReferenceData
from dutystation.ingest.sources import Source, open_source
from dutystation.ingest.summary import ImportSummary
from dutystation.ingest.timecards import TimecardChecker, TimecardRules, reader_profile
from dutystation.services import import_audit
from dutystation.services.import_chunks import chunks, read_ahead
from dutystation.services.presence import presence_settings_from
from dutystation.services.progress import NullProgress, Progress
from dutystation.services.rollups import stage_rollups
from dutystation.settings import Settings
from dutystation.store.faults import fault_of

WORK_PREFIX = "events-import-"
# T&A systems carry planned leave ahead of time; a year is generous, 9999-12-31 is not.
TIMECARD_DAYS_AHEAD = 366


class Checker(Protocol):
    """What the batch engine needs from a kind's row checks (see ingest/badges.py)."""

    kind: EventKind
    value_columns: list[str]

    def check(self, chunk: pa.Table, file_no: int) -> pa.Table: ...

    def finish(self) -> list[tuple[int, pa.Table]]: ...

    def staged_rows(self) -> int: ...

    def months(self) -> list[str]: ...

    def write(self, out_dir: Path, batch_seq: int) -> list[str]: ...


def import_badges(
    settings: Settings,
    paths: Sequence[Path],
    profile: Profile,
    reference: ReferenceData,
    *,
    accept_partial: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
    engine: Engine | None = None,
    actor: Actor = SYSTEM,
) -> ImportSummary:
    """Import badge events from ``paths`` as one batch (see the module docstring)."""
    moment = now or datetime.now(UTC)
    rules = BadgeRules(
        earliest=_earliest(settings),
        now=moment,
        future_tolerance=timedelta(minutes=settings.future_tolerance_minutes),
        timestamp_format=profile.source.timestamp_format,
        timestamp_timezone=profile.source.timestamp_timezone,
    )
    store = EventStore(settings.events_dir)
    return _import(
        settings,
        paths,
        profile,
        profile,
        lambda con: BadgeChecker(con, reference, rules, store),
        reference.sites,
        accept_partial=accept_partial,
        progress=progress,
        now=moment,
        engine=engine,
        actor=actor,
    )


def import_timecards(
    settings: Settings,
    paths: Sequence[Path],
    profile: Profile,
    reference: ReferenceData,
    *,
    accept_partial: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
    engine: Engine | None = None,
    actor: Actor = SYSTEM,
) -> ImportSummary:
    """Import T&A hours from ``paths`` as one batch; a day re-sent with other hours is a
    correction (stored with a later batch sequence; readers take the latest)."""
    moment = now or datetime.now(UTC)
    rules = TimecardRules(
        earliest=_earliest(settings),
        latest=moment.date() + timedelta(days=TIMECARD_DAYS_AHEAD),
        date_format=profile.source.date_format,
        code_map=dict(profile.values.get("code", {})),
    )
    store = EventStore(settings.events_dir)
    return _import(
        settings,
        paths,
        profile,
        reader_profile(profile),
        lambda con: TimecardChecker(con, reference, rules, store),
        reference.sites,
        accept_partial=accept_partial,
        progress=progress,
        now=moment,
        engine=engine,
        actor=actor,
    )


def _earliest(settings: Settings) -> date:
    try:
        return date.fromisoformat(settings.earliest_event_date)
    except ValueError:
        raise ConfigError(
            f"configuration key 'earliest_event_date' ({settings.earliest_event_date!r}) is "
            "not a date in YYYY-MM-DD form"
        ) from None


def _import(
    settings: Settings,
    paths: Sequence[Path],
    profile: Profile,
    read_with: Profile,
    make_checker: Callable[[duckdb.DuckDBPyConnection], Checker],
    sites: pa.Table,
    *,
    accept_partial: bool,
    progress: Progress | None,
    now: datetime,
    engine: Engine | None,
    actor: Actor,
) -> ImportSummary:
    store = EventStore(settings.events_dir)
    batch_id = f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:12]}"
    summary = ImportSummary(kind=str(profile.kind), files=list(paths), batch_id=batch_id)
    with import_audit.engine_for(settings, engine) as db, store.lock() as held:
        held.recover()
        import_audit.backfill(db, held)
        _clear_abandoned_work(settings.tmp_dir)
        work = settings.tmp_dir / f"{WORK_PREFIX}{batch_id}"
        work.mkdir(parents=True, mode=0o700)
        con = _connect(settings, work)
        quarantine: Quarantine | None = None
        try:
            checker = make_checker(con)
            quarantine = Quarantine(
                settings.quarantine_dir / f"{batch_id}-{checker.kind}.csv",
                checker.value_columns,
            )
            sources = _check_files(
                settings,
                paths,
                read_with,
                checker,
                quarantine,
                summary,
                progress or NullProgress(),
            )
            for file_no, rows in checker.finish():
                quarantine.add(file_no, paths[file_no], rows)
            summary.rejections = quarantine.classes()
            summary.quarantine_file = quarantine.close()
            if summary.rejections and not accept_partial:
                raise ImportRejected(
                    rejection_message(summary.rejections, stored=False),
                    summary.quarantine_file,
                    summary.rejections,
                )
            rollup = _Rollup(con, sites, presence_settings_from(settings))
            manifest = _store_batch(held, checker, batch_id, profile, sources, summary, rollup)
        except duckdb.OutOfMemoryException:
            raise out_of_memory(settings, "the import", "import the files in parts") from None
        except (duckdb.Error, pa.ArrowException) as exc:
            # Their texts can quote row values (RELIABILITY C9): keep the class only.
            raise fault_of(exc) or StoreError(
                f"the import stopped ({type(exc).__name__}); nothing was stored"
            ) from None
        except OSError as exc:
            raise fault_of(exc) or StoreError(
                f"the import could not read or write a file ({exc.strerror or type(exc).__name__});"
                " nothing was stored"
            ) from None
        finally:
            if quarantine is not None:
                quarantine.close()
            con.close()
            shutil.rmtree(work, ignore_errors=True)
            # What a failed batch staged (committed, it is gone already): no manifest names
            # it, so no reader sees it; removed now, a full disk gets its space back.
            shutil.rmtree(store.staging_root / batch_id, ignore_errors=True)
        # Committed: the record follows at once, still under the lock (import_audit).
        import_audit.record_batch(db, actor, manifest)
    summary.rows_stored = manifest.rows_stored
    summary.duplicates = manifest.duplicates
    summary.stored = True
    return summary


@dataclass(frozen=True)
class _Rollup:
    """What staging the roll-up needs besides the batch: the import's DuckDB connection,
    the offices' time zones and the badge conventions."""

    con: duckdb.DuckDBPyConnection
    sites: pa.Table
    presence: PresenceSettings


def _store_batch(
    held: StoreLock,
    checker: Checker,
    batch_id: str,
    profile: Profile,
    sources: list[SourceFile],
    summary: ImportSummary,
    rollup: _Rollup,
) -> Manifest:
    """Write the batch's new rows as month files, stage the roll-up they change, and
    commit both with the manifest."""
    sequence = held.next_sequence()
    staging = held.staging_dir(batch_id)
    staged_rows = checker.staged_rows()
    summary.notes.extend(checker.write(staging, sequence))
    staged = [
        (part.parent.name.removeprefix("month="), part)
        for part in sorted(staging.glob("month=*/*.parquet"))
    ]
    written = sum(pq.read_metadata(path).num_rows for _, path in staged)
    rollups = stage_rollups(
        rollup.con,
        held,
        checker.kind,
        [path for _, path in staged if pq.read_metadata(path).num_rows],
        rollup.sites,
        rollup.presence,
        staging,
    )
    return held.commit(
        kind=checker.kind,
        batch_id=batch_id,
        sequence=sequence,
        created_at=datetime.now(UTC),
        profile=profile.name,
        sources=sources,
        staged=staged,
        rows_read=summary.rows_read,
        duplicates=staged_rows - written,
        rejected=summary.rows_rejected,
        notes=summary.notes,
        rollups=rollups.files,
        restatements=rollups.restatements,
    )


def _check_files(
    settings: Settings,
    paths: Sequence[Path],
    read_with: Profile,
    checker: Checker,
    quarantine: Quarantine,
    summary: ImportSummary,
    progress: Progress,
) -> list[SourceFile]:
    total_bytes = sum(p.stat().st_size for p in paths)
    progress.start(f"{checker.kind}: checking", total_bytes)
    done_bytes = 0
    sources: list[SourceFile] = []
    for file_no, path in enumerate(paths):
        source = open_source(
            path, read_with, batch_rows=settings.import_batch_rows, limits=limits_from(settings)
        )
        for chunk in read_ahead(chunks(source.batches(), settings.import_batch_rows)):
            summary.rows_read += chunk.num_rows
            quarantine.add(file_no, path, checker.check(chunk, file_no))
            progress.advance(rows=chunk.num_rows, bytes_done=done_bytes + source.bytes_read)
        malformed = _malformed_lines(source)
        summary.rows_read += len(malformed)
        quarantine.add_malformed(file_no, path, malformed)
        done_bytes += path.stat().st_size
        progress.advance(rows=0, bytes_done=done_bytes)
        sources.append(SourceFile.of(path))
    return sources


def _malformed_lines(source: Source) -> list[int]:
    """Lines the reader could not split into the header's fields (``(line, reason)``)."""
    return [int(line) for line, _reason in source.malformed_rows]


def _connect(settings: Settings, work: Path) -> duckdb.DuckDBPyConnection:
    try:
        con = duckdb.connect(
            config={
                "memory_limit": settings.duckdb_memory_limit,
                "temp_directory": str(work),
                "threads": usable_cores(),
                # Order is irrelevant to a set of events; dropping it lets COPY and
                # aggregates stream instead of buffering.
                "preserve_insertion_order": False,
                "autoinstall_known_extensions": False,
            }
        )
    except duckdb.Error as exc:
        raise StoreError(
            f"DuckDB could not start ({type(exc).__name__}); check duckdb_memory_limit"
        ) from None
    con.execute("SET TimeZone = 'UTC'")
    return con


def _clear_abandoned_work(tmp_dir: Path) -> None:
    """Scratch directories of imports that were killed (we hold the store lock, so no
    running import owns one)."""
    if tmp_dir.is_dir():
        for entry in tmp_dir.glob(f"{WORK_PREFIX}*"):
            shutil.rmtree(entry, ignore_errors=True)
