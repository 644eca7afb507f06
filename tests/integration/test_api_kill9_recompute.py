"""RELIABILITY T19 ``api_write_kill9_outbox``, its second half: SIGKILL during
roster-driven status recomputation (the first half, approvals and denials, is
test_api_kill9.py; both use serve_harness.py).

A roster import does not recompute statuses itself: it stores the roster and marks the
evaluation snapshot stale in its own transaction, and ``dutystation evaluate --refresh``
recomputes the snapshot (docs/evaluation.md, "The snapshot"). So each trial kills both:

1. ``dutystation serve`` (uvicorn) while an administrator uploads a roster that moves two
   people between telework and on-site work (their status changes with it), at a random
   moment of the upload;
2. then ``dutystation evaluate --refresh`` (a child process), at a random moment of the
   recomputation.

After each kill, on SQLite and on PostgreSQL:

- the roster change is there whole or not at all, with its import-log row, its
  ``import.roster`` audit record and the stale mark exactly when it is there (an upload
  the server answered 2xx for is there);
- 0 partial recomputations: the current snapshot is the one from before the trial or a
  complete new one (every generation table holds only its rows, as many as it counts);
  its statuses are those of the roster it was computed from; it is marked stale exactly
  when the roster changed after it; one ``snapshot.refresh`` audit record per snapshot
  committed, none for a killed one;
- SQLite ``PRAGMA integrity_check`` is ``ok``, the audit chain verifies intact;
- re-running the import (idempotent) and the refresh completes, and the snapshot then
  shows the new statuses and is not stale (whatever kept period results, docs/evaluation.md,
  the killed refresh left behind).

CI: 3 trials per backend (16 s each on an idle 2-core machine, 30 s at a load of 5); nightly
(DUTYSTATION_TEST_PROFILE=nightly): 50. DUTYSTATION_KILL9_RECOMPUTE_TRIALS overrides both.
"""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from serve_harness import ROSTER_HEADER, Child, Server, Store, prepare, write_csv
from sqlalchemy import Engine, func, select, text

from api_world import PEOPLE
from dutystation.bootstrap import bootstrap
from dutystation.errors import Conflict
from dutystation.ingest.fields import ImportKind
from dutystation.services.audit_verify import verify
from dutystation.services.importing import run_import
from dutystation.services.snapshot import refresh_snapshot
from dutystation.store.db import make_engine
from dutystation.store.schema import Employee, EmployeeAssignment, ImportBatch
from dutystation.store.schema_audit import AuditRecord
from dutystation.store.schema_snapshot import EvaluationSnapshot, SnapshotEmployee, SnapshotWeek
from dutystation.store.snapshot_rows import GENERATION_TABLES, current

NIGHTLY = os.environ.get("DUTYSTATION_TEST_PROFILE") == "nightly"
TRIALS = int(os.environ.get("DUTYSTATION_KILL9_RECOMPUTE_TRIALS", 50 if NIGHTLY else 3))
EVIDENCE_START = date(2025, 2, 3)  # two weeks of T&A hours after the order's effective date
EVIDENCE_DAYS = 12
CHANGE_DAY = date(2025, 2, 10)  # the uploads move W2 and B1 from this Monday on
MOVED = ("W2", "B1")
ARRANGEMENT = {0: "telework", 1: "onsite"}  # arrangement of the moved people, by variant


def _evidence(root: Path) -> Path:
    """Everyone's hours, on site for those who work on site, telework for the others."""
    rows = []
    for n in range(EVIDENCE_DAYS):
        day = EVIDENCE_START + timedelta(days=n)
        if day.weekday() >= 5:
            continue
        for employee_id, _name, _unit, station, arrangement, _boss in PEOPLE:
            code = "onsite" if arrangement == "onsite" else "telework_routine"
            rows.append(
                (employee_id, day.isoformat(), code, "8", station if code == "onsite" else "")
            )
    return write_csv(
        root / "timecards.csv", ["employee_id", "date", "code", "hours", "site_id"], rows
    )


def _upload(root: Path, trial: int, variant: int) -> Path:
    rows = [
        (e, name, unit, station, ARRANGEMENT[variant], boss, CHANGE_DAY.isoformat())
        for e, name, unit, station, _arrangement, boss in PEOPLE
        if e in MOVED
    ]
    return write_csv(root / f"roster-{trial}.csv", ROSTER_HEADER, rows)


@dataclass(frozen=True)
class Seen:
    """What readers see after a kill; ``look`` asserts that it holds together."""

    snapshot_id: int
    stale: bool
    statuses: dict[str, str]  # the current snapshot's latest status per employee
    arrangements: dict[str, str]  # of the moved people on CHANGE_DAY, in the roster
    roster_batches: int
    refresh_records: list[int]  # snapshot ids named by ``snapshot.refresh`` records


