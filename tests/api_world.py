"""The seeded world of the web tests (tests/api, tests/web): a small organisation loaded
through the real importers, users of every role made through the real account services,
each with a password and an API token; and fixtures that serve it.

    DEPT > COMP-A > TEAM-A1, TEAM-A2
         > COMP-B > TEAM-B1
    Offices: HQ (DEPT, COMP-A), FIELD-B (COMP-B)

    DIR (COMP-A) ── MGR1 (TEAM-A1) ── W1, W2 (TEAM-A1)
                 └─ MGR2 (TEAM-A2) ── W3 (TEAM-A2)
    BMGR (COMP-B) ── B1 (TEAM-B1)

Users (``World.users``, keyed by role; ``OTHER_*`` keys are in the other component):

    agency_admin  admin      whole organisation
    employee      w1         W1, employee
    supervisor    mgr1       MGR1, employee + supervisor (of W1, W2)
    leader        dir        DIR, employee + leader over COMP-A
    certifying_official, tmo, hr, ra_coordinator   over COMP-A, no employee record
    auditor       auditor    whole organisation
    other_employee   b1      B1 (COMP-B)
    other_supervisor bmgr    BMGR (COMP-B), supervisor of B1

The world is built once per session into a template folder and copied for each test that
asks for it (a copy of a small SQLite file takes milliseconds), so tests may change it
freely. Import these fixtures into a conftest: ``from api_world import *  # noqa``.
"""

from __future__ import annotations

import contextlib
import csv
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import ASGIApp

from dutystation.api.app import create_app
from dutystation.bootstrap import bootstrap
from dutystation.domain.access import Grant, Role
from dutystation.ingest.fields import ImportKind
from dutystation.services import accounts, tokens
from dutystation.services.importing import run_import
from dutystation.settings import Settings

__all__ = [
    "ROLES",
    "LiveServer",
    "World",
    "WorldUser",
    "client_for",
    "live_server",
    "make_client",
    "serving",
    "world",
    "world_settings",
    "world_template",
]

ORG_UNITS = [
    ("DEPT", "Department", "", "department"),
    ("COMP-A", "Component A", "DEPT", "component"),
    ("COMP-B", "Component B", "DEPT", "component"),
    ("TEAM-A1", "Team A1", "COMP-A", "division"),
    ("TEAM-A2", "Team A2", "COMP-A", "division"),
    ("TEAM-B1", "Team B1", "COMP-B", "division"),
]
OFFICES = [
    ("HQ", "Headquarters", "20001", "38.9", "-77.03", "America/New_York", "40", "DEPT;COMP-A"),
    ("FIELD-B", "Field office B", "80202", "39.74", "-104.99", "America/Denver", "10", "COMP-B"),
]
EFFECTIVE = "2025-01-06"
ROSTER_COLUMNS = [
    "employee_id",
    "name",
    "org_unit",
    "duty_station",
    "arrangement",
    "supervisor_id",
    "effective_date",
    "email",
]
# employee id, name, org unit, duty station, arrangement, supervisor
PEOPLE = [
    ("DIR", "Dana Director", "COMP-A", "HQ", "onsite", ""),
    ("MGR1", "Morgan Manager", "TEAM-A1", "HQ", "telework", "DIR"),
    ("W1", "Wes Worker", "TEAM-A1", "HQ", "telework", "MGR1"),
    ("W2", "Wren Worker", "TEAM-A1", "HQ", "telework", "MGR1"),
    ("MGR2", "Max Manager", "TEAM-A2", "HQ", "telework", "DIR"),
    ("W3", "Wynn Worker", "TEAM-A2", "HQ", "remote", "MGR2"),
    ("BMGR", "Blair Boss", "COMP-B", "FIELD-B", "onsite", ""),
    ("B1", "Bo Bee", "TEAM-B1", "FIELD-B", "telework", "BMGR"),
]
EMPLOYEE = Grant(Role.EMPLOYEE)
# key: username, employee id, grants
USERS: dict[str, tuple[str, str | None, tuple[Grant, ...]]] = {
    "agency_admin": ("admin", None, (Grant(Role.AGENCY_ADMIN),)),
    "employee": ("w1", "W1", (EMPLOYEE,)),
    "supervisor": ("mgr1", "MGR1", (EMPLOYEE, Grant(Role.SUPERVISOR))),
    "leader": ("dir", "DIR", (EMPLOYEE, Grant(Role.LEADER, "COMP-A"))),
    "certifying_official": ("certifier", None, (Grant(Role.CERTIFYING_OFFICIAL, "COMP-A"),)),
    "tmo": ("tmo", None, (Grant(Role.TMO, "COMP-A"),)),
    "hr": ("hr", None, (Grant(Role.HR, "COMP-A"),)),
    "ra_coordinator": ("ra", None, (Grant(Role.RA_COORDINATOR, "COMP-A"),)),
    "auditor": ("auditor", None, (Grant(Role.AUDITOR),)),
    "other_employee": ("b1", "B1", (EMPLOYEE,)),
    "other_supervisor": ("bmgr", "BMGR", (EMPLOYEE, Grant(Role.SUPERVISOR))),
}
# Every role, by the key of the user who holds it (the schemathesis and header crawls).
ROLES = [role.value for role in Role]
TOKEN_DAYS = 30


