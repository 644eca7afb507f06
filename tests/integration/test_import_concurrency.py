"""RELIABILITY T28 (b): imports running at the same time as each other and as readers.

* two ``dutystation import`` processes given the same file at the same moment store it
  once (roster: the database's writer lock; badges: the event store's), on SQLite and
  PostgreSQL;
* a reader polling while an import runs sees the state before the batch or after it,
  never part of it;
* a writer that cannot get the lock in time is told so in one sentence: the command line
  says the database is busy (exit status 1), the API answers 503 with ``Retry-After``
  (database; the event store at once) — never "database is locked" or a 500.

T28 (a), the roster snapshot's blast radius, is in test_import_records_roster.py
(held at 30 % separated / 40 % moved) and below (thresholds are settings).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from import_harness import (
    Backend,
    Child,
    audit_records,
    backend,
    badge_state,
    distinct_swipes,
    make_inputs,
    prepare,
)
from sqlalchemy import Engine, text
from test_import_records_builders import load_organisation, person, roster_csv, settings_for

from api_world import World, app, client_for, make_client, world, world_template
from dutystation.api.app import create_app
from dutystation.errors import ImportHeld
from dutystation.services.import_records import import_roster
from dutystation.settings import Settings
from dutystation.store import db as store_db
from dutystation.store.db import make_engine, migrate, write_transaction

__all__ = ["app", "backend", "client_for", "world", "world_template"]

ROWS = 50_000


def roster_counts(engine: Engine) -> tuple[int, int]:
    """(employees, assignment versions) read in ONE statement: one snapshot on both
    backends, as any single report query sees the data."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM employee), (SELECT count(*) FROM employee_assignment)"
            )
        ).one()
    return int(row[0]), int(row[1])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["roster", "badges"])
def test_two_imports_of_one_file_at_the_same_moment_store_it_once(
    backend: Backend, kind: str, tmp_path: Path
) -> None:
    inputs = make_inputs(tmp_path, ROWS)
    prepare(backend, inputs, kind)
    source = inputs.roster if kind == "roster" else inputs.badges
    data, url = backend.fresh("both")
    first, second = Child(data, url, kind, source), Child(data, url, kind, source)
    first.ready()
    second.ready()
    first.go(wait_ready=False)
    second.go(wait_ready=False)
    ends = [first.wait(600), second.wait(600)]
    assert [code for code, _, _ in ends] == [0, 0], [err for _, _, err in ends]

    engine = make_engine(url)
    try:
        if kind == "roster":
            assert roster_counts(engine) == (ROWS, ROWS)  # 0 duplicates
            assert len(audit_records(engine, "import.roster")) == 2  # both runs recorded
        else:
            full = distinct_swipes(inputs.badges)
            manifests, rows, unique = badge_state(data)
            assert (rows, unique) == (full, full)  # 0 duplicates
            # The earlier batch, the first run, and the second run that found nothing new.
            assert manifests == 3
            assert len(audit_records(engine, "import.badges")) == 3
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["roster", "badges"])
def test_readers_during_an_import_see_no_part_of_the_batch(
    backend: Backend, kind: str, tmp_path: Path
) -> None:
    inputs = make_inputs(tmp_path, ROWS)
    prepare(backend, inputs, kind)
    data, url = backend.fresh("read")
    if kind == "roster":
        before, after = (0, 0), (ROWS, ROWS)
    else:
        before_rows, full = distinct_swipes(inputs.earlier), distinct_swipes(inputs.badges)
        before, after = (before_rows, before_rows), (full, full)
    engine = make_engine(url)
    try:
        child = Child(data, url, kind, inputs.roster if kind == "roster" else inputs.badges)
        child.go()
        seen: list[tuple[int, int]] = []
        while child.proc.poll() is None:
            if kind == "roster":
                seen.append(roster_counts(engine))
            else:
                _, rows, unique = badge_state(data)
                seen.append((rows, unique))
        code, _, err = child.wait()
        assert code == 0, err
    finally:
        engine.dispose()
    assert len(seen) >= 3, seen  # the reader really ran while the import did
    assert set(seen) <= {before, after}, sorted(set(seen) - {before, after})[:5]


