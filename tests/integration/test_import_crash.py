"""RELIABILITY T18: an import killed with SIGKILL at any moment leaves the whole batch or
none of it, the stores pass their integrity checks, and re-running the import then holds
every row exactly once. Badge events (Parquet event store, audit record in the database)
and the roster (the database), each on SQLite and on PostgreSQL.

CI: 20 trials x 200,000 badge events and 20 trials x 50,000 roster rows per backend (a
200,000-row roster trial costs about half a minute on the 2-core CI machine, which would
keep ``make test`` well over 20 minutes; the commit protocol does not depend on the size).
Nightly (DUTYSTATION_TEST_PROFILE=nightly): 50 trials x 1,000,000 rows of each.
DUTYSTATION_CRASH_TRIALS / DUTYSTATION_CRASH_ROWS / DUTYSTATION_CRASH_ROSTER_ROWS override.

Each trial starts from a fresh copy of a prepared store (SQLite: the data dir copied;
PostgreSQL: ``CREATE DATABASE ... TEMPLATE``), runs ``dutystation import KIND FILE`` in a
child process (import_harness.py run as a script: it loads the package, waits for "go",
prints a marker and calls the command line's ``main``), sleeps a stratified random time in
[0, 1.2 x the uninterrupted run's duration] after the marker and kills the child. The
next trial's child is started while the current trial is checked, so interpreter
start-up does not add to the run time.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path

import pytest
from import_harness import (
    Backend,
    Child,
    audit_records,
    backend,
    badge_state,
    check_database,
    distinct_swipes,
    make_inputs,
    prepare,
    roster_state,
    run_in_process,
)
from sqlalchemy import Engine

__all__ = ["backend"]

NIGHTLY = os.environ.get("DUTYSTATION_TEST_PROFILE") == "nightly"
ROWS = int(os.environ.get("DUTYSTATION_CRASH_ROWS", 1_000_000 if NIGHTLY else 200_000))
ROSTER_ROWS = int(os.environ.get("DUTYSTATION_CRASH_ROSTER_ROWS", 1_000_000 if NIGHTLY else 50_000))
TRIALS = int(os.environ.get("DUTYSTATION_CRASH_TRIALS", 50 if NIGHTLY else 20))


def kill_fractions(seed: int) -> list[float]:
    """Stratified over [0, 1.2]: one random time per slice, in a shuffled order, so every
    phase gets kills (reading, checking, writing, publishing, the commit, after it)."""
    rng = random.Random(seed)
    fractions = [1.2 * (i + rng.random()) / TRIALS for i in range(TRIALS)]
    rng.shuffle(fractions)
    return fractions


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["roster", "badges"])
def test_a_killed_import_leaves_all_or_nothing_and_a_rerun_stores_each_row_once(
    backend: Backend, kind: str, tmp_path: Path
) -> None:
    from dutystation.events.store import EventStore
    from dutystation.store.db import make_engine

    rows = ROSTER_ROWS if kind == "roster" else ROWS
    inputs = make_inputs(tmp_path, rows)
    source = inputs.roster if kind == "roster" else inputs.badges
    prepare(backend, inputs, kind)
    full = rows if kind == "roster" else distinct_swipes(inputs.badges)
    before = 0 if kind == "roster" else distinct_swipes(inputs.earlier)
    action = f"import.{kind}"

    def state(data: Path, engine: Engine) -> int:
        """Rows of the killed batch's kind that readers see, checked for duplicates."""
        if kind == "roster":
            people, versions, batches = roster_state(engine)
            assert people == versions, (people, versions)
            # One import-log row and audit record per committed run (a re-run that changes
            # nothing is recorded too), written in the batch's own transaction.
            assert (batches == 0) == (people == 0), (people, batches)
            assert len(audit_records(engine, action)) == batches
            return people
        manifests, rows, unique = badge_state(data)
        assert rows == unique, "duplicated events"
        # A re-run that stores nothing new still commits its (empty) batch: 2 or 3 then.
        assert (manifests, rows) in {(1, before), (2, full), (3, full)}, (manifests, rows)
        assert len(audit_records(engine, action)) <= manifests  # backfilled on the next run
        return rows

    # An uninterrupted run: how long the import takes, and that it stores every row.
    clean_dir, clean_url = backend.fresh("clean")
    clean = Child(clean_dir, clean_url, kind, source)
    clean.go()
    duration = clean.finish()
    engine = make_engine(clean_url)
    try:
        assert state(clean_dir, engine) == full
    finally:
        engine.dispose()

    def check_trial(data: Path, engine: Engine) -> int:
        # Readers see the batch whole or not at all, and every store checks out.
        seen = state(data, engine)
        assert seen in {before, full}, f"{data.parent.name}: {seen} rows"
        check_database(engine)
        url = engine.url.render_as_string(hide_password=False)
        if kind == "badges":
            # Recovery removes every file no manifest names ...
            store = EventStore(data / "events")
            store.recover()
            named = {p.resolve() for m in store.manifests() for p in store.files(m.kind)}
            on_disk = {p.resolve() for p in (data / "events" / "badges").glob("month=*/*")}
            assert on_disk == named, f"{data.parent.name}: files no manifest names"
        # ... and a re-run completes the store with every row exactly once.
        run_in_process(data, url, kind, source)
        assert state(data, engine) == full, f"{data.parent.name}: lost or doubled rows"
        if kind == "badges":  # every committed batch has its audit record, once
            batches = [m.batch_id for m in EventStore(data / "events").manifests()]
            assert audit_records(engine, action) == sorted(batches), data.parent.name
        check_database(engine)
        return seen

    fractions = kill_fractions(20250120)
    outcomes = {"none": 0, "all": 0}
    started = time.perf_counter()
    upcoming: Child | None = Child(*backend.fresh("trial-0"), kind, source)
    try:
        for trial in range(TRIALS):
            assert upcoming is not None
            child, upcoming = upcoming, None
            child.go()
            time.sleep(fractions[trial] * duration)
            child.kill()
            if trial + 1 < TRIALS:  # start-up of the next child overlaps this trial's checks
                upcoming = Child(*backend.fresh(f"trial-{trial + 1}"), kind, source)
            engine = make_engine(child.url)
            try:
                seen = check_trial(child.data_dir, engine)
            finally:
                engine.dispose()
            outcomes["all" if seen == full else "none"] += 1
            shutil.rmtree(child.data_dir.parent)
    finally:
        if upcoming is not None:
            upcoming.kill()
    elapsed = time.perf_counter() - started
    print(
        f"T18 {kind} on {backend.name}: {TRIALS} trials x {rows:,} rows in {elapsed:.0f} s; "
        f"clean run {duration:.1f} s; kills before / after the commit point: {outcomes}"
    )
    # The kills must have landed before the commit point to prove anything.
    assert outcomes["none"] > 0, outcomes
