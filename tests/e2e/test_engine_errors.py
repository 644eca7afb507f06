"""Where the evaluation or an import cannot run, as a user meets it on the command line
(issue 7, bad input): a Spark master or Connect server that cannot be reached, Spark without
Java, a DuckDB memory limit too small for the job (the evaluation, an import, the roll-up's
rebuild and check, the reports, the snapshot), an event store on a path that cannot be
written. Each is one sentence on stderr, a non-zero exit code, no traceback, and nothing
stored: no snapshot, no event files, no import batch."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from test_evaluate_cli import ORDER  # the same one-directive policy

from dutystation.bootstrap import Runtime, bootstrap
from dutystation.cli import main
from dutystation.events.schemas import EventKind
from dutystation.events.store import EventStore
from dutystation.ingest.fields import ImportKind
from dutystation.services import snapshot
from dutystation.services.importing import run_import
from dutystation.settings import Settings
from dutystation.store.db import make_engine
from spark_required import require_spark

FILES = {
    ImportKind.ORG_UNITS: "org_unit,name,parent,kind\nD,Department,,department\n"
    "D-A,Component A,D,component\n",
    ImportKind.OFFICES: "site_id,name,zip,latitude,longitude,timezone,seats,org_unit\n"
    "HQ,Headquarters,20001,38.9,-77.03,America/New_York,40,D\n",
    ImportKind.ROSTER: "employee_id,name,org_unit,duty_station,arrangement,effective_date\n"
    "E1,Ann Example,D-A,HQ,telework,2025-01-06\nE2,Bo Example,D-A,HQ,telework,2025-01-06\n",
    ImportKind.BADGES: "employee_id,timestamp,site_id,direction\n"
    + "".join(
        f"{e},2025-02-0{d}T0{h}:00:00,HQ,{way}\n"
        for e in ("E1", "E2")
        for d in (3, 4, 5)
        for h, way in ((8, "IN"), (9, "OUT"))
    ),
}
NEW_BADGES = "employee_id,timestamp,site_id,direction\nE1,2025-02-06T08:00:00,HQ,IN\n"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir and policies folder with two employees' badge events of one week."""
    root = tmp_path_factory.mktemp("engine-errors")
    (root / "policies").mkdir()
    (root / "policies" / "order.toml").write_text(ORDER)
    runtime = Runtime(Settings(data_dir=root / "data"))
    runtime.prepare_dirs()
    for kind, content in FILES.items():
        path = root / f"{kind}.csv"
        path.write_text(content)
        run_import(runtime, kind, [path])
    runtime.engine.dispose()
    return root


