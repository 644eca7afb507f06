"""RELIABILITY T11 ``fail_closed_errors``: real faults under the running app, then every
route of the app (API and dashboard, as ``app.routes`` lists them) as every role, with
an API token and with a signed-in browser session, and anonymously.

Faults (nothing of dutystation is replaced; the database, the disk and the stored policy
data are broken for real):

- the database is unavailable: a PostgreSQL database that stops taking connections under
  the app (its sessions terminated), a server that was never there (a closed port), and
  a SQLite file overwritten with garbage;
- the disk is full: the data folder on a 2 MiB tmpfs filled to the last byte (skipped
  where tmpfs cannot be mounted);
- the policy layer raising: every stored role grant names a role the code does not know,
  and, separately, the roster tables the scope checks read (``employee_assignment``,
  ``org_unit``) are gone;
- the writers' lock held by another process (a SQLite ``BEGIN IMMEDIATE`` held open):
  a write waits its bounded time and answers 503. (The DuckDB files the app opens are
  scratch files with a fresh name per run, so no lock on them can be held by another
  process: there is no shared DuckDB file to fault.)

Pass figure: 0 stack traces, SQL texts, server paths or driver names in any answer; 0
answers with content while the policy layer errors (only the public routes below answer
200: they read nothing stored); every answer carries ``X-Request-ID`` and every 5xx
repeats it as ``correlation_id`` in its problem+json body and in the server log.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from area_world import PDF, csv_bytes, write_policies
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fault_sweep import (
    Callers,
    Route,
    assert_logged,
    callers,
    fill,
    judge,
    sweep,
    tiny_disk,
)
from httpx2 import Response
from matrix_world import Server, matrix_world, server
from sqlalchemy import text

from api_world import ROLES, ROSTER_COLUMNS, World, build_world, make_client, password_of
from dutystation.api.app import create_app
from dutystation.store.db import WRITER_WAIT_SECONDS, make_engine, migrate
from pg_scratch import _maintenance_engine

__all__ = ["matrix_world", "server"]


# --- the database is unavailable ----------------------------------------------------------


@pytest.fixture
def pg_world(
    scratch_postgres: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[World, str]]:
    """The test world (tests/api_world.py) on a scratch PostgreSQL database."""
    engine = make_engine(scratch_postgres)
    migrate(engine)
    engine.dispose()
    monkeypatch.setenv("DUTYSTATION_DATABASE_URL", scratch_postgres)
    (tmp_path / "sources").mkdir()
    yield build_world(tmp_path / "data", tmp_path / "sources"), scratch_postgres


def _stop_taking_connections(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = _maintenance_engine(url)
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name},
        )
    admin.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_a_postgresql_database_that_goes_away_fails_closed(
    pg_world: tuple[World, str], caplog: pytest.LogCaptureFixture
) -> None:
    world, url = pg_world
    app = create_app(world.settings())
    who = callers(app, world)
    assert who.api["employee"].get("/api/v1/auth/me").status_code == 200
    _stop_taking_connections(url)
    with caplog.at_level("WARNING", logger="dutystation"):
        problems, errors = sweep(app, who, (url.rsplit("/", 1)[1],))
    who.close()
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])
    assert len(errors) > 100  # the store was really needed, and really gone
    assert_logged(errors, caplog)


def test_a_database_server_that_is_not_there_fails_closed(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    url = "postgresql+psycopg://dutystation:secret-pw@127.0.0.1:9/dutystation_test_gone"
    app = create_app(world.settings(database_url=url))
    who = callers(app, world, sign_in=False)
    with caplog.at_level("WARNING", logger="dutystation"):
        problems, errors = sweep(app, who, ("secret-pw",))
    who.close()
    assert not problems, "\n".join(problems[:40])
    assert errors
    assert_logged(errors, caplog)


def test_a_sqlite_file_overwritten_with_garbage_fails_closed(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(world.settings())
    who = callers(app, world)
    database = world.data_dir / "dutystation.sqlite3"
    size = database.stat().st_size
    with database.open("r+b") as handle:  # the file the open connections read, in place
        handle.write(b"\xa5" * size)
    for side in database.parent.glob("dutystation.sqlite3-*"):
        side.write_bytes(b"\xa5" * side.stat().st_size)
    with caplog.at_level("WARNING", logger="dutystation"):
        problems, errors = sweep(app, who, (str(world.data_dir),))
    who.close()
    assert not problems, "\n".join(problems[:40])
    assert errors
    assert_logged(errors, caplog)


# --- the disk is full ---------------------------------------------------------------------


def writes(app: FastAPI, who: Callers) -> list[tuple[str, TestClient, str, dict[str, Any]]]:
    """Valid changes, each of which must store something: (label, client, url, request)."""
    roster = csv_bytes(
        ROSTER_COLUMNS,
        [("Z9", "Zed Zero", "TEAM-A1", "HQ", "onsite", "MGR1", "2025-02-03", "z9@example.gov")],
    )
    employee, admin, page = who.api["employee"], who.api["agency_admin"], who.page["employee"]
    login = {"username": "w1", "password": password_of("w1")}
    return [
        ("api sign-in", who.anonymous, "POST /api/v1/auth/login", {"json": login}),
        ("page sign-in", make_client(app), "POST /login", {"data": login}),
        ("token", employee, "POST /api/v1/users/w1/tokens", {"json": {"name": "t", "days": 1}}),
        ("new user", admin, "POST /api/v1/users", {"json": {"username": "zz9", "roles": []}}),
        (
            "filing",
            employee,
            "POST /api/v1/exemptions",
            {
                "data": {
                    "employee_id": "W1",
                    "category": "compelling_reason",
                    "start": "2025-03-03",
                    "end": "2025-03-31",
                    "justification": "caring for a parent",
                },
                "files": [("documents", ("lease.pdf", PDF * 2000, "application/pdf"))],
            },
        ),
        (
            "page filing",
            page,
            "POST /me/requests",
            {
                "data": {
                    "csrf_token": who.csrf["employee"],
                    "category": "compelling_reason",
                    "start": "2025-05-05",
                    "end": "2025-05-30",
                    "justification": "caring for a parent",
                }
            },
        ),
        (
            "import",
            admin,
            "POST /api/v1/imports/roster",
            {"files": [("files", ("roster.csv", roster * 50, "text/csv"))]},
        ),
    ]


@pytest.mark.slow
def test_a_full_disk_fails_closed(
    world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with tiny_disk(tmp_path / "disk", 16) as disk:
        data_dir = disk / "data"
        shutil.copytree(world.data_dir, data_dir)
        policies = write_policies(tmp_path / "policies")
        settings = World(data_dir).settings(policies_dir=policies)
        app = create_app(settings)
        who = callers(app, world)
        filler = fill(disk)
        problems: list[str] = []
        errors: list[Response] = []
        with caplog.at_level("WARNING", logger="dutystation"):
            for label, client, route_name, request in writes(app, who):
                method, url = route_name.split(" ", 1)
                answer = client.request(method, url, follow_redirects=False, **request)
                where = f"{label} ({route_name}) on a full disk"
                problems += judge(answer, where, Route(method, url), (str(disk),), content=True)
                errors += [answer] if answer.status_code >= 500 else []
            found, failed = sweep(app, who, (str(disk),), content=True)
        problems += found
        errors += failed
        assert not problems, "\n".join(problems[:40])
        assert errors, "nothing failed: the disk was not full"
        assert_logged(errors, caplog)
        filler.unlink()  # space again: the same app serves as before
        assert who.api["employee"].get("/api/v1/auth/me").status_code == 200
        token = who.api["employee"].post("/api/v1/users/w1/tokens", json={"name": "t", "days": 1})
        assert token.status_code == 201, token.text
        who.close()
        app.state.runtime.engine.dispose()


# --- the policy layer raising -------------------------------------------------------------


def _break(database: Path, *statements: str) -> None:
    con = sqlite3.connect(database, isolation_level=None)
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


def test_grants_naming_a_role_the_code_does_not_know_authorise_nothing(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(world.settings())
    who = callers(app, world)
    _break(
        world.data_dir / "dutystation.sqlite3",
        "PRAGMA ignore_check_constraints = ON",  # as a faulty migration or hand edit would
        "UPDATE role_grant SET role = 'superuser'",
    )
    with caplog.at_level("WARNING", logger="dutystation"):
        problems, errors = sweep(app, who)
    who.close()
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])
    assert_logged(errors, caplog)


# Requests that a scoped role makes about someone else (or an org unit) and that the
# healthy matrix world answers with content: each needs the scope lookup to be decided.
SCOPED = [
    ("supervisor", "GET /api/v1/status/employees/W2"),
    ("supervisor", "GET /api/v1/team"),
    ("supervisor", "GET /api/v1/exemptions?employee=W2"),
    ("supervisor", "GET /people/W2"),
    ("leader", "GET /api/v1/overview?org=COMP-A"),
    ("leader", "GET /api/v1/overview/people?org=COMP-A"),
    ("leader", "GET /overview?org=COMP-A"),
    ("tmo", "GET /api/v1/status/employees/W3"),
    ("tmo", "GET /api/v1/exemptions"),
    ("tmo", "POST /api/v1/designation/plans"),
    ("hr", "GET /api/v1/grievances"),
    ("hr", "GET /api/v1/status/employees/W1"),
    ("ra_coordinator", "GET /api/v1/exemptions"),
    ("certifying_official", "GET /api/v1/status/employees/MGR2"),
    ("certifying_official", "GET /queue"),
]


def _scoped(server: Server, role: str, route_name: str) -> Response:
    method, url = route_name.split(" ", 1)
    client = server.client(role, "api" if url.startswith("/api/") else "page")
    body = {"on": "2025-03-03", "org_unit": "COMP-A"} if method == "POST" else None
    return client.request(method, url, json=body, follow_redirects=False)


def test_scope_lookups_that_raise_authorise_nothing(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    healthy = {case: _scoped(server, *case).status_code for case in SCOPED}
    assert all(200 <= s < 300 for s in healthy.values()), healthy  # the control
    server.reset()
    assert server.app is not None
    settings = server.app.state.runtime.settings
    _break(
        settings.data_dir / "dutystation.sqlite3",
        "ALTER TABLE employee_assignment RENAME TO employee_assignment_gone",
        "ALTER TABLE org_unit RENAME TO org_unit_gone",
    )
    problems: list[str] = []
    errors: list[Response] = []
    with caplog.at_level("WARNING", logger="dutystation"):
        for role, route_name in SCOPED:
            answer = _scoped(server, role, route_name)
            method, url = route_name.split(" ", 1)
            problems += judge(answer, f"{route_name} as {role}", Route(method, url))
            errors += [answer] if answer.status_code >= 500 else []
        who = Callers(
            api={role: server.client(role, "api") for role in ROLES},
            page={role: server.client(role, "page") for role in ROLES},
            csrf={role: server.csrf(role) for role in ROLES},
            anonymous=server.client("anonymous", "api"),
            usernames={role: server.world.users[role].username for role in ROLES},
        )
        found, failed = sweep(server.app, who, content=True)
    problems += found
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])
    assert_logged([*errors, *failed], caplog)


# --- the writers' lock held by another process --------------------------------------------

HOLD = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA journal_mode=WAL")
con.execute("BEGIN IMMEDIATE")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


@pytest.mark.slow
def test_a_write_behind_a_lock_held_elsewhere_answers_503_with_its_id(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(world.settings())
    employee = make_client(app, world.users["employee"].token)
    assert employee.get("/api/v1/auth/me").status_code == 200
    database = world.data_dir / "dutystation.sqlite3"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(database), str(WRITER_WAIT_SECONDS + 30)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert employee.get("/api/v1/auth/me").status_code == 200  # reads go on (WAL)
        started = time.monotonic()
        with caplog.at_level("WARNING", logger="dutystation"):
            answer = employee.post("/api/v1/users/w1/tokens", json={"name": "t", "days": 1})
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.communicate()
    assert answer.status_code == 503, answer.text
    assert waited >= WRITER_WAIT_SECONDS - 1
    assert int(answer.headers["retry-after"]) > 0
    assert answer.json()["detail"].startswith("the database is busy")
    assert not judge(answer, "busy write", Route("POST", "/api/v1/users/w1/tokens"))
    assert_logged([answer], caplog)
    done = employee.post("/api/v1/users/w1/tokens", json={"name": "t", "days": 1})
    assert done.status_code == 201, done.text  # the lock gone, the same write goes through
    employee.close()


def test_a_request_id_from_a_proxy_is_kept_and_a_bad_one_replaced(app: FastAPI) -> None:
    client = make_client(app)
    given = client.get("/api/v1/auth/me", headers={"X-Request-ID": "lb-7f3a.42"})
    assert given.headers["x-request-id"] == "lb-7f3a.42"
    forged = client.get("/api/v1/auth/me", headers=[(b"X-Request-ID", b"x evil\tid\xe9")])
    assert re.fullmatch(r"[0-9a-f-]{36}", forged.headers["x-request-id"])
    assert client.get("/static/css/dashboard.css").headers["x-request-id"]
