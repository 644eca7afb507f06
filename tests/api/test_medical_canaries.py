"""RELIABILITY T04 ``medical_canary_containment`` through the web app, its server and the
command line, on the route-matrix world (tests/api/matrix_world.py). The command-line
journey on the demo department is tests/e2e/test_exemption_privacy.py.

Seeded: a disability-accommodation request filed by W1 and a medical-condition request
filed by W1's supervisor for W2, each with a justification, a document's file name and a
document's bytes carrying unique canaries; W1's request certified by all four certifiers
with canaries in their reasons, then revoked with one in the revocation's reason. The RA
coordinator reads both and downloads the documents (the control: the canaries went in).

Then, with every logger at DEBUG: every route of the app (API and dashboard, by the
recipes of the route matrix) as every role on objects of every relation, and the canary
requests themselves (view, document, page, lists, queue); every report in every format
through the API (as the auditor, whole organisation) and the dashboard (as the TMO, one
component; ``DUTYSTATION_TEST_PROFILE=nightly``: as six reading roles each); the audit
trail (records, page, export as JSON lines and CSV); the disclosure listings; on the
command line every report in every format, the exemption lists and views as each role,
the audit export and listing, the disclosure listing and ``dutystation evaluate
--refresh`` (the snapshot tables). A second test runs the filing and the readings against
``uvicorn`` in a child process logging everything at DEBUG to standard error.

Pass figure: 0 canary occurrences in any HTTP body, command output or written file, any
log record or the server's standard error, any non-medical table, any file under the
data folder (the SQLite file and its WAL, the Parquet event store, the medical store's
sealed files, quarantine, scratch) or any file written to the system's temporary folder
during the test; the RA coordinator's reads of the medical content are the one exception.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from leak_scan import (
    debug_server,
    files_holding,
    recording_debug_logs,
    rows_holding,
    temp_files_holding,
)
from matrix_world import MatrixWorld, Server, matrix_world
from route_answers import FULL, RELATIONS_OF, app_routes, caller_of, load_table, object_id, send
from route_recipes import RECIPES
from typer.testing import CliRunner

from dutystation import cli
from dutystation.api.app import create_app
from dutystation.cli import app as cli_app
from dutystation.domain.access import Role

__all__ = ["matrix_world"]

pytestmark = pytest.mark.slow
NIGHTLY = os.environ.get("DUTYSTATION_TEST_PROFILE") == "nightly"
cli._register()

CANARY = {
    "justification": "CNRY-just-5v1q",
    "file_name": "CNRY-name-8k2w",
    "bytes": "CNRY-bytes-3m9z",
    "reason": "CNRY-reason-4h7x",
    "revocation": "CNRY-revoke-2p6d",
}
NEEDLES = [value.encode() for value in CANARY.values()]
MARK = b"CNRY-"  # every canary starts so: a partial echo is caught too
ROLES = [role.value for role in Role]
SAFE = {"GET", "HEAD"}
# Reads of the medical content: the RA coordinator's answers to these are the exception.
MEDICAL_READS = {
    "GET /api/v1/exemptions/{request_id}",
    "GET /api/v1/exemptions/{request_id}/documents/{position}",
    "GET /requests/{request_id}",
    "GET /requests/{request_id}/documents/{position}",
}
FORMATS = ("table", "csv", "json", "xlsx", "html")
Client = Callable[[str], Any]


def letter() -> bytes:
    return b"%PDF-1.4\n% " + CANARY["bytes"].encode() + b"\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def seed(client: Client) -> dict[str, int]:
    """File, certify and revoke the canary requests; the ids by employee."""
    ids = {}
    for role, employee, category in (
        ("employee", "W1", "disability_accommodation"),
        ("supervisor", "W2", "medical_condition"),
    ):
        filed = client(role).post(
            "/api/v1/exemptions",
            data={
                "employee_id": employee,
                "category": category,
                "start": "2025-11-03",
                "end": "2025-11-28",
                "justification": f"diagnosis {CANARY['justification']}: limits "
                f"{CANARY['justification']}",
            },
            files=[
                (
                    "documents",
                    (f"{CANARY['file_name']}-cardiology.pdf", letter(), "application/pdf"),
                )
            ],
        )
        assert filed.status_code == 201, filed.text
        ids[employee] = filed.json()["id"]
    decision = {"decision": "approve", "reason": f"saw the {CANARY['reason']} letter"}
    for role in ("supervisor", "certifying_official", "leader", "tmo"):
        done = client(role).post(f"/api/v1/exemptions/{ids['W1']}/certifications", json=decision)
        assert done.status_code == 200, (role, done.text)
    assert done.json()["status"] == "approved"
    revocation = {"from": "2025-11-17", "reason": f"recovered from {CANARY['revocation']}"}
    revoked = client("certifying_official").post(
        f"/api/v1/exemptions/{ids['W1']}/revoke", json=revocation
    )
    assert revoked.status_code == 200, revoked.text
    return ids


def ra_control(client: Client, ids: dict[str, int]) -> None:
    """The RA coordinator sees every canary: they really went in."""
    ra = client("ra_coordinator")
    for rid in ids.values():
        view = ra.get(f"/api/v1/exemptions/{rid}")
        assert view.status_code == 200, view.text
        assert CANARY["justification"] in view.text and CANARY["file_name"] in view.text
        document = ra.get(f"/api/v1/exemptions/{rid}/documents/1")
        assert document.status_code == 200, document.text
        assert CANARY["bytes"].encode() in document.content
    assert CANARY["reason"] in ra.get(f"/api/v1/exemptions/{ids['W1']}").text
    assert CANARY["revocation"] in ra.get(f"/api/v1/exemptions/{ids['W1']}").text


@pytest.fixture(scope="module")
def canary_world(
    matrix_world: MatrixWorld, tmp_path_factory: pytest.TempPathFactory
) -> tuple[MatrixWorld, dict[str, int]]:
    """The matrix world with the canary requests, as a template of its own."""
    root = tmp_path_factory.mktemp("canary-world")
    world = dataclasses.replace(matrix_world, data_dir=root / "data")
    shutil.copytree(matrix_world.data_dir, world.data_dir)
    app = create_app(world.settings_for(world.data_dir))
    from api_world import make_client

    clients = {key: make_client(app, token) for key, token in world.bearer.items()}
    ids = seed(clients.__getitem__)
    for each in clients.values():
        each.close()
    app.state.runtime.engine.dispose()
    return world, ids


class Bodies:
    """Every answer a non-RA reader got (and the RA coordinator's, medical reads apart)."""

    def __init__(self) -> None:
        self.leaks: list[str] = []
        self.count = 0
        self.seen_by_ra = 0  # the control: the scan would have caught these

    def check(self, where: str, data: bytes) -> None:
        self.count += 1
        if MARK in data:
            self.leaks.append(where)


def _sweep_routes(server: Server, ids: dict[str, int], bodies: Bodies) -> None:
    assert server.app is not None
    table = load_table()
    for route in app_routes(server.app):
        for case in table[route]:
            kind = case["object"]
            make = RECIPES[(route, kind)]
            for key in [*ROLES, "anonymous"]:
                caller = caller_of(server.world, key)
                for relation in RELATIONS_OF.get(kind, FULL):
                    value = (
                        "" if kind == "none" else object_id(server.world, kind, relation, caller)
                    )
                    if value is None:
                        continue
                    call = make(caller, value)
                    answer = send(server, key, call)
                    bodies.check(f"{route} as {key} on {relation}", answer.content)
                    if call.method not in SAFE and answer.status_code < 400:
                        server.reset()
            for key in ROLES:  # the canary requests themselves
                if kind not in ("submitted", "medical") or "{request_id}" not in route:
                    continue
                if route.split(" ")[0] not in SAFE:
                    continue
                for employee, rid in ids.items():
                    answer = send(server, key, make(caller_of(server.world, key), str(rid)))
                    if key == "ra_coordinator" and route in MEDICAL_READS:
                        bodies.seen_by_ra += MARK in answer.content  # the excluded reads
                        continue
                    bodies.check(f"{route} on {employee}'s canary request as {key}", answer.content)


def _sweep_extras(server: Server, ids: dict[str, int], bodies: Bodies) -> list[str]:
    """Lists, pages, reports in every format, the audit trail, disclosures."""
    api = server.client("tmo", "api")
    kinds = api.get("/api/v1/reports").json()
    for key in ROLES:
        for path in (
            "/api/v1/exemptions?limit=500",
            "/api/v1/exemptions?employee=W1",
            "/api/v1/me/disclosures",
            "/api/v1/audit/records?limit=500",
            "/api/v1/audit/export?format=jsonl",
            "/api/v1/audit/export?format=csv",
            "/api/v1/status/employees/W1",
            "/api/v1/overview/people?org=COMP-A",
        ):
            bodies.check(f"{path} as {key}", server.client(key, "api").get(path).content)
        for path in (
            "/queue",
            "/me",
            "/people/W1",
            "/people/W2",
            "/audit",
            "/overview",
            "/overview/people?org=COMP-A",
            "/reports",
        ):
            bodies.check(f"{path} as {key}", server.client(key, "page").get(path).content)
    readers = ("tmo", "leader", "hr", "auditor", "agency_admin", "certifying_official")
    for key in readers:
        for kind in kinds:
            for fmt in kind["formats"]:
                if NIGHTLY or key == "auditor":  # CI: the whole organisation's reports
                    path = f"/api/v1/reports/{kind['kind']}?format={fmt}"
                    bodies.check(f"{path} as {key}", server.client(key, "api").get(path).content)
                if NIGHTLY or key == "tmo":  # and a scoped reader's downloads
                    page = f"/reports/download?kind={kind['kind']}&format={fmt}"
                    bodies.check(f"{page} as {key}", server.client(key, "page").get(page).content)
    return [k["kind"] for k in kinds]


def _command_line(
    data_dir: Path, world: MatrixWorld, out: Path, kinds: list[str], ids: dict[str, int]
) -> list[str]:
    """Every report in every format, lists, views, exports and the snapshot refresh; the
    outputs that carry a canary."""
    env = {
        "DUTYSTATION_DATA_DIR": str(data_dir),
        "DUTYSTATION_POLICIES_DIR": str(world.policies),
        "DUTYSTATION_CONFIG": str(out / "none.toml"),
        "DUTYSTATION_AS": "",
        "DUTYSTATION_DATABASE_URL": "",
    }
    runner = CliRunner()
    printed: list[tuple[str, str]] = []

    def run(*args: str) -> None:
        result = runner.invoke(cli_app, list(args), env={k: v for k, v in env.items() if v})
        text = result.stdout + result.stderr + (repr(result.exception) if result.exception else "")
        printed.append((" ".join(args), text))

    users = {key: world.users[key].username for key in ROLES}
    run("evaluate", "--refresh", "-q", "--as", users["agency_admin"])
    run("evaluate")
    for kind in kinds:
        for fmt in FORMATS:
            target = out / f"{kind}.{fmt}"
            extra = ["--output", str(target)] if fmt in ("csv", "json", "xlsx", "html") else []
            run("report", kind, "--format", fmt, "--limit", "0", *extra)
        if NIGHTLY:
            run("report", kind, "--format", "json", "--as", users["tmo"])
    for key in ROLES:
        if key == "ra_coordinator":
            continue
        run("exemptions", "list", "--json", "--as", users[key])
        for rid in ids.values():
            run("exemptions", "show", str(rid), "--json", "--as", users[key])
            run("exemptions", "show", str(rid), "--as", users[key])
            run(
                "exemptions",
                "document",
                str(rid),
                "1",
                "--out",
                str(out / f"{key}-{rid}.pdf"),
                "--as",
                users[key],
            )
        run("disclosures", "list", "--json", "--as", users[key])
    run("disclosures", "list", "--employee", "W1", "--json", "--as", users["hr"])
    run("audit", "export", "--out", str(out / "audit.jsonl"), "--as", users["auditor"])
    run(
        "audit",
        "export",
        "--format",
        "csv",
        "--out",
        str(out / "audit.csv"),
        "--as",
        users["auditor"],
    )
    run("audit", "list", "--limit", "0", "--as", users["auditor"])
    return [f"command `{args}`" for args, text in printed if "CNRY-" in text]


def test_no_canary_leaves_the_medical_store(
    canary_world: tuple[MatrixWorld, dict[str, int]], tmp_path: Path
) -> None:
    world, ids = canary_world
    started = time.time() - 1
    out = tmp_path / "out"
    out.mkdir()
    server = Server(world, tmp_path / "copies")
    bodies = Bodies()
    try:
        with recording_debug_logs() as logs:
            ra_control(lambda key: server.client(key, "api"), ids)
            _sweep_routes(server, ids, bodies)
            server.reset()
            kinds = _sweep_extras(server, ids, bodies)
            assert server.app is not None
            data_dir = Path(server.app.state.runtime.settings.data_dir)
            printed = _command_line(data_dir, world, out, kinds, ids)
    finally:
        server.close()
    leaks = [f"HTTP body: {where}" for where in bodies.leaks]
    leaks += printed
    leaks += [f"log: {line[:200]}" for line in logs.lines if "CNRY-" in line]
    leaks += files_holding([out, data_dir], NEEDLES)
    leaks += rows_holding(data_dir / "dutystation.sqlite3", list(CANARY.values()))
    basetemp = tmp_path.parents[1]
    leaks += temp_files_holding(NEEDLES, started, basetemp)
    print(f"{bodies.count} answers, {len(logs.lines)} log records scanned")
    assert bodies.count > 1000 and len(logs.lines) > 100
    assert bodies.seen_by_ra >= 4  # view and document of both requests, API and dashboard
    assert not leaks, f"{len(leaks)} canary leaks:\n" + "\n".join(leaks[:40])


def test_a_server_logging_at_debug_logs_no_canary(
    matrix_world: MatrixWorld, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(matrix_world.data_dir, data_dir)
    env = {
        "DUTYSTATION_DATA_DIR": str(data_dir),
        "DUTYSTATION_POLICIES_DIR": str(matrix_world.policies),
        "DUTYSTATION_CONFIG": str(tmp_path / "none.toml"),
        "DUTYSTATION_COOKIE_SECURE": "false",
    }
    with debug_server(env, tmp_path) as (base, stderr):
        clients = {
            key: httpx2.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
            for key, token in matrix_world.bearer.items()
        }
        try:
            ids = seed(clients.__getitem__)
            ra_control(clients.__getitem__, ids)
            answers = []
            for key in ROLES:
                if key == "ra_coordinator":
                    continue
                for rid in ids.values():
                    answers.append(clients[key].get(f"/api/v1/exemptions/{rid}"))
                    answers.append(clients[key].get(f"/api/v1/exemptions/{rid}/documents/1"))
                answers.append(clients[key].get("/api/v1/exemptions?limit=500"))
                answers.append(clients[key].get("/api/v1/reports/briefing?format=json"))
                answers.append(clients[key].get("/api/v1/reports/presence?format=csv"))
        finally:
            for each in clients.values():
                each.close()
    logged = stderr.read_text(encoding="utf-8", errors="replace")
    assert "DEBUG dutystation" in logged and "POST /api/v1/exemptions" in logged  # it logged
    assert not [a.request.url for a in answers if MARK in a.content]
    leaks = [line[:200] for line in logged.splitlines() if "CNRY-" in line]
    assert not leaks, f"{len(leaks)} lines of the server's log hold a canary:\n" + "\n".join(
        leaks[:20]
    )
    assert not files_holding([data_dir], NEEDLES)