# --------------------------------------------------------------------------- lock conflicts


# The command line in a child process, with the writer's wait shortened from 30 s.
_SHORT_WAIT_CLI = (
    "import sys; import dutystation.store.db as db; db.WRITER_WAIT_SECONDS = 0.5; "
    "from dutystation.cli import main; sys.argv[0] = 'dutystation'; main()"
)


def _cli(args: list[str], data: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DUTYSTATION_DATA_DIR": str(data), "DUTYSTATION_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-c", _SHORT_WAIT_CLI, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_a_command_line_import_blocked_by_another_writer_says_the_database_is_busy(
    db_url: str, tmp_path: Path
) -> None:
    holder = make_engine(db_url)
    migrate(holder)
    load_organisation(holder, tmp_path)
    roster = str(roster_csv(tmp_path, [person(f"E{i}") for i in range(20)]))
    data = tmp_path / "data"
    try:
        with write_transaction(holder):  # another import is writing
            done = _cli(["import", "roster", "--quiet", roster], data, db_url)
        assert done.returncode == 1, done.stderr
        assert "the database is busy with another write; try again in a moment" in done.stderr
        for leak in ("locked", "Traceback", "OperationalError", "bug"):
            assert leak not in done.stderr
        later = _cli(["import", "roster", "--quiet", roster], data, db_url)
        assert later.returncode == 0, later.stderr
    finally:
        holder.dispose()


def test_an_api_import_blocked_by_another_writer_answers_503_with_retry_after(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_db, "WRITER_WAIT_SECONDS", 0.5)
    settings = world.settings()
    client = make_client(create_app(settings), world.users["agency_admin"].token)
    roster = roster_csv(world.data_dir.parent, [person("NEW1", org_unit="COMP-A")], "r.csv")
    holder = make_engine(settings.resolved_database_url)
    try:
        with write_transaction(holder):
            busy = client.post(
                "/api/v1/imports/roster",
                files=[("files", ("roster.csv", roster.read_bytes(), "text/csv"))],
            )
    finally:
        holder.dispose()
        client.close()
    assert busy.status_code == 503, busy.text
    assert int(busy.headers["Retry-After"]) > 0
    assert "busy" in busy.json()["detail"]
    assert "locked" not in busy.text


# --------------------------------------------------------------------------- T28 (a)


def test_the_blast_radius_thresholds_are_settings(engine: Engine, tmp_path: Path) -> None:
    load_organisation(engine, tmp_path)
    team = [person(f"E{i:02d}") for i in range(20)]
    import_roster(engine, [roster_csv(tmp_path, team)], settings=settings_for(tmp_path))
    later = [dict(p, effective_date="2025-02-03") for p in team]
    # 2 of 20 missing (10 %): within the default threshold, held under a stricter one.
    strict = Settings(data_dir=tmp_path / "data", roster_hold_separated_share=0.05)
    with pytest.raises(ImportHeld, match=r"separate 2 of 20 active employees \(10%\)"):
        import_roster(
            engine, [roster_csv(tmp_path, later[:18], "a.csv")], snapshot=True, settings=strict
        )
    # 6 of 20 moved (30 %): held by default, applied under a looser threshold.
    for row in later[:6]:
        row["org_unit"] = "COMP-B"
    moved = roster_csv(tmp_path, later, "b.csv")
    with pytest.raises(ImportHeld, match=r"move 6 \(30%\)"):
        import_roster(engine, [moved], snapshot=True, settings=settings_for(tmp_path))
    loose = Settings(data_dir=tmp_path / "data", roster_hold_moved_share=0.5)
    summary = import_roster(engine, [moved], snapshot=True, settings=loose)
    assert summary.rows_stored == 6
