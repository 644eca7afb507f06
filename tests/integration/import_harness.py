"""What the import crash and concurrency tests share (RELIABILITY T18, T28): generated
inputs, fresh copies of a prepared store on SQLite or PostgreSQL, the command line run in
a child process, and the checks of what readers see.

Run as a script, this file is the child: ``python import_harness.py KIND FILE`` loads the
package, prints "ready", waits for a line on stdin, prints "import started" and runs
``dutystation import KIND --quiet FILE`` through the command line's ``main``; on success
it prints the seconds the import took. The data dir and database come from the
environment (``DUTYSTATION_DATA_DIR``, ``DUTYSTATION_DATABASE_URL``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.engine import make_url

ZONES = ["America/New_York", "America/Chicago", "America/Phoenix", "Pacific/Guam"]
STAFF = 5_000  # employees badging in the badge trials
STARTED = "import started"


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Inputs:
    org: Path
    offices: Path
    staff: Path  # the roster of the badge trials
    roster: Path  # ``rows`` employees: the roster trials' import
    badges: Path  # ``rows`` swipes, 1 % of them repeated rows
    earlier: Path  # the first quarter of ``badges``: a batch already stored


def _write(path: Path, table: pa.Table) -> Path:
    pacsv.write_csv(table, path)
    return path


def make_inputs(folder: Path, rows: int) -> Inputs:
    rng = np.random.default_rng(18)
    sites = [f"S{i:02d}" for i in range(50)]
    org = _write(
        folder / "org.csv",
        pa.table(
            {
                "org_unit": ["D", "C"],
                "name": ["Dept", "Comp"],
                "parent": ["", "D"],
                "kind": ["department", "component"],
            }
        ),
    )
    offices = _write(
        folder / "offices.csv",
        pa.table(
            {
                "site_id": sites,
                "name": [f"Office {s}" for s in sites],
                "timezone": [ZONES[i % len(ZONES)] for i in range(len(sites))],
                "seats": ["100"] * len(sites),
                "org_unit": ["C"] * len(sites),
            }
        ),
    )

    def roster(n: int) -> pa.Table:
        ids = [f"E{i:07d}" for i in range(n)]
        return pa.table(
            {
                "employee_id": ids,
                "name": [f"Test Person {i}" for i in range(n)],
                "org_unit": ["C"] * n,
                "duty_station": [sites[i % len(sites)] for i in range(n)],
                "arrangement": ["telework"] * n,
                "effective_date": ["2025-01-01"] * n,
            }
        )

    staff = _write(folder / "staff.csv", roster(STAFF))
    big = _write(folder / "roster.csv", roster(rows))
    employees = pa.array([f"E{i:07d}" for i in range(STAFF)])
    day_text = pa.array([f"2025-{m:02d}-{d:02d}" for m in range(1, 13) for d in range(1, 29)])
    clock = pa.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)])
    n = rows - rows // 100
    table = pa.table(
        {
            "employee_id": employees.take(pa.array(rng.integers(0, STAFF, n))),
            "timestamp": pc.binary_join_element_wise(
                day_text.take(pa.array(rng.integers(0, len(day_text), n))),
                clock.take(pa.array(rng.integers(7 * 3600, 19 * 3600, n))),
                "T",
            ),
            "site_id": pa.array(sites).take(pa.array(rng.integers(0, len(sites), n))),
            "direction": pa.array(np.array(["IN", "OUT", ""], dtype=object)[rng.integers(0, 3, n)]),
        }
    )
    table = pa.concat_tables([table, table.take(pa.array(rng.choice(n, rows - n)))])
    badges = _write(folder / "badges.csv", table)
    earlier = _write(folder / "earlier.csv", table.slice(0, rows // 4))
    return Inputs(org, offices, staff, big, badges, earlier)


def distinct_swipes(path: Path) -> int:
    columns = ["employee_id", "timestamp", "site_id", "direction"]
    types = dict.fromkeys(columns, pa.string())
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=types))
    return int(table.group_by(columns).aggregate([]).num_rows)


# --------------------------------------------------------------------------- backends


class Backend:
    """Fresh copies of one prepared store: a data dir and a database URL per trial."""

    def __init__(self, name: str, root: Path, pg_url: str | None) -> None:
        self.name, self.root, self.pg_url = name, root, pg_url
        self.databases: list[str] = []
        self.base_dir = root / "base" / "data"
        self.base_url = self._database("base", template=None)

    def _database(self, label: str, template: str | None) -> str:
        if self.pg_url is None:
            return f"sqlite:///{self.root / label / 'data' / 'dutystation.sqlite3'}"
        name = f"dutystation_imports_{uuid.uuid4().hex[:10]}_{label.replace('-', '_')}"
        copy = f' TEMPLATE "{template}"' if template else ""
        with _admin(self.pg_url) as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        self.databases.append(name)
        return make_url(self.pg_url).set(database=name).render_as_string(hide_password=False)

    def fresh(self, label: str) -> tuple[Path, str]:
        """A copy of the prepared store (no connection to the base may be open)."""
        data = self.root / label / "data"
        shutil.copytree(self.base_dir, data, symlinks=True)
        template = self.databases[0] if self.databases else None
        return data, self._database(label, template)

    def drop_all(self) -> None:
        if self.pg_url is None:
            return
        with _admin(self.pg_url) as conn:
            for name in reversed(self.databases):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def _admin(url: str) -> Iterator[Connection]:
    from pg_scratch import _maintenance_engine

    engine = _maintenance_engine(url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    pg = None
    if request.param == "postgres":
        from pg_scratch import _postgres_url

        pg = _postgres_url()
    chosen = Backend(request.param, tmp_path / "stores", pg)
    try:
        yield chosen
    finally:
        chosen.drop_all()


def run_in_process(data_dir: Path, url: str, kind: str, *paths: Path) -> None:
    """The same service the command runs, in this process (preparation and re-runs)."""
    from dutystation.bootstrap import bootstrap
    from dutystation.ingest.fields import ImportKind
    from dutystation.services.importing import run_import
    from dutystation.settings import Settings
    from dutystation.store.db import make_engine, migrate

    if not url.startswith("sqlite"):
        engine = make_engine(url)
        migrate(engine)  # a server database is upgraded explicitly
        engine.dispose()
    runtime = bootstrap(Settings(data_dir=data_dir, database_url=url))
    try:
        run_import(runtime, ImportKind(kind), list(paths))
    finally:
        runtime.engine.dispose()


# --------------------------------------------------------------------------- the child


class Child:
    """``dutystation import KIND FILE`` in a child process, started ahead of its run."""

    def __init__(self, data_dir: Path, url: str, kind: str, source: Path) -> None:
        self.data_dir, self.url = data_dir, url
        env = {**os.environ, "DUTYSTATION_DATA_DIR": str(data_dir), "DUTYSTATION_DATABASE_URL": url}
        # A file, not a pipe: nobody reads stderr while the child runs, and a full pipe
        # would stall it.
        self.stderr_path = data_dir.parent / f"stderr-{uuid.uuid4().hex[:8]}.txt"
        with self.stderr_path.open("w") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, __file__, kind, str(source)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=env,
                cwd=data_dir.parent,
            )

    def ready(self) -> None:
        """Wait until the package is loaded."""
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def go(self, *, wait_ready: bool = True) -> None:
        """Start the import; returns once it has started."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if wait_ready:
            self.ready()
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == STARTED

    def wait(self, timeout: float = 3600) -> tuple[int, str, str]:
        """(exit status, stdout, stderr) once the child has ended by itself."""
        out, _ = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, self.stderr_path.read_text()

    def finish(self) -> float:
        """Wait for an uninterrupted run; its duration after the marker."""
        code, out, err = self.wait()
        assert code == 0, err
        return float(out.strip().splitlines()[-1])

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(60)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


