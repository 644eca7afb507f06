"""The event store on disk: what a commit writes, what readers see, what recovery removes."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dutystation.errors import StoreError
from dutystation.events import BADGE_EVENTS_SCHEMA, TIMECARDS_SCHEMA, EventKind, EventStore
from dutystation.ingest.fields import ImportKind
from dutystation.ingest.profiles import default_profile
from dutystation.ingest.reference import (
    BADGES_SCHEMA,
    EMPLOYEES_SCHEMA,
    SITES_SCHEMA,
    ReferenceData,
)
from dutystation.services.import_events import import_badges, import_timecards
from dutystation.settings import Settings

NOW = datetime(2026, 12, 1, tzinfo=UTC)
REFERENCE = ReferenceData(
    pa.table({"employee_id": ["E1", "E2"]}, schema=EMPLOYEES_SCHEMA),
    BADGES_SCHEMA.empty_table(),
    pa.table({"site_id": ["NYC"], "timezone": ["America/New_York"]}, schema=SITES_SCHEMA),
)


def badges_file(path: Path, *stamps: str) -> Path:
    path.write_text(
        "employee_id,timestamp,site_id,direction\n" + "".join(f"E1,{s},NYC,IN\n" for s in stamps)
    )
    return path


def import_file(settings: Settings, path: Path) -> None:
    import_badges(settings, [path], default_profile(ImportKind.BADGES), REFERENCE, now=NOW)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def count(store: EventStore, kind: EventKind = EventKind.BADGES) -> int:
    row = duckdb.connect().execute(f"SELECT count(*) FROM {store.scan_sql(kind)}").fetchone()
    return int(row[0]) if row else 0


def test_a_commit_writes_one_file_per_month_and_a_manifest_naming_them(
    settings: Settings, tmp_path: Path
) -> None:
    source = badges_file(
        tmp_path / "b.csv", "2026-01-05T09:00:00", "2026-02-05T09:00:00", "2026-02-06T09:00:00"
    )
    import_file(settings, source)
    store = EventStore(settings.events_dir)
    (manifest,) = store.manifests()
    assert manifest.sequence == 1 and manifest.kind is EventKind.BADGES
    assert [(f.month, f.rows) for f in manifest.files] == [("2026-01", 1), ("2026-02", 2)]
    assert [f.path for f in manifest.files] == [
        f"badges/month=2026-01/{manifest.batch_id}.parquet",
        f"badges/month=2026-02/{manifest.batch_id}.parquet",
    ]
    (src,) = manifest.sources
    assert src.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert src.size_bytes == source.stat().st_size
    raw = json.loads((settings.events_dir / "manifests" / f"{manifest.batch_id}.json").read_text())
    assert raw["rows_stored"] == 3 and raw["profile"] == "generic-badges"
    assert store.files(EventKind.BADGES, ["2026-02"]) == [
        settings.events_dir / manifest.files[1].path
    ]


def test_stored_files_have_exactly_the_canonical_schemas(
    settings: Settings, tmp_path: Path
) -> None:
    import_file(settings, badges_file(tmp_path / "b.csv", "2026-01-05T09:00:00"))
    cards = tmp_path / "t.csv"
    cards.write_text("employee_id,date,code,hours,site_id\nE1,2026-01-05,onsite,8,NYC\n")
    import_timecards(settings, [cards], default_profile(ImportKind.TIMECARDS), REFERENCE, now=NOW)
    store = EventStore(settings.events_dir)
    for kind, schema in (
        (EventKind.BADGES, BADGE_EVENTS_SCHEMA),
        (EventKind.TIMECARDS, TIMECARDS_SCHEMA),
    ):
        (path,) = store.files(kind)
        assert pq.read_schema(path).remove_metadata().equals(schema), kind
        assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"
    assert [m.sequence for m in store.manifests()] == [1, 2]


def test_the_event_key_is_reproducible_from_the_documented_formula(
    settings: Settings, tmp_path: Path
) -> None:
    import_file(settings, badges_file(tmp_path / "b.csv", "2026-01-05T09:00:00"))
    (path,) = EventStore(settings.events_dir).files(EventKind.BADGES)
    row = pq.read_table(path).to_pylist()[0]

    def md5_64(text: str) -> int:
        digest = hashlib.md5(text.encode(), usedforsecurity=False).digest()
        return int.from_bytes(digest[:8], "little")

    utc_us = int(row["ts_utc"].timestamp()) * 1_000_000
    expected = md5_64("employee\x1fE1") ^ md5_64("site\x1fNYC") ^ (utc_us + (1 << 62))
    assert row["event_key"] == expected


def test_files_no_manifest_names_are_invisible_and_recovery_removes_them(
    settings: Settings, tmp_path: Path
) -> None:
    import_file(settings, badges_file(tmp_path / "b.csv", "2026-01-05T09:00:00"))
    store = EventStore(settings.events_dir)
    (committed,) = store.files(EventKind.BADGES)
    orphan = committed.parent / "killed-batch.parquet"
    orphan.write_bytes(committed.read_bytes())
    (settings.events_dir / "badges" / "month=2026-07").mkdir()
    stray = settings.events_dir / "badges" / "month=2026-07" / "killed-batch.parquet"
    stray.write_bytes(committed.read_bytes())
    half_manifest = settings.events_dir / "manifests" / ".killed-batch.json.tmp"
    half_manifest.write_text('{"batch_id": "killed-ba')
    staging = settings.events_dir / ".staging" / "killed-batch" / "month=2026-01"
    staging.mkdir(parents=True)
    (staging / "part.parquet").write_bytes(b"PAR1")
    assert count(store) == 1
    assert store.recover() == 4
    assert not orphan.exists() and not stray.exists() and not half_manifest.exists()
    assert not (settings.events_dir / ".staging" / "killed-batch").exists()
    assert committed.exists() and count(store) == 1


def test_a_damaged_manifest_stops_readers_instead_of_hiding_a_batch(
    settings: Settings, tmp_path: Path
) -> None:
    import_file(settings, badges_file(tmp_path / "b.csv", "2026-01-05T09:00:00"))
    (manifest,) = (settings.events_dir / "manifests").glob("*.json")
    manifest.write_text("{not json")
    with pytest.raises(StoreError, match="cannot be read"):
        EventStore(settings.events_dir).files(EventKind.BADGES)


def test_an_empty_store_reads_as_an_empty_table_with_the_canonical_columns(
    tmp_path: Path,
) -> None:
    store = EventStore(tmp_path / "nothing")
    con = duckdb.connect()
    for kind, schema in (
        (EventKind.BADGES, BADGE_EVENTS_SCHEMA),
        (EventKind.TIMECARDS, TIMECARDS_SCHEMA),
    ):
        table = con.sql(f"SELECT * FROM {store.scan_sql(kind)}").to_arrow_table()
        assert table.num_rows == 0
        assert table.schema.names == schema.names


def _hold_lock(
    root: str, ready: multiprocessing.synchronize.Event, release: multiprocessing.synchronize.Event
) -> None:
    with EventStore(Path(root)).lock():
        ready.set()
        release.wait(10)


def test_a_second_writer_gives_up_with_a_clear_error_while_the_lock_is_held(
    tmp_path: Path,
) -> None:
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(tmp_path), ready, release))
    holder.start()
    try:
        assert ready.wait(20)
        with (
            pytest.raises(StoreError, match="another import"),
            EventStore(tmp_path).lock(wait_seconds=0.3),
        ):
            pass
    finally:
        release.set()
        holder.join(20)
    with EventStore(tmp_path).lock(wait_seconds=1):
        pass


def test_writes_outside_the_lock_are_refused(tmp_path: Path) -> None:
    held = EventStore(tmp_path).lock()
    with pytest.raises(RuntimeError):
        held.next_sequence()
    assert os.listdir(tmp_path) == []


class _Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing on the way catches it."""