@pytest.fixture
def world(template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the template: its data dir is ``world / "data"``."""
    shutil.copytree(template / "data", tmp_path / "data")
    shutil.copytree(template / "policies", tmp_path / "policies")
    return tmp_path


def _run(world: Path, *args: str, **env: str | None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "DUTYSTATION_DATA_DIR": str(world / "data")}
    full["DUTYSTATION_POLICIES_DIR"] = str(world / "policies")
    for name in ("DUTYSTATION_DATABASE_URL", "DUTYSTATION_AS", "DUTYSTATION_ANALYTICS"):
        full.pop(name, None)
    for name, value in env.items():
        if value is None:
            full.pop(name, None)
        else:
            full[name] = value
    return subprocess.run(
        [sys.executable, "-m", "dutystation", *args],
        capture_output=True, text=True, env=full, timeout=300,
    )  # fmt: skip


def _one_sentence(
    done: subprocess.CompletedProcess[str], exit_code: int, progress: tuple[str, ...] = ()
) -> str:
    """The one line of stderr (besides lines of progress starting with ``progress``)."""
    assert done.returncode == exit_code, done.stderr
    assert "Traceback" not in done.stderr
    lines = [
        n for n in done.stderr.strip().splitlines() if not (progress and n.startswith(progress))
    ]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0].removeprefix("error: ")


def _no_snapshot(world: Path) -> None:
    shown = _run(world, "evaluate")
    assert shown.returncode == 0, shown.stderr
    assert "No snapshot yet" in shown.stdout


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("setting", "url", "name"),
    [
        ("DUTYSTATION_SPARK_MASTER", "spark://127.0.0.1:{port}", "spark_master"),
        ("DUTYSTATION_SPARK_CONNECT_URL", "sc://127.0.0.1:{port}", "spark_connect_url"),
    ],
)
def test_a_spark_server_that_cannot_be_reached_is_one_sentence_within_seconds(
    world: Path, setting: str, url: str, name: str
) -> None:
    pytest.importorskip("pyspark")
    where = url.format(port=_closed_port())
    started = time.monotonic()
    done = _run(
        world, "evaluate", "--refresh", "-q", DUTYSTATION_ANALYTICS="spark", **{setting: where}
    )
    # The interpreter's start and the inputs take most of this on a loaded machine; the
    # check itself is a 5 s TCP connect, never Spark's minute of registration retries.
    assert time.monotonic() - started < 120
    sentence = _one_sentence(done, 2)
    assert (
        sentence == f"the Spark server {where} cannot be reached (Connection refused); check {name}"
    )
    _no_snapshot(world)


def test_a_spark_connect_url_without_the_connect_client_is_one_sentence(world: Path) -> None:
    pytest.importorskip("pyspark")
    if importlib.util.find_spec("grpc") is not None:
        pytest.skip("the Spark Connect client is installed here")
    with socket.socket() as server:  # something listens, so the reachability check passes
        server.bind(("127.0.0.1", 0))
        server.listen()
        where = f"sc://127.0.0.1:{server.getsockname()[1]}"
        done = _run(
            world, "evaluate", "--refresh", "-q",
            DUTYSTATION_ANALYTICS="spark", DUTYSTATION_SPARK_CONNECT_URL=where,
        )  # fmt: skip
    sentence = _one_sentence(done, 2)
    assert sentence == (
        "spark_connect_url needs the Spark Connect client: pip install 'pyspark[connect]'"
    )
    _no_snapshot(world)


@pytest.mark.parametrize("java_home", [None, "no-java-here"])
def test_spark_without_java_is_one_sentence(
    world: Path, tmp_path: Path, java_home: str | None
) -> None:
    pytest.importorskip("pyspark")
    empty = tmp_path / "bin"
    empty.mkdir()
    home = None if java_home is None else str(tmp_path / java_home)
    done = _run(
        world, "evaluate", "--refresh", "-q",
        DUTYSTATION_ANALYTICS="spark", DUTYSTATION_SPARK_MASTER="local[1]",
        PATH=str(empty), JAVA_HOME=home,
    )  # fmt: skip
    sentence = _one_sentence(done, 2)
    if home is None:
        assert sentence.startswith("analytics = spark needs Java 17 or later and no java is")
        assert "openjdk-17-jre-headless" in sentence
    else:
        assert sentence.startswith(
            f"analytics = spark needs Java 17 or later, and JAVA_HOME ({home})"
        )
    _no_snapshot(world)


@pytest.mark.spark
def test_a_spark_driver_memory_below_sparks_minimum_is_one_sentence(world: Path) -> None:
    require_spark()  # a JVM starts (and stops at once)
    done = _run(
        world, "evaluate", "--refresh", "-q",
        DUTYSTATION_ANALYTICS="spark", DUTYSTATION_SPARK_DRIVER_MEMORY="256m",
    )  # fmt: skip
    # The JVM's warnings and Spark's stack trace went to the driver's log, not to stderr.
    sentence = _one_sentence(done, 2)
    assert sentence == (
        "spark_driver_memory (256m) is less than Spark needs to start (450m); raise it to 1g "
        "or more"
    )
    assert "INVALID_DRIVER_MEMORY" in (world / "data" / "tmp" / "spark-driver.log").read_text()
    _no_snapshot(world)


def test_a_duckdb_memory_limit_too_small_names_the_setting_and_the_figure(world: Path) -> None:
    done = _run(world, "evaluate", "--refresh", "-q", DUTYSTATION_DUCKDB_MEMORY_LIMIT="1MB")
    sentence = _one_sentence(done, 1)
    assert sentence == (
        "the evaluation needs more memory than duckdb_memory_limit (1MB) allows; raise it to "
        "256MB (DUTYSTATION_DUCKDB_MEMORY_LIMIT=256MB) and run again; nothing was stored"
    )
    assert "Out of Memory" not in done.stderr and "SET " not in done.stderr
    _no_snapshot(world)
    # The figure given is one that works.
    again = _run(world, "evaluate", "--refresh", "-q", DUTYSTATION_DUCKDB_MEMORY_LIMIT="256MB")
    assert again.returncode == 0, again.stderr
    assert "Snapshot 1: 2 employees" in again.stdout


# One sentence whatever the job; {job} names it.
OUT_OF_MEMORY = (
    "{job} needs more memory than duckdb_memory_limit (1MB) allows; raise it to 256MB "
    "(DUTYSTATION_DUCKDB_MEMORY_LIMIT=256MB) and run again; nothing was stored"
)


@pytest.mark.parametrize(
    ("command", "job"),
    [
        (("import", "badges", "new.csv"), "the import"),
        (("rollup", "rebuild"), "the roll-up rebuild"),
        (("verify",), "the roll-up check"),
        (("report", "presence", "--period", "2025-02-03..2025-02-09"), "the presence report"),
        (("report", "capacity", "--period", "2025-02-03..2025-02-07"), "the capacity report"),
    ],
)
def test_a_duckdb_memory_limit_too_small_for_any_job_names_the_setting(
    world: Path, command: tuple[str, ...], job: str
) -> None:
    (world / "new.csv").write_text(NEW_BADGES)
    before = _stored(world / "data")
    args = [str(world / a) if a.endswith(".csv") else a for a in command]
    done = _run(world, *args, DUTYSTATION_DUCKDB_MEMORY_LIMIT="1MB")
    # Progress lines of the roll-up commands ("rolling up badges 2025-02") go first.
    sentence = _one_sentence(done, 1, progress=("rolling up ", "checking "))
    assert sentence == OUT_OF_MEMORY.format(job=job)
    assert "Out of Memory" not in done.stderr and "SET " not in done.stderr
    # No event or roll-up file, manifest, import batch or audit record: as it was.
    assert _stored(world / "data") == before


def test_a_snapshot_whose_own_tables_do_not_fit_names_the_setting(
    world: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The evaluations are given room (at 250,000 people it is the snapshot's sorts of
    # millions of rows that meet the limit); its tables and plan run within 1MB.
    def roomy(evaluate: Any) -> Any:
        def given_room(runtime: Runtime, *args: object, **kwargs: object) -> object:
            settings = runtime.settings.model_copy(update={"duckdb_memory_limit": "256MB"})
            return evaluate(bootstrap(settings), *args, **kwargs)

        return given_room

    monkeypatch.setattr(snapshot, "evaluate", roomy(snapshot.evaluate))
    monkeypatch.setattr(snapshot, "evaluate_in_parts", roomy(snapshot.evaluate_in_parts))
    for name in ("DUTYSTATION_DATABASE_URL", "DUTYSTATION_AS", "DUTYSTATION_ANALYTICS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DUTYSTATION_DATA_DIR", str(world / "data"))
    monkeypatch.setenv("DUTYSTATION_POLICIES_DIR", str(world / "policies"))
    monkeypatch.setenv("DUTYSTATION_DUCKDB_MEMORY_LIMIT", "1MB")
    monkeypatch.setattr(sys, "argv", ["dutystation", "evaluate", "--refresh", "-q"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    shown = capsys.readouterr().err.strip().splitlines()
    assert shown == ["error: " + OUT_OF_MEMORY.format(job="the snapshot")]
    _no_snapshot(world)


def _stored(data: Path) -> tuple[list[str], list[str], int, int]:
    """What an import leaves: event files, quarantined files, batches, audit records."""
    events = EventStore(data / "events")
    engine = make_engine(f"sqlite:///{data / 'dutystation.sqlite3'}")
    with engine.connect() as conn:
        batches = conn.execute(text("SELECT count(*) FROM import_batch")).scalar_one()
        audit = conn.execute(text("SELECT count(*) FROM audit_record")).scalar_one()
    engine.dispose()
    files = sorted(str(p) for p in (data / "events").rglob("*") if p.is_file())
    quarantined = sorted(p.name for p in (data / "quarantine").iterdir())
    assert events.files(EventKind.BADGES), "the template holds badge events"
    return files, quarantined, batches, audit


@pytest.fixture
def read_only_events(world: Path) -> Iterator[Path]:
    """The event store's folder made unwritable. As root, permission bits are not enough:
    the folder is made immutable (chattr +i), which refuses root too."""
    events = world / "data" / "events"
    if os.geteuid() == 0:
        made = subprocess.run(["chattr", "+i", str(events)], capture_output=True, check=False)
        undo = ["chattr", "-i", str(events)]
        if made.returncode != 0:
            pytest.skip(f"cannot make a folder unwritable for root here: {made.stderr!r}")
    else:
        events.chmod(0o555)
        undo = ["chmod", "755", str(events)]
    try:
        yield events
    finally:
        subprocess.run(undo, check=True)


def test_an_event_store_without_write_permission_refuses_the_import_whole(
    world: Path, read_only_events: Path
) -> None:
    before = _stored(world / "data")
    (world / "new.csv").write_text(NEW_BADGES)
    done = _run(world, "import", "badges", str(world / "new.csv"))
    sentence = _one_sentence(done, 1)
    assert sentence.startswith(f"the event store {read_only_events} cannot be written (")
    assert sentence.endswith(
        "give the user running dutystation write access there or set data_dir "
        "(DUTYSTATION_DATA_DIR) to a folder it can write; nothing was stored"
    )
    assert _stored(world / "data") == before
    # Nothing left behind (a lock, a half-written file) stands in the way once it can write.
    subprocess.run(
        ["chattr", "-i", str(read_only_events)] if os.geteuid() == 0
        else ["chmod", "755", str(read_only_events)],
        check=True,
    )  # fmt: skip
    retried = _run(world, "import", "badges", str(world / "new.csv"))
    assert retried.returncode == 0, retried.stderr
    assert "1 rows read, 1 stored" in retried.stdout


def test_a_data_dir_under_a_regular_file_is_one_sentence(world: Path) -> None:
    blocker = world / "not-a-folder"
    blocker.write_text("a file, not a folder\n")
    (world / "new.csv").write_text(NEW_BADGES)
    done = _run(
        world, "import", "badges", str(world / "new.csv"),
        DUTYSTATION_DATA_DIR=str(blocker / "data"),
    )  # fmt: skip
    sentence = _one_sentence(done, 1)
    assert sentence.startswith(f"the folder {blocker / 'data'} cannot be written (Not a directory)")
    assert blocker.read_text() == "a file, not a folder\n"