# --------------------------------------------------------------------------- checks


def check_database(engine: Engine) -> None:
    """Integrity of the operational database after the kill."""
    from dutystation.services.audit_verify import verify

    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        result = verify(conn)  # a half-written audit record would break the hash chain
        assert result.intact, result.sentence()


def audit_records(engine: Engine, action: str) -> list[str]:
    from dutystation.services.audit import AUDIT

    with engine.connect() as conn:
        query = select(AUDIT.c.subject_id).where(AUDIT.c.action == action)
        return sorted(conn.scalars(query))


def roster_state(engine: Engine) -> tuple[int, int, int]:
    """(employees, assignment versions, roster import batches)."""
    from dutystation.store.schema import Employee, EmployeeAssignment, ImportBatch

    with engine.connect() as conn:
        people = conn.scalar(select(func.count()).select_from(Employee)) or 0
        versions = conn.scalar(select(func.count()).select_from(EmployeeAssignment)) or 0
        batches = select(func.count()).select_from(ImportBatch).where(ImportBatch.kind == "roster")
        return people, versions, conn.scalar(batches) or 0


def badge_state(data_dir: Path) -> tuple[int, int, int]:
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


def prepare(backend: Backend, inputs: Inputs, kind: str) -> None:
    """The base store every copy starts from: org units and offices; for badge runs also
    the badging staff and an earlier, overlapping batch of badge events."""
    data, url = backend.base_dir, backend.base_url
    data.mkdir(parents=True)
    run_in_process(data, url, "org-units", inputs.org)
    run_in_process(data, url, "offices", inputs.offices)
    if kind == "badges":
        run_in_process(data, url, "roster", inputs.staff)
        run_in_process(data, url, "badges", inputs.earlier)


if __name__ == "__main__":
    import dutystation.services.import_events
    import dutystation.services.import_records
    import dutystation.services.importing  # noqa: F401
    from dutystation.cli import _register, main

    _register()
    print("ready", flush=True)
    sys.stdin.readline()
    print(STARTED, flush=True)
    began = time.perf_counter()
    sys.argv = ["dutystation", "import", sys.argv[1], "--quiet", sys.argv[2]]
    code: int | str | None = 0
    try:
        main()
    except SystemExit as exit_:
        code = exit_.code
    print(f"{time.perf_counter() - began:.3f}", flush=True)
    sys.exit(code)
