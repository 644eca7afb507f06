"""A badge import killed with SIGKILL at any moment leaves the store with the whole batch or
none of it; recovery plus a re-import then holds every event exactly once (RELIABILITY T18).

The child process is this file run as a script: it imports the badge file into the data
dir it is given and prints a marker when the import starts, so the kill falls inside the
import, not in interpreter start-up.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

ROWS = 200_000
TRIALS = int(os.environ.get("DUTYSTATION_CRASH_TRIALS", "12"))
NOW = datetime(2026, 12, 1, tzinfo=UTC)
ZONES = ["America/New_York", "America/Chicago", "America/Phoenix", "Pacific/Guam"]
STARTED = "import started"


def make_files(folder: Path) -> tuple[Path, Path, Path, Path]:
    """Badge file (1 % repeated rows), an earlier overlapping file, employees, offices."""
    rng = np.random.default_rng(18)
    employees = pa.array([f"E{i:05d}" for i in range(5_000)])
    sites = pa.array([f"S{i:02d}" for i in range(50)])
    day_text = pa.array([(date(2025, 1, 1) + timedelta(d)).isoformat() for d in range(365)])
    clock = pa.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)])
    n = ROWS - ROWS // 100
    table = pa.table(
        {
            "employee_id": employees.take(pa.array(rng.integers(0, 5_000, n))),
            "timestamp": pc.binary_join_element_wise(
                day_text.take(pa.array(rng.integers(0, 365, n))),
                clock.take(pa.array(rng.integers(7 * 3600, 19 * 3600, n))),
                "T",
            ),
            "site_id": sites.take(pa.array(rng.integers(0, 50, n))),
            "direction": pa.array(np.array(["IN", "OUT", ""], dtype=object)[rng.integers(0, 3, n)]),
        }
    )
    table = pa.concat_tables([table, table.take(pa.array(rng.choice(n, ROWS - n)))])
    badges, earlier = folder / "badges.csv", folder / "earlier.csv"
    pacsv.write_csv(table, badges)
    pacsv.write_csv(table.slice(0, ROWS // 4), earlier)
    people, offices = folder / "employees.parquet", folder / "sites.parquet"
    pq.write_table(pa.table({"employee_id": employees}), people)
    pq.write_table(
        pa.table({"site_id": sites, "timezone": [ZONES[i % len(ZONES)] for i in range(50)]}),
        offices,
    )
    return badges, earlier, people, offices


def run_import(data_dir: Path, source: Path, people: Path, offices: Path) -> float:
    """The import under test, as the CLI runs it; returns its duration in seconds."""
    from dutystation.ingest.fields import ImportKind
    from dutystation.ingest.profiles import default_profile
    from dutystation.ingest.reference import BADGES_SCHEMA, ReferenceData
    from dutystation.services.import_events import import_badges
    from dutystation.settings import Settings

    reference = ReferenceData(
        pq.read_table(people), BADGES_SCHEMA.empty_table(), pq.read_table(offices)
    )
    settings = Settings(data_dir=data_dir)
    print(STARTED, flush=True)
    started = time.perf_counter()
    import_badges(settings, [source], default_profile(ImportKind.BADGES), reference, now=NOW)
    return time.perf_counter() - started


def committed(data_dir: Path) -> tuple[int, int, int]:
    """(manifests, rows readers see, distinct events among them)."""
    from dutystation.events.schemas import EventKind
    from dutystation.events.store import EventStore

    store = EventStore(data_dir / "events")
    relation = store.scan_sql(EventKind.BADGES)
    row = (
        duckdb.connect()
        .execute(
            f"SELECT count(*), count(DISTINCT (employee_id, site_id, ts_utc, direction)) "
            f"FROM {relation}"
        )
        .fetchone()
    )
    assert row is not None
    return len(store.manifests(EventKind.BADGES)), int(row[0]), int(row[1])


def parquet_files(data_dir: Path) -> set[Path]:
    return set((data_dir / "events" / "badges").glob("month=*/*.parquet"))


def child(data_dir: Path, *inputs: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, str(data_dir), *map(str, inputs)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=data_dir.parent,
    )


@pytest.mark.slow
def test_a_killed_badge_import_leaves_all_or_nothing_and_a_rerun_stores_each_event_once(
    tmp_path: Path,
) -> None:
    badges, earlier, people, offices = make_files(tmp_path)
    source = pacsv.read_csv(
        badges,
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(
                ["employee_id", "timestamp", "site_id", "direction"], pa.string()
            )
        ),
    )
    distinct = source.group_by(source.column_names).aggregate([]).num_rows
    before_kill = len(
        pacsv.read_csv(earlier)
        .group_by(["employee_id", "timestamp", "site_id", "direction"])
        .aggregate([])
    )

    # An uninterrupted run, on a store that already holds a batch like every trial's: how
    # long the import takes, and that it stores every event.
    clean = tmp_path / "clean" / "data"
    clean.parent.mkdir()
    run_import(clean, earlier, people, offices)
    run = child(clean, badges, people, offices)
    out, _ = run.communicate(timeout=300)
    assert run.returncode == 0, out
    duration = float(out.strip().splitlines()[-1])
    assert committed(clean) == (2, distinct, distinct)

    # Kill times are stratified over [0, 1.2 x duration] (one random time per slice, in a
    # shuffled order), so every phase gets kills: reading, checking, writing, publishing,
    # the manifest, and after the commit.
    rng = random.Random(20250120)
    fractions = [1.2 * (i + rng.random()) / TRIALS for i in range(TRIALS)]
    rng.shuffle(fractions)
    outcomes = {"none": 0, "all": 0}
    for trial in range(TRIALS):
        data_dir = tmp_path / f"trial-{trial}" / "data"
        data_dir.parent.mkdir()
        run_import(data_dir, earlier, people, offices)  # the store already holds a batch
        assert committed(data_dir) == (1, before_kill, before_kill)
        run = child(data_dir, badges, people, offices)
        assert run.stdout is not None
        assert run.stdout.readline().strip() == STARTED
        time.sleep(fractions[trial] * duration)
        os.kill(run.pid, signal.SIGKILL)
        run.wait(60)
        run.stdout.close()

        # Readers see the earlier batch alone, or both batches whole: never a part.
        manifests, rows, unique = committed(data_dir)
        assert rows == unique, f"trial {trial}: duplicated events"
        assert (manifests, rows) in {(1, before_kill), (2, distinct)}, f"trial {trial}"
        outcomes["all" if manifests == 2 else "none"] += 1

        # Recovery removes every file no manifest names, and a re-run completes the store.
        from dutystation.events.store import EventStore

        store = EventStore(data_dir / "events")
        store.recover()
        named = {p.resolve() for p in store.files(store.manifests()[0].kind)}
        assert {p.resolve() for p in parquet_files(data_dir)} == named, f"trial {trial}"
        run_import(data_dir, badges, people, offices)
        _, rows, unique = committed(data_dir)
        assert (rows, unique) == (distinct, distinct), f"trial {trial}: lost or doubled events"
    # The kills must have landed on both sides of the commit point to prove anything.
    print(f"kills before / after the commit point: {outcomes}")
    assert outcomes["none"] > 0, outcomes


if __name__ == "__main__":
    target, source_file, people_file, offices_file = map(Path, sys.argv[1:])
    print(f"{run_import(target, source_file, people_file, offices_file):.3f}", flush=True)