def look(engine: Engine) -> Seen:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        result = verify(conn)
        assert result.intact, result.sentence()
        snapshot = current(conn)
        assert snapshot is not None
        # 0 partial recomputations: one generation, whole.
        for table in GENERATION_TABLES:
            others = select(func.count()).select_from(table)
            others = others.where(table.c.snapshot_id != snapshot.id)
            assert conn.scalar(others) == 0, table.name
        assert conn.scalar(select(func.count()).select_from(EvaluationSnapshot)) == 1
        meta = conn.execute(
            select(EvaluationSnapshot.employees, EvaluationSnapshot.week_rows).where(
                EvaluationSnapshot.id == snapshot.id
            )
        ).one()
        weeks = select(func.count()).where(SnapshotWeek.snapshot_id == snapshot.id)
        assert conn.scalar(weeks) == meta.week_rows
        statuses = dict(
            conn.execute(
                select(SnapshotEmployee.employee_id, SnapshotEmployee.status).where(
                    SnapshotEmployee.snapshot_id == snapshot.id
                )
            ).all()
        )
        assert len(statuses) == meta.employees
        arrangements = dict(
            conn.execute(
                select(Employee.employee_id, EmployeeAssignment.arrangement)
                .join(Employee, Employee.id == EmployeeAssignment.employee_pk)
                .where(Employee.employee_id.in_(MOVED))
                .where(EmployeeAssignment.effective_from <= CHANGE_DAY)
                .where(
                    (EmployeeAssignment.effective_to.is_(None))
                    | (EmployeeAssignment.effective_to > CHANGE_DAY)
                )
            ).all()
        )
        batches = sorted(conn.scalars(select(ImportBatch.id).where(ImportBatch.kind == "roster")))
        records = {
            action: sorted(
                conn.scalars(
                    select(AuditRecord.subject_id).where(
                        AuditRecord.action == action, AuditRecord.outcome == "allowed"
                    )
                )
            )
            for action in ("import.roster", "snapshot.refresh")
        }
    # Every committed import has its audit record, and no audit record names one that is
    # not there (they are written in one transaction).
    assert records["import.roster"] == batches
    return Seen(
        snapshot.id,
        snapshot.stale,
        statuses,
        arrangements,
        len(batches),
        sorted(int(s) for s in records["snapshot.refresh"]),
    )


def _refresh(settings: Any) -> None:
    """An uninterrupted refresh in this process (the re-run). PostgreSQL may take a moment
    to end the killed refresh's session and release its lock."""
    runtime = bootstrap(settings)
    try:
        for _ in range(100):
            try:
                refresh_snapshot(runtime)
                return
            except Conflict:
                time.sleep(0.1)
        raise AssertionError("the killed refresh's lock was never released")
    finally:
        runtime.engine.dispose()


def _fractions(rng: random.Random, span: float) -> list[float]:
    """Stratified over [0, span] of a clean run, so that kills land before, around and
    after the commit point."""
    found = [span * (i + rng.random()) / TRIALS for i in range(TRIALS)]
    rng.shuffle(found)
    return found


def _post(server: Server, store: Store, path: Path, sent: threading.Event, out: list[int]) -> None:
    headers = {"Authorization": f"Bearer {store.admin_token}"}
    with httpx2.Client(base_url=server.base, headers=headers, timeout=60) as http:
        sent.set()
        try:
            with path.open("rb") as handle:
                files = {"files": (path.name, handle, "text/csv")}
                out.append(http.post("/api/v1/imports/roster", files=files).status_code)
        except httpx2.TransportError:
            pass  # the kill: no answer


REFRESH = ["evaluate", "--refresh", "--quiet"]


class Children:
    """The servers and refreshes of a run, each started ahead of its turn; all closed at
    the end, however the test ends."""

    def __init__(self, store: Store, folder: Path) -> None:
        self.store, self.folder = store, folder
        self.started: list[Child] = []

    def server(self, name: str) -> Server:
        made = Server(self.store, self.folder / f"{name}.log")
        self.started.append(made)
        return made

    def refresh(self, name: str) -> Child:
        made = Child(self.store, self.folder / f"{name}.log", REFRESH)
        self.started.append(made)
        return made

    def close(self) -> None:
        for child in self.started:
            child.close()


@pytest.mark.slow
def test_a_killed_recomputation_leaves_the_old_snapshot_or_the_new_one(
    db_url: str, tmp_path: Path
) -> None:
    store = prepare(tmp_path, db_url)
    engine = make_engine(db_url)
    children = Children(store, tmp_path)
    try:
        _trials(store, engine, children, tmp_path)
    finally:
        children.close()
        engine.dispose()


