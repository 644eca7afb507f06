"""The world of the route-level authorisation tests (RELIABILITY T01 ``authz_matrix``, T02
``bola_id_substitution``): the shared test world (tests/api_world.py) grown so that every
route has an object of every relation to every role's user.

    DEPT  > COMP-A > TEAM-A1, TEAM-A2        (the world's org tree)
          > COMP-B > TEAM-B1
    DEPT2 > TEAM-X1                          (another department: a second root)

    People added: B2 (TEAM-B1, reports to BMGR); XMGR (DEPT2), X1 and X2 (TEAM-X1, report
    to XMGR). Accounts added: w2 (W2), x1 (X1), and ``hr-all``, an HR account over the
    whole organisation that makes the setup's grievances and notices.

Objects, named by owner: for each of W1, MGR1, DIR (the employee, supervisor and leader
users themselves), W2 (own subtree of the supervisor and of every COMP-A grant), B1 (other
subtree) and X1 (other department):

- ``submitted``: a pending compelling-reason request with a PDF document, filed by the
  person; ``medical``: a pending medical-condition request with a PDF; ``approved``: an
  approved compelling-reason exemption (imported as a decided record); W3 also has a
  pending imported one (a neighbour: COMP-A but not the supervisor's report);
- a spare API token of every account;
- grievances, designation plans filed in COMP-A, COMP-B and DEPT2; notices sent to
  TEAM-A2, then COMP-A, COMP-B and DEPT2 (each person gets the first that reaches them).

The directive binds both departments and asks all four certifiers, so each certifying
role has a certification of its own to give. Built once per test session; ``Server``
serves a fresh copy whenever a test changed it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from area_world import AGREEMENT, PDF, TEST_ORDER, csv_bytes
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api_world import (
    OFFICES,
    ORG_UNITS,
    PEOPLE,
    World,
    WorldUser,
    make_client,
    password_of,
    world_settings,
)
from dutystation.api.app import create_app
from dutystation.api.deps import SESSION_COOKIE
from dutystation.bootstrap import bootstrap
from dutystation.domain.access import Grant, Role
from dutystation.ingest.fields import ImportKind
from dutystation.services import accounts, tokens
from dutystation.services.exemption_import import import_decisions
from dutystation.services.importing import run_import
from dutystation.services.snapshot import refresh_snapshot
from dutystation.store.db import make_engine
from dutystation.web.auth import CSRF_COOKIE

MATRIX_ORDER = TEST_ORDER.replace('org_units = ["DEPT"]', 'org_units = ["DEPT", "DEPT2"]').replace(
    'certification_required_by = ["agency_head", "supervisor"]',
    'certification_required_by = ["agency_head", "supervisor", "component_head", '
    '"telework_managing_officer"]',
)
DIRECTIVE = "TEST-RTO@1"
EXTRA_UNITS = [
    ("DEPT2", "Other department", "", "department"),
    ("TEAM-X1", "Team X1", "DEPT2", "division"),
]
EXTRA_OFFICES = [
    ("FIELD-X", "Field office X", "98101", "47.61", "-122.33", "America/Los_Angeles", "10", "DEPT2")
]
EXTRA_PEOPLE = [
    ("B2", "Bea Bloggs", "TEAM-B1", "FIELD-B", "telework", "BMGR"),
    ("XMGR", "Xan Xander", "DEPT2", "FIELD-X", "onsite", ""),
    ("X1", "Xia Xenakis", "TEAM-X1", "FIELD-X", "telework", "XMGR"),
    ("X2", "Xeno Xylander", "TEAM-X1", "FIELD-X", "telework", "XMGR"),
]
ALL_PEOPLE = [*PEOPLE, *EXTRA_PEOPLE]
NAMES = {p[0]: p[1] for p in ALL_PEOPLE}
UNIT_OF = {p[0]: p[2] for p in ALL_PEOPLE}
ROSTER_EFFECTIVE = "2025-01-13"
BARGAINING = {"W1", "W2", "B1", "X1"}  # members of EEU-L1, the agreement's unit
FIRST_WEEK = date(2025, 2, 3)
# The people who own objects of every kind, and the accounts that file for them.
OWNERS = {"W1": "w1", "MGR1": "mgr1", "DIR": "dir", "W2": "w2", "B1": "b1", "X1": "x1"}
NEW_ACCOUNTS = {"w2": "W2", "x1": "X1"}
SETUP_HR = "hr-all"
UNITS_OF_RELATION = {
    "own_subtree": "COMP-A",
    "other_subtree": "COMP-B",
    "other_department": "DEPT2",
}


@dataclass
class MatrixWorld:
    """The template folder and the ids of its objects (see the module docstring)."""

    data_dir: Path
    policies: Path
    users: dict[str, WorldUser]
    submitted: dict[str, int] = field(default_factory=dict)  # by owner's employee id
    medical: dict[str, int] = field(default_factory=dict)
    approved: dict[str, int] = field(default_factory=dict)
    neighbour_request: int = 0  # W3's pending imported request
    spare_tokens: dict[str, int] = field(default_factory=dict)  # by username
    all_tokens: dict[int, str] = field(default_factory=dict)  # every token's owner, by id
    grievances: dict[str, int] = field(default_factory=dict)  # by org unit
    plans: dict[str, int] = field(default_factory=dict)
    notices: dict[str, int] = field(default_factory=dict)
    sessions: dict[str, dict[str, str]] = field(default_factory=dict)  # by role key
    bearer: dict[str, str] = field(default_factory=dict)  # API token secret by role key

    def settings_for(self, data_dir: Path) -> Any:
        return world_settings(data_dir, policies_dir=self.policies)


def _roster(path: Path) -> Path:
    header = [
        "employee_id",
        "name",
        "org_unit",
        "duty_station",
        "arrangement",
        "supervisor_id",
        "effective_date",
        "email",
        "bargaining_unit",
    ]
    rows = [
        (
            *p,
            ROSTER_EFFECTIVE,
            f"{p[0].lower()}@example.gov",
            "EEU-L1" if p[0] in BARGAINING else "",
        )
        for p in ALL_PEOPLE
    ]
    path.write_bytes(csv_bytes(header, rows))
    return path


def _timecards(path: Path) -> Path:
    rows = []
    for offset in range(28):
        day = FIRST_WEEK + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for employee_id, _, _, site, arrangement, _ in ALL_PEOPLE:
            home = arrangement == "remote" or (
                arrangement == "telework" and day.weekday() in {0, 4}
            )
            code, where = ("telework_routine", "") if home else ("onsite", site)
            rows.append((employee_id, day.isoformat(), code, "8", where))
    path.write_bytes(csv_bytes(["employee_id", "date", "code", "hours", "site_id"], rows))
    return path


def _decisions(path: Path) -> Path:
    header = ["employee_id", "category", "requested_on", "status", "decided_on", "start", "end"]
    approved = [
        (
            owner,
            "compelling_reason",
            "2025-02-20",
            "approved",
            "2025-02-27",
            "2025-03-03",
            "2025-04-30",
        )
        for owner in [*OWNERS, "W3"]
    ]
    pending = [("W3", "compelling_reason", "2025-02-21", "pending", "", "2025-08-01", "2025-08-29")]
    path.write_bytes(csv_bytes(header, approved + pending))
    return path


def _ok(answer: Any, *statuses: int) -> Any:
    assert answer.status_code in (statuses or (200, 201)), answer.text
    return answer.json() if answer.content else None


def _file(client: TestClient, employee_id: str, category: str, start: str, end: str) -> int:
    filed = client.post(
        "/api/v1/exemptions",
        data={
            "employee_id": employee_id,
            "category": category,
            "start": start,
            "end": end,
            "justification": "needed for the matrix",
        },
        files=[("documents", ("letter.pdf", PDF, "application/pdf"))],
    )
    number: int = _ok(filed)["id"]
    return number


def build_matrix_world(base: World, root: Path) -> MatrixWorld:
    data_dir = root / "data"
    shutil.copytree(base.data_dir, data_dir)
    policies = root / "policies"
    policies.mkdir()
    (policies / "test-order.toml").write_text(MATRIX_ORDER, encoding="utf-8")
    world = MatrixWorld(data_dir, policies, dict(base.users))
    settings = world.settings_for(data_dir)
    runtime = bootstrap(settings)
    sources = root / "sources"
    sources.mkdir()
    org_header = ["org_unit", "name", "parent", "kind"]
    (sources / "org.csv").write_bytes(csv_bytes(org_header, [*ORG_UNITS, *EXTRA_UNITS]))
    run_import(runtime, ImportKind.ORG_UNITS, [sources / "org.csv"])
    offices_header = [
        "site_id",
        "name",
        "zip",
        "latitude",
        "longitude",
        "timezone",
        "seats",
        "org_unit",
    ]
    (sources / "offices.csv").write_bytes(csv_bytes(offices_header, [*OFFICES, *EXTRA_OFFICES]))
    run_import(runtime, ImportKind.OFFICES, [sources / "offices.csv"])
    run_import(runtime, ImportKind.ROSTER, [_roster(sources / "roster.csv")])
    run_import(runtime, ImportKind.TIMECARDS, [_timecards(sources / "ta.csv")])
    refresh_snapshot(runtime)

    engine = runtime.engine
    with engine.connect() as conn:
        admin = accounts.load_actor(conn, base.users["agency_admin"].username)
    for username, employee_id in NEW_ACCOUNTS.items():
        accounts.create_user(
            engine, admin, username, employee_id=employee_id, grants=[Grant(Role.EMPLOYEE)]
        )
    accounts.create_user(engine, admin, SETUP_HR, grants=[Grant(Role.HR)])
    import_decisions(runtime, admin, _decisions(sources / "decisions.csv"))
    secrets = {u.username: u.token for u in base.users.values()}
    for username in [*(u.username for u in base.users.values()), *NEW_ACCOUNTS, SETUP_HR]:
        made = tokens.create_token(engine, admin, username, "spare", days=30, settings=settings)
        world.spare_tokens[username] = made.id
        secrets.setdefault(username, made.secret)
        for token in tokens.list_tokens(engine, admin, username):
            world.all_tokens[token.id] = username
    engine.dispose()

    app = create_app(settings)
    for owner, username in OWNERS.items():
        client = make_client(app, secrets[username])
        world.submitted[owner] = _file(
            client, owner, "compelling_reason", "2025-08-01", "2025-08-29"
        )
        world.medical[owner] = _file(client, owner, "medical_condition", "2025-10-01", "2025-10-31")
    admin_client = make_client(app, secrets[base.users["agency_admin"].username])
    hr_all = make_client(app, secrets[SETUP_HR])
    auditor = make_client(app, secrets[base.users["auditor"].username])
    for summary in _ok(
        auditor.get("/api/v1/exemptions", params={"status": "approved", "limit": 500}), 200
    )["items"]:
        world.approved[summary["employee_id"]] = summary["id"]
    pending = auditor.get("/api/v1/exemptions", params={"employee": "W3", "status": "submitted"})
    [w3] = _ok(pending, 200)["items"]
    world.neighbour_request = w3["id"]
    _ok(hr_all.post("/api/v1/agreements", json=AGREEMENT), 201)
    clause = {"min_onsite_days_per_pay_period": 4, "summary": "4 days on site"}
    _ok(hr_all.put(f"/api/v1/agreements/{AGREEMENT['code']}/clauses/Art. 31", json=clause), 200)
    for unit in ("COMP-A", "COMP-B", "DEPT2"):
        filing = {
            "agreement": AGREEMENT["code"],
            "component": unit,
            "filed_on": "2025-02-10",
            "subject": "Art. 31 ignored",
            "employees": [],
        }
        world.grievances[unit] = _ok(hr_all.post("/api/v1/grievances", json=filing), 201)["id"]
        plan = {"on": "2025-03-03", "org_unit": unit}
        world.plans[unit] = _ok(admin_client.post("/api/v1/designation/plans", json=plan), 201)[
            "plan_id"
        ]
    for unit in ("TEAM-A2", "COMP-A", "COMP-B", "DEPT2"):
        sent = _ok(
            hr_all.post(
                "/api/v1/notices/send", json={"directive_ref": DIRECTIVE, "org_unit": unit}
            ),
            200,
        )
        assert sent["notice_id"] is not None, (unit, sent)
        world.notices[unit] = sent["notice_id"]
    for key, user in base.users.items():
        world.bearer[key] = user.token
        page = make_client(app)
        done = page.post(
            "/login",
            data={"username": user.username, "password": password_of(user.username)},
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
        world.sessions[key] = {
            SESSION_COOKIE: page.cookies[SESSION_COOKIE],
            CSRF_COOKIE: page.cookies[CSRF_COOKIE],
        }
    app.state.runtime.engine.dispose()
    return world


@pytest.fixture(scope="session")
def matrix_world(world_template: World, tmp_path_factory: pytest.TempPathFactory) -> MatrixWorld:
    return build_matrix_world(world_template, tmp_path_factory.mktemp("matrix-world"))


class Server:
    """The matrix world served by a fresh app on a private copy of the template.
    ``api(key)`` and ``page(key)`` are clients of the current copy as that role (bearer
    token, or signed-in browser session); ``anonymous`` has neither. ``reset()`` after a
    request that changed something."""

    def __init__(self, world: MatrixWorld, scratch: Path) -> None:
        self.world = world
        self.scratch = scratch
        self.copies = 0
        self.app: FastAPI | None = None
        self._clients: dict[tuple[str, str], TestClient] = {}
        self.reset()

    def reset(self) -> None:
        self.close()
        self.copies += 1
        data_dir = self.scratch / f"copy-{self.copies}"
        shutil.copytree(self.world.data_dir, data_dir)
        settings = self.world.settings_for(data_dir)
        self.app = create_app(settings)
        # The template's schema is current, so the copy's engine skips the Alembic run an
        # embedded database gets on first use (a third of a second per copy; the matrix
        # makes a copy after every change that succeeded).
        runtime = self.app.state.runtime
        runtime.__dict__["engine"] = make_engine(settings.resolved_database_url)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        if self.app is not None:
            self.app.state.runtime.engine.dispose()

    def client(self, key: str, kind: str) -> TestClient:
        found = self._clients.get((key, kind))
        if found is None:
            assert self.app is not None
            token = self.world.bearer.get(key) if kind == "api" else None
            found = make_client(self.app, token)
            if kind == "page" and key in self.world.sessions:
                for name, value in self.world.sessions[key].items():
                    found.cookies.set(name, value)
            self._clients[(key, kind)] = found
        return found

    def csrf(self, key: str) -> str:
        return self.world.sessions.get(key, {}).get(CSRF_COOKIE, "")


@pytest.fixture
def server(matrix_world: MatrixWorld, tmp_path: Path) -> Iterator[Server]:
    served = Server(matrix_world, tmp_path)
    yield served
    served.close()