class _DyingAfter:
    """Lets ``limit`` file operations through, then dies at the next one."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.calls = 0

    def wrap(self, real: Callable[..., None]) -> Callable[..., None]:
        def operation(*args: object) -> None:
            self.calls += 1
            if self.calls > self.limit:
                raise _Crash
            real(*args)

        return operation


def test_a_commit_cut_short_at_any_file_operation_is_all_or_nothing(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dutystation.events.durable as durable

    first = badges_file(tmp_path / "a.csv", "2026-01-05T09:00:00")
    second = badges_file(
        tmp_path / "b.csv", "2026-01-05T09:00:00", "2026-02-05T09:00:00", "2026-03-05T09:00:00"
    )
    import_file(settings, first)
    store = EventStore(settings.events_dir)
    step = 0
    while True:
        dying = _DyingAfter(step)
        monkeypatch.setattr(durable.os, "replace", dying.wrap(os.replace))
        monkeypatch.setattr(durable.os, "fsync", dying.wrap(os.fsync))
        try:
            import_file(settings, second)
            finished = True
        except _Crash:
            finished = False
        monkeypatch.undo()
        assert count(store) in {1, 3}, f"cut after {step} file operations"
        store.recover()
        named = {p.resolve() for p in store.files(EventKind.BADGES)}
        on_disk = {p.resolve() for p in (settings.events_dir / "badges").glob("month=*/*")}
        assert on_disk == named, f"cut after {step} file operations"
        if finished:
            break
        step += 1
    assert step >= 8  # three files and a manifest: every rename and fsync was a cut point
    assert count(store) == 3
