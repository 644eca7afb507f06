"""Issue 8 ("trust"), RELIABILITY T11/T28: a busy event store, a full disk and a damaged
database answered as what they are, not as a bug, under real conditions:

- another process holds the event store's writer lock (the store's own ``flock``): an
  event import answers 503 with ``Retry-After`` at once, and goes through once it is free;
- the disk is full (a tmpfs filled to the last byte, tests/api/fault_sweep.py) under the
  database, the event store or the upload folder: 507, one sentence with the correlation
  id, no path; nothing stored, and the same request succeeds once there is space;
- the database file is damaged (garbage over all of it: "file is not a database"; over
  its first page: "database disk image is malformed"): 503;
- dashboard pages answer these, and a failure of any other kind, with the HTML error page
  (the 404 page's layout) showing the correlation id; the JSON API keeps problem+json;
- the command line says the same in one sentence and exits with status 1 (here rather
  than in tests/e2e: the full disk is fault_sweep's).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from area_world import PDF, csv_bytes, upload, write_policies
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fault_sweep import LEAKS, Route, assert_logged, fill, judge, tiny_disk
from httpx2 import Response
from sqlalchemy import func, select

from api_world import ROSTER_COLUMNS, World, WorldUser, make_client, password_of
from dutystation.api.app import create_app
from dutystation.events.store import EventStore
from dutystation.services.import_access import IMPORT_RETRY_AFTER_SECONDS
from dutystation.store.faults import DAMAGED, DISK_FULL
from dutystation.store.schema import Employee
from dutystation.store.schema_exemptions import ExemptionRequest
from dutystation.web.auth import CSRF_COOKIE

PROBLEM = "application/problem+json"
HTML = {"Accept": "text/html,application/xhtml+xml"}
TIMECARDS = ["employee_id", "date", "code", "hours", "site_id"]
DATABASE = "dutystation.sqlite3"
# Room left on a full disk for what opening the database needs (its -shm index), not for
# the import's pages.
ROOM_BYTES = 256 * 1024


def timecards(days: int) -> bytes:
    rows = [("W1", f"2025-02-{d:02d}", "onsite", "8", "HQ") for d in range(3, 3 + days)]
    rows += [("B1", f"2025-02-{d:02d}", "onsite", "8", "FIELD-B") for d in range(3, 3 + days)]
    return csv_bytes(TIMECARDS, rows)


def new_people(count: int) -> bytes:
    rows = [
        (f"N{n:05d}", f"New Person {n}", "TEAM-A1", "HQ", "onsite", "MGR1", "2025-02-03", "")
        for n in range(count)
    ]
    return csv_bytes(ROSTER_COLUMNS, rows)


def fault_problem(answer: Response, status: int, code: str, where: Path) -> None:
    """One problem+json sentence with the correlation id; nothing of the server."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body = answer.json()
    request_id = answer.headers["x-request-id"]
    assert body["type"] == f"urn:dutystation:problem:{code}"
    assert body["correlation_id"] == request_id
    assert body["detail"].count(".") <= 1 and request_id in body["detail"], body["detail"]
    assert str(where) not in answer.text and "sqlite" not in answer.text.lower()
    assert not judge(answer, code, Route("POST", "/"))


def error_page(answer: Response, status: int, heading: str) -> None:
    """The dashboard's error page: the 404 page's layout, the id, no detail."""
    assert answer.status_code == status, answer.text[:300]
    assert answer.headers["content-type"].startswith("text/html")
    page = answer.text
    request_id = answer.headers["x-request-id"]
    assert f"<h1>{heading}</h1>" in page
    assert 'class="alert alert-error" role="alert"' in page and "Back to your first page" in page
    assert f'<code class="correlation-id">{request_id}</code>' in page
    assert not LEAKS.search(page), LEAKS.search(page)


def people(app: FastAPI) -> int:
    with app.state.runtime.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Employee)) or 0)