def _trials(store: Store, engine: Engine, children: Children, folder: Path) -> None:
    upcoming = children.server("serve-0")  # they load while the evidence is imported
    clean = children.refresh("refresh-clean")
    runtime = bootstrap(store.settings)
    run_import(runtime, ImportKind.TIMECARDS, [_evidence(folder)])
    runtime.engine.dispose()
    # How long the killed steps take uninterrupted (the kill windows): a refresh in the
    # same kind of child (it makes the first snapshot), the upload on the first server.
    clean.go()
    clock = time.perf_counter()
    assert clean.process.wait(timeout=300) == 0
    refresh_seconds = time.perf_counter() - clock
    refresher = children.refresh("refresh-0")
    seen = look(engine)
    expected = {0: seen.statuses}  # the snapshot's statuses by variant of the roster
    variant = 0
    assert seen.arrangements == dict.fromkeys(MOVED, ARRANGEMENT[variant])
    upcoming.go()
    sent, answers = threading.Event(), []
    clock = time.perf_counter()
    _post(upcoming, store, _upload(folder, -1, variant), sent, answers)  # changes nothing
    upload_seconds = time.perf_counter() - clock
    assert answers == [200]
    rng = random.Random(1919)
    # A refresh killed in a trial runs while the next children load, more slowly than
    # the clean run: its window is wider.
    upload_at, refresh_at = _fractions(rng, 1.2), _fractions(rng, 2.0)
    outcomes = {"upload": [0, 0], "refresh": [0, 0]}  # [not committed, committed]
    for trial in range(TRIALS):
        before, previous, variant = look(engine), variant, 1 - variant
        path = _upload(folder, trial, variant)

        # 1. The server, while it imports the upload.
        server, upcoming = upcoming, children.server(f"serve-{trial + 1}")
        if trial:  # the first one was started for the clean upload
            server.go()
        sent, answers = threading.Event(), []
        posting = threading.Thread(target=_post, args=(server, store, path, sent, answers))
        posting.start()
        assert sent.wait(timeout=60)
        time.sleep(upload_at[trial] * upload_seconds)
        server.kill()
        posting.join(timeout=60)
        uploaded = look(engine)
        imported = uploaded.roster_batches == before.roster_batches + 1
        assert imported or uploaded.roster_batches == before.roster_batches
        stands = variant if imported else previous  # the roster after the kill
        assert uploaded.arrangements == dict.fromkeys(MOVED, ARRANGEMENT[stands])
        assert uploaded.stale == imported  # marked in the import's own transaction
        assert uploaded.snapshot_id == before.snapshot_id
        assert uploaded.statuses == before.statuses
        if answers and 200 <= answers[0] < 300:  # acknowledged means committed
            assert imported
        outcomes["upload"][imported] += 1

        # 2. The recomputation.
        killing, refresher = refresher, children.refresh(f"refresh-{trial + 1}")
        killing.go()
        time.sleep(refresh_at[trial] * refresh_seconds)
        finished = not killing.kill()
        middle = look(engine)
        refreshed = middle.snapshot_id != before.snapshot_id
        assert refreshed or not finished  # a refresh that ended by itself committed
        added = [middle.snapshot_id] if refreshed else []
        assert middle.refresh_records == before.refresh_records + added
        if refreshed:  # a whole new snapshot, of the roster as it stood
            assert not middle.stale
        else:  # the old snapshot exactly, stale when the roster changed after it
            assert (middle.statuses, middle.stale) == (before.statuses, imported)
        outcomes["refresh"][refreshed] += 1

        # 3. The re-run completes: the import again (it stores nothing twice), a refresh.
        runtime = bootstrap(store.settings)
        summary = run_import(runtime, ImportKind.ROSTER, [path])
        runtime.engine.dispose()
        assert (summary.rows_stored > 0) != imported
        _refresh(store.settings)
        after = look(engine)
        assert not after.stale
        assert after.arrangements == dict.fromkeys(MOVED, ARRANGEMENT[variant])
        expected.setdefault(variant, after.statuses)
        assert after.statuses == expected[variant]
        assert expected[variant] != expected[previous]  # the trial changed statuses
        if refreshed:
            assert middle.statuses == expected[stands]
    # The kills must have landed before the commit points to prove anything.
    assert outcomes["upload"][0] > 0 and outcomes["refresh"][0] > 0, outcomes
    print(
        f"T19 recomputation on {engine.dialect.name}: {TRIALS} trials; uploads killed before "
        f"/ after the commit {outcomes['upload']}, refreshes {outcomes['refresh']}; clean "
        f"upload {upload_seconds:.2f} s, refresh {refresh_seconds:.2f} s"
    )
