"""An upload's import runs in a child process of the server (services/upload_import.py):
at ``upload_import_nice`` lower CPU priority, on ``import_cpus`` cores, so that the worker
that took the upload answers reads meanwhile. A child that is killed stores nothing and
the upload answers 503 with one sentence; errors raised in the child reach the client
as they would from the worker (the other tests of the import route)."""

from __future__ import annotations

import io
import multiprocessing
import os
import pickle
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from area_world import write_policies
from fastapi.testclient import TestClient
from httpx2 import Response

from api_world import World
from dutystation import errors
from dutystation.api.app import create_app
from dutystation.events.store import EventStore
from dutystation.ingest.summary import RejectionClass

ROWS = 1_500_000  # long enough to be seen running: seconds, where spawning takes one


def badge_file(rows: int) -> bytes:
    """``rows`` taps of the world's people at HQ in the week of 2025-03-03."""
    rng = np.random.default_rng(7)
    days = pa.array([f"2025-03-0{d}" for d in range(3, 8)])
    clock = pa.array([f"{h:02d}:{m:02d}:{s:02d}" for h in range(7, 19) for m in range(60)
                      for s in range(60)])  # fmt: skip
    people = pa.array(["W1", "W2", "MGR1", "MGR2", "DIR"])
    stamp = pa.compute.binary_join_element_wise(
        days.take(pa.array(rng.integers(0, len(days), rows))),
        clock.take(pa.array(rng.integers(0, len(clock), rows))),
        "T",
    )
    table = pa.table(
        {
            "employee_id": people.take(pa.array(rng.integers(0, len(people), rows))),
            "timestamp": stamp,
            "site_id": pa.array(["HQ"] * rows),
            "direction": pa.array(["IN"] * rows),
        }
    )
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(quoting_style="none"))
    return sink.getvalue()


def niceness(pid: int) -> int:
    # /proc/PID/stat: the command is in parentheses and may hold spaces; nice is the
    # 19th field, the 17th after them.
    after = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(after[16])


def child_when(ready: threading.Event, test: object, seconds: float = 60.0) -> int:
    """The pid of this process's child for which ``test(pid)`` holds, once it does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not ready.is_set():
        for child in multiprocessing.active_children():
            pid = child.pid
            if pid is not None:
                try:
                    if test(pid):  # type: ignore[operator]
                        return pid
                except (FileNotFoundError, ProcessLookupError):
                    continue  # ended meanwhile
        time.sleep(0.01)
    raise AssertionError("no import child process was seen")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_an_upload_is_imported_in_a_child_at_lower_priority_and_a_killed_one_stores_nothing(
    world: World, tmp_path: Path
) -> None:
    settings = world.settings(
        policies_dir=write_policies(tmp_path / "policies"), upload_import_nice=7, import_cpus=1
    )
    client = TestClient(create_app(settings))
    client.headers["Authorization"] = f"Bearer {world.users['agency_admin'].token}"
    data = badge_file(ROWS)
    batches_before = len(EventStore(settings.events_dir).manifests())
    answers: list[Response] = []
    done = threading.Event()

    def send() -> None:
        try:
            files = [("files", ("badges.csv", data, "text/csv"))]
            answers.append(client.post("/api/v1/imports/badges", files=files))
        finally:
            done.set()

    sender = threading.Thread(target=send)
    sender.start()
    mine = niceness(os.getpid())

    def importing(pid: int) -> bool:
        # Its priority and cores are set as its import begins, before any thread starts.
        return niceness(pid) == mine + 7 and len(os.sched_getaffinity(pid)) == 1

    pid = child_when(done, importing)
    assert niceness(os.getpid()) == mine  # the server's own priority is untouched
    os.kill(pid, signal.SIGKILL)
    sender.join(120)
    [answer] = answers
    assert answer.status_code == 503, answer.text
    problem = answer.json()
    assert problem["type"] == "urn:dutystation:problem:import-interrupted"
    assert "nothing was stored" in problem["detail"]
    assert len(EventStore(settings.events_dir).manifests()) == batches_before
    assert not list((world.data_dir / "tmp").glob("upload-*"))  # uploads do not outlive it

    # The same upload, not interrupted: stored whole, its summary as from the worker.
    stored = client.post(
        "/api/v1/imports/badges", files=[("files", ("badges.csv", data, "text/csv"))]
    )
    assert stored.status_code == 200, stored.text
    summary = stored.json()
    assert (summary["rows_read"], summary["stored"], summary["files"]) == (
        ROWS,
        True,
        ["badges.csv"],
    )
    assert summary["rows_stored"] + summary["duplicates"] == ROWS
    assert len(EventStore(settings.events_dir).manifests()) == batches_before + 1


def test_every_error_crosses_a_process_boundary_whole() -> None:
    where = errors.Location(Path("/srv/up/badges.csv"), line=7, column="timestamp")
    rejection = RejectionClass(
        reason="unknown_employee",
        message="the employee is not known",
        count=3,
        first_file=Path("/srv/up/badges.csv"),
        first_line=7,
        column="employee_id",
    )
    samples: list[errors.DutystationError] = [
        errors.InputFileError(where, "not a date"),
        errors.ImportRejected("3 rows were rejected", [rejection]),
        errors.StoreBusy("busy", retry_after_seconds=10),
        errors.DocumentRejected("not a PDF", position=4, code="not-pdf"),
        errors.ImportInterrupted("ended"),
        errors.ConfigError("bad setting"),
    ]
    for error in samples:
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error)
        assert (str(back), back.args, vars(back)) == (str(error), error.args, vars(error))
    kinds = {
        k
        for k in vars(errors).values()
        if isinstance(k, type) and issubclass(k, errors.DutystationError)
    }
    custom = {k for k in kinds if "__init__" in vars(k)} - {errors.DutystationError}
    assert custom <= {type(e) for e in samples}, f"add a sample of {custom}"