def signed_in(app: FastAPI, user: WorldUser) -> TestClient:
    """A browser signed in on the dashboard's own form (its session and form token)."""
    browser = make_client(app)
    done = browser.post(
        "/login",
        data={"username": user.username, "password": password_of(user.username)},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    return browser


def leave_room(filler: Path) -> None:
    os.truncate(filler, max(0, filler.stat().st_size - ROOM_BYTES))


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    return write_policies(tmp_path / "policies")


# --- another import holds the event store -------------------------------------------------

HOLD_STORE = """
import sys, time
from pathlib import Path
from dutystation.events.store import EventStore
with EventStore(Path(sys.argv[1])).lock(wait_seconds=0):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def held_store(world: World) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the event store's writer lock, as a running import does."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_STORE, str(world.settings().events_dir), "120"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_an_event_import_while_another_holds_the_store_answers_503_with_retry_after(
    world: World,
    policies: Path,
    held_store: subprocess.Popen[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(world.settings(policies_dir=policies))
    admin = make_client(app, world.users["agency_admin"].token)
    data = timecards(3)
    started = time.monotonic()
    with caplog.at_level("WARNING", logger="dutystation"):
        busy = upload(admin, "timecards", ("ta.csv", data))
    assert time.monotonic() - started < 10  # at once, not after the lock's wait
    assert busy.status_code == 503, busy.text
    assert busy.headers["retry-after"] == str(IMPORT_RETRY_AFTER_SECONDS)
    problem = busy.json()
    assert problem["type"] == "urn:dutystation:problem:store-unavailable"
    assert problem["detail"].startswith("another import into the event store is still running")
    assert problem["correlation_id"] == busy.headers["x-request-id"]
    assert not judge(busy, "busy store", Route("POST", "/api/v1/imports/timecards"))
    assert_logged([busy], caplog)
    events = EventStore(world.settings().events_dir)
    assert events.manifests() == []  # nothing stored
    held_store.kill()  # the other import ends
    held_store.wait()
    done = upload(admin, "timecards", ("ta.csv", data))
    assert done.status_code == 200, done.text
    assert done.json()["rows_stored"] == 6
    admin.close()


# --- the disk is full ---------------------------------------------------------------------


def test_a_full_disk_under_the_database_answers_507_and_stores_nothing(
    world: World, policies: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with tiny_disk(tmp_path / "db-disk", 4) as disk:
        for part in world.data_dir.glob(f"{DATABASE}*"):
            shutil.copy(part, disk / part.name)
        url = f"sqlite:///{disk / DATABASE}"
        app = create_app(world.settings(policies_dir=policies, database_url=url))
        admin = make_client(app, world.users["agency_admin"].token)
        assert admin.get("/api/v1/auth/me").status_code == 200  # the database is open
        before = people(app)
        filler = fill(disk)
        leave_room(filler)
        roster = new_people(3000)
        with caplog.at_level("WARNING", logger="dutystation"):
            full = upload(admin, "roster", ("roster.csv", roster))
        fault_problem(full, 507, "insufficient-storage", disk)
        assert full.json()["title"] == "Insufficient storage"
        assert_logged([full], caplog)
        filler.unlink()
        assert people(app) == before  # rolled back whole
        again = upload(admin, "roster", ("roster.csv", roster))
        assert again.status_code == 200, again.text
        assert people(app) == before + 3000
        admin.close()
        app.state.runtime.engine.dispose()


@pytest.mark.parametrize("folder", ["events", "tmp"])
def test_a_full_disk_under_the_event_store_or_the_uploads_answers_507(
    world: World, policies: Path, folder: str, caplog: pytest.LogCaptureFixture
) -> None:
    """``events``: the Parquet files cannot be written; ``tmp``: not even the upload."""
    settings = world.settings(policies_dir=policies)
    shutil.rmtree(world.data_dir / folder, ignore_errors=True)
    with tiny_disk(world.data_dir / folder, 2) as disk:
        app = create_app(settings)
        admin = make_client(app, world.users["agency_admin"].token)
        assert admin.get("/api/v1/auth/me").status_code == 200
        filler = fill(disk)
        data = timecards(5)
        with caplog.at_level("WARNING", logger="dutystation"):
            full = upload(admin, "timecards", ("ta.csv", data))
        fault_problem(full, 507, "insufficient-storage", world.data_dir)
        assert_logged([full], caplog)
        filler.unlink()
        events = EventStore(settings.events_dir)
        assert events.manifests() == []
        staged = events.staging_root
        assert not staged.exists() or not any(staged.iterdir())  # nothing half-written
        assert not list(settings.tmp_dir.glob("upload-*"))
        again = upload(admin, "timecards", ("ta.csv", data))
        assert again.status_code == 200, again.text
        assert again.json()["rows_stored"] == 10
        admin.close()
        app.state.runtime.engine.dispose()


def test_a_full_disk_answers_a_dashboard_form_with_the_507_page(
    world: World, policies: Path, tmp_path: Path
) -> None:
    with tiny_disk(tmp_path / "disk", 16) as disk:
        data_dir = disk / "data"
        shutil.copytree(world.data_dir, data_dir)
        app = create_app(World(data_dir).settings(policies_dir=policies))
        browser = signed_in(app, world.users["employee"])
        api = make_client(app, world.users["employee"].token)
        filler = fill(disk)
        form = {
            "csrf_token": browser.cookies[CSRF_COOKIE],
            "category": "compelling_reason",
            "start": "2025-05-05",
            "end": "2025-05-30",
            "justification": "caring for a parent",
        }
        document = [("documents", ("lease.pdf", PDF * 2000, "application/pdf"))]
        page = browser.post("/me/requests", data=form, files=document, headers=HTML)
        error_page(page, 507, "Storage full")
        assert "storage is full, so nothing was stored" in page.text
        filed = api.post("/api/v1/exemptions", data={**form, "employee_id": "W1"}, files=document)
        fault_problem(filed, 507, "insufficient-storage", disk)
        filler.unlink()
        with app.state.runtime.engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(ExemptionRequest)) == 0
        for client in (browser, api):
            client.close()
        app.state.runtime.engine.dispose()


# --- the database is damaged --------------------------------------------------------------


def damage(database: Path, how: str) -> None:
    """``not-a-database``: garbage over the whole file; ``malformed``: over the first page
    after its 100-byte header (the schema), as a torn write or a bad sector leaves it."""
    with database.open("r+b") as handle:
        if how == "malformed":
            handle.seek(100)
            handle.write(b"\xa5" * 3996)
        else:
            handle.write(b"\xa5" * database.stat().st_size)
    for side in database.parent.glob(f"{database.name}-*"):
        side.unlink()


@pytest.mark.parametrize("how", ["not-a-database", "malformed"])
def test_a_damaged_database_answers_503_to_the_api_and_on_pages(
    world: World, policies: Path, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = world.settings(policies_dir=policies)
    healthy = create_app(settings)
    browser = signed_in(healthy, world.users["leader"])  # a session from before
    healthy.state.runtime.engine.dispose()
    damage(world.data_dir / DATABASE, how)
    app = create_app(settings)
    api = make_client(app, world.users["leader"].token)
    page = make_client(app)
    page.cookies.update(browser.cookies)
    with caplog.at_level("WARNING", logger="dutystation"):
        read = api.get("/api/v1/status/me")
        write = api.post("/api/v1/users/dir/tokens", json={"name": "t", "days": 1})
        shown = page.get("/overview", headers=HTML)
    for answer in (read, write):
        fault_problem(answer, 503, "store-damaged", world.data_dir)
        assert "damaged" in answer.json()["detail"]
        assert "retry-after" not in answer.headers  # waiting does not mend it
    error_page(shown, 503, "Not available")
    assert_logged([read, write, shown], caplog)
    for client in (browser, api, page):
        client.close()


# --- a dashboard page that fails, and the JSON API beside it ------------------------------


def test_a_failing_page_is_an_html_page_and_the_api_stays_problem_json(
    world: World, policies: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(world.settings(policies_dir=policies))
    browser = signed_in(app, world.users["leader"])
    api = make_client(app, world.users["leader"].token)
    con = sqlite3.connect(world.data_dir / DATABASE, isolation_level=None)
    try:  # the tables the scope checks read are gone (a failed migration or hand edit)
        con.execute("ALTER TABLE org_unit RENAME TO org_unit_gone")
    finally:
        con.close()
    with caplog.at_level("WARNING", logger="dutystation"):
        shown = browser.get("/overview?org=COMP-A", headers=HTML)
        as_json = api.get("/api/v1/overview", params={"org": "COMP-A"}, headers=HTML)
    error_page(shown, 500, "Something went wrong")
    assert "an error on the server stopped this page" in shown.text.lower()
    # The API answers problem+json, whatever the client prefers.
    assert as_json.status_code == 500
    assert as_json.headers["content-type"] == PROBLEM
    assert as_json.json()["correlation_id"] == as_json.headers["x-request-id"]
    assert_logged([shown, as_json], caplog)
    # A missing page is still the 404 page, and a missing API address problem+json.
    missing = browser.get("/no-such-page", headers=HTML)
    assert missing.status_code == 404 and "<h1>Not found</h1>" in missing.text
    assert "correlation-id" not in missing.text
    no_route = api.get("/api/v1/no-such-thing", headers=HTML)
    assert no_route.status_code == 404 and no_route.headers["content-type"] == PROBLEM
    for client in (browser, api):
        client.close()


# --- the command line ---------------------------------------------------------------------


def cli(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dutystation", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "DUTYSTATION_DATA_DIR": str(data_dir), **env},
        timeout=300,
        check=False,
    )


def one_sentence(done: subprocess.CompletedProcess[str], sentence: str) -> None:
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert lines == [f"error: {sentence}"], done.stderr


def test_the_command_line_says_a_full_disk_in_one_sentence(world: World, tmp_path: Path) -> None:

    ta = tmp_path / "ta.csv"
    ta.write_bytes(timecards(5))
    roster = tmp_path / "roster.csv"
    roster.write_bytes(new_people(3000))
    events = world.data_dir / "events"
    shutil.rmtree(events, ignore_errors=True)
    with tiny_disk(events, 2) as disk:
        filler = fill(disk)
        one_sentence(cli(world.data_dir, "import", "timecards", str(ta)), DISK_FULL)
        filler.unlink()
        assert EventStore(events).manifests() == []
    with tiny_disk(tmp_path / "db-disk", 4) as disk:
        shutil.copy(world.data_dir / DATABASE, disk / DATABASE)
        leave_room(fill(disk))
        url = f"sqlite:///{disk / DATABASE}"
        done = cli(world.data_dir, "import", "roster", str(roster), DUTYSTATION_DATABASE_URL=url)
        one_sentence(done, DISK_FULL)


def test_the_command_line_says_a_damaged_database_in_one_sentence(world: World) -> None:

    damage(world.data_dir / DATABASE, "malformed")
    one_sentence(cli(world.data_dir, "users", "list", "--as", "admin"), DAMAGED)
