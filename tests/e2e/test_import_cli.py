"""The import commands as a user runs them: real processes, real files, exit codes and the
sentences printed. Nothing here reaches into the package."""

from __future__ import annotations

import csv
import gzip
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from dutystation.events.store import EventStore
from dutystation.store.db import make_engine
from dutystation.store.schema import Employee, EmployeeAssignment

ORGS = [["org_unit", "name", "parent", "kind"], ["D", "Dept", "", "department"],
        ["C", "Comp", "D", "component"]]  # fmt: skip
OFFICES = [
    ["site_id", "name", "zip", "latitude", "longitude", "timezone", "seats", "org_unit"],
    ["NYC1", "New York", "10007", "40.71", "-74.0", "America/New_York", "50", "C"],
]


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _roster(n: int) -> list[list[str]]:
    rows = [["employee_id", "name", "org_unit", "duty_station", "arrangement", "effective_date"]]
    rows += [[f"E{i:06d}", f"Test Person {i}", "C", "NYC1", "telework", "2025-01-01"]
             for i in range(n)]  # fmt: skip
    return rows


def _run(
    data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "DUTYSTATION_DATA_DIR": str(data_dir), **(env or {})}

    return subprocess.run(
        [sys.executable, "-m", "dutystation", *args],
        capture_output=True, text=True, env=full_env, timeout=300,
    )  # fmt: skip


@pytest.fixture
def loaded(tmp_path: Path) -> Path:
    """A data dir with org units, one office and ten employees."""
    data = tmp_path / "data"
    for kind, rows in (("org-units", ORGS), ("offices", OFFICES), ("roster", _roster(10))):
        done = _run(data, "import", kind, str(_csv(tmp_path / f"{kind}.csv", rows)))
        assert done.returncode == 0, done.stderr
    return data


BADGE_HEADER = ["employee_id", "timestamp", "site_id", "direction"]


def test_a_clean_badge_file_lands_and_a_second_run_stores_nothing(
    loaded: Path, tmp_path: Path
) -> None:
    rows = [BADGE_HEADER, ["E000001", "2025-02-03T08:59:00", "NYC1", "IN"],
            ["E000001", "2025-02-03T17:01:00-05:00", "NYC1", "OUT"]]  # fmt: skip
    path = _csv(tmp_path / "badges.csv", rows)
    first = _run(loaded, "import", "badges", str(path))
    again = _run(loaded, "import", "badges", str(path))
    assert first.returncode == 0, first.stderr
    assert "2 rows read, 2 stored" in first.stdout
    assert again.returncode == 0
    assert "2 rows read, 0 stored, 2 already present" in again.stdout


def test_rejected_rows_store_nothing_and_say_where_the_first_one_is(
    loaded: Path, tmp_path: Path
) -> None:
    rows = [BADGE_HEADER, ["E000001", "2025-02-03T09:00:00", "NYC1", "IN"],
            ["E999999", "2025-02-03T09:00:00", "NYC1", "IN"],
            ["E000002", "2025-02-03T09:00:00", "NOWHERE", "IN"]]  # fmt: skip
    done = _run(loaded, "import", "badges", str(_csv(tmp_path / "b.csv", rows)))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "unknown employee (first at" in done.stderr and "line 3" in done.stderr
    assert "E999999" not in done.stderr + done.stdout  # values never echoed
    assert EventStore(loaded / "events").files("badges") == []
    quarantined = list((loaded / "quarantine").glob("*-badges.csv"))
    assert len(quarantined) == 1
    assert quarantined[0].stat().st_mode & 0o077 == 0  # the rows are PII: owner only