def password_of(username: str) -> str:
    return f"{username}-correct-horse-battery"


@dataclass(frozen=True)
class WorldUser:
    key: str
    username: str
    password: str
    token: str  # an API token's secret (bearer)
    employee_id: str | None
    grants: tuple[Grant, ...]


@dataclass
class World:
    data_dir: Path
    users: dict[str, WorldUser] = field(default_factory=dict)

    def settings(self, **overrides: Any) -> Settings:
        return world_settings(self.data_dir, **overrides)


def world_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Real Argon2id at a small cost (the production cost takes a third of a second per
    hash on CI), and a login rate that tests do not trip by accident."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "password_hash_memory_kib": 1024,
        "password_hash_time_cost": 1,
        "login_rate_per_minute": 1000,
        "login_rate_per_address_per_minute": 1000,
        **overrides,
    }
    return Settings(**values)


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def build_world(data_dir: Path, sources: Path) -> World:
    """Import the organisation, then make every user with a password and a token."""
    runtime = bootstrap(world_settings(data_dir))
    org = _write_csv(sources / "org.csv", ["org_unit", "name", "parent", "kind"], ORG_UNITS)
    offices = _write_csv(
        sources / "offices.csv",
        ["site_id", "name", "zip", "latitude", "longitude", "timezone", "seats", "org_unit"],
        OFFICES,
    )
    roster = _write_csv(
        sources / "roster.csv",
        ROSTER_COLUMNS,
        [(*p, EFFECTIVE, f"{p[0].lower()}@example.gov") for p in PEOPLE],
    )
    run_import(runtime, ImportKind.ORG_UNITS, [org])
    run_import(runtime, ImportKind.OFFICES, [offices])
    run_import(runtime, ImportKind.ROSTER, [roster])

    engine, settings = runtime.engine, runtime.settings
    admin_name = USERS["agency_admin"][0]
    accounts.bootstrap_admin(engine, admin_name, display_name="Ada Admin")
    with engine.connect() as conn:
        admin = accounts.load_actor(conn, admin_name)
    world = World(data_dir=data_dir)
    for key, (username, employee_id, grants) in USERS.items():
        if username != admin_name:
            accounts.create_user(
                engine,
                admin,
                username,
                display_name=username.title(),
                email=f"{username}@example.gov",
                employee_id=employee_id,
                grants=grants,
            )
        password = password_of(username)
        accounts.set_password(engine, admin, username, password, settings=settings)
        token = tokens.create_token(
            engine, admin, username, "tests", days=TOKEN_DAYS, settings=settings
        )
        world.users[key] = WorldUser(key, username, password, token.secret, employee_id, grants)
    engine.dispose()
    return world


@pytest.fixture(scope="session")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The world, built once per test session. Do not change it: use ``world``."""
    root = tmp_path_factory.mktemp("api-world")
    (root / "sources").mkdir()
    return build_world(root / "data", root / "sources")


@pytest.fixture
def world(world_template: World, tmp_path: Path) -> World:
    """A private copy of the world for one test."""
    data_dir = tmp_path / "data"
    shutil.copytree(world_template.data_dir, data_dir)
    return World(data_dir=data_dir, users=dict(world_template.users))


def make_client(app: FastAPI, token: str | None = None) -> TestClient:
    """A client of ``app`` over https://testserver (so Secure cookies are kept), with a
    bearer token if given. Server errors are answered, not raised: tests see the 500."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return TestClient(
        app, base_url="https://testserver", headers=headers, raise_server_exceptions=False
    )


@pytest.fixture
def app(world: World) -> FastAPI:
    return create_app(world.settings())


@pytest.fixture
def client_for(app: FastAPI, world: World) -> Iterator[Callable[[str], TestClient]]:
    """``client_for("supervisor")``: a client authenticated by that user's API token (keys
    of ``USERS``); ``client_for("anonymous")`` has none."""
    made: list[TestClient] = []

    def client(key: str) -> TestClient:
        token = None if key == "anonymous" else world.users[key].token
        made.append(make_client(app, token))
        return made[-1]

    yield client
    for each in made:
        each.close()


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    world: World
    app: FastAPI


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """uvicorn serving ``app`` on 127.0.0.1 and a free port in a thread; yields the base
    URL and stops the server afterwards."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(world: World) -> Iterator[LiveServer]:
    """A copy of the world served over plain http on 127.0.0.1, so the session cookie is
    not marked Secure (``cookie_secure=False``)."""
    app = create_app(world.settings(cookie_secure=False))
    with serving(app) as base_url:
        yield LiveServer(base_url, world, app)