def test_accept_partial_stores_the_valid_rows(loaded: Path, tmp_path: Path) -> None:
    rows = [BADGE_HEADER, ["E000001", "2025-02-03T09:00:00", "NYC1", "IN"],
            ["E999999", "2025-02-03T09:00:00", "NYC1", "IN"]]  # fmt: skip
    done = _run(loaded, "import", "badges", "--accept-partial", str(_csv(tmp_path / "b.csv", rows)))
    assert done.returncode == 0, done.stderr
    assert "1 stored" in done.stdout and "1 rejected" in done.stdout


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("missing.csv", b"employee_id,site_id\nE000001,NYC1\n", "required column 'timestamp'"),
        ("looks.parquet", b"employee_id,timestamp,site_id\n", "not a Parquet file"),
        ("empty.csv", b"", "empty"),
        ("cut.csv.gz", gzip.compress(b"employee_id,timestamp,site_id\n" * 5000)[:300],
         "gzip"),
    ],
)  # fmt: skip
def test_a_bad_file_gets_one_sentence_and_exit_status_2(
    loaded: Path, tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    done = _run(loaded, "import", "badges", str(path))
    assert done.returncode == 2
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 2  # one sentence (Rich may wrap it)


def test_quiet_prints_nothing_on_success(loaded: Path, tmp_path: Path) -> None:
    rows = [BADGE_HEADER, ["E000003", "2025-02-04T09:00:00Z", "NYC1", ""]]
    done = _run(loaded, "import", "badges", "--quiet", str(_csv(tmp_path / "b.csv", rows)))
    assert done.returncode == 0 and done.stdout == ""


def test_a_missing_file_is_named(loaded: Path, tmp_path: Path) -> None:
    done = _run(loaded, "import", "roster", str(tmp_path / "nope.csv"))
    assert done.returncode == 2 and "nope.csv: no such file" in done.stderr


def _db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'dutystation.sqlite3'}"
    url: str = request.getfixturevalue("scratch_postgres")
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return _db_url(request, tmp_path)


@pytest.mark.slow
def test_a_roster_import_killed_at_any_moment_leaves_all_or_nothing(
    backend_url: str, tmp_path: Path
) -> None:
    n = 20_000
    data = tmp_path / "data"
    env = {"DUTYSTATION_DATABASE_URL": backend_url}
    if make_url(backend_url).get_backend_name() != "sqlite":
        done = _run(data, "db", "upgrade", env=env)  # a server database is upgraded explicitly
        assert done.returncode == 0, done.stderr
    for kind, rows in (("org-units", ORGS), ("offices", OFFICES)):
        done = _run(data, "import", kind, str(_csv(tmp_path / f"{kind}.csv", rows)), env=env)
        assert done.returncode == 0, done.stderr
    roster = _csv(tmp_path / "roster.csv", _roster(n))
    engine = make_engine(backend_url)
    try:
        _kill_imports_then_finish(engine, data, roster, env, n)
    finally:
        engine.dispose()


def _kill_imports_then_finish(
    engine: Engine, data: Path, roster: Path, env: dict[str, str], n: int
) -> None:
    rng = random.Random(2025)
    for _trial in range(5):
        proc = subprocess.Popen(
            [sys.executable, "-m", "dutystation", "import", "roster", "--quiet", str(roster)],
            env={**os.environ, "DUTYSTATION_DATA_DIR": str(data), **env},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(rng.uniform(0.3, 3.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with engine.connect() as conn:
            people = conn.execute(select(func.count()).select_from(Employee)).scalar_one()
            versions = conn.execute(
                select(func.count()).select_from(EmployeeAssignment)
            ).scalar_one()
            batches = conn.execute(text("SELECT count(*) FROM import_batch")).scalar_one()
        assert (people, versions) in {(0, 0), (n, n)}, (people, versions)
        # Org units and offices, then one record per roster import that committed (a
        # re-run that changes nothing is still recorded): never a half-recorded one.
        assert batches >= 2 and (batches == 2) == (people == 0)
    done = _run(data, "import", "roster", str(roster), env=env)
    assert done.returncode == 0, done.stderr
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Employee)).scalar_one() == n
        assert conn.execute(select(func.count()).select_from(EmployeeAssignment)).scalar_one() == n
