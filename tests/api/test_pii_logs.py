"""RELIABILITY T10 ``pii_log_scan``: a representative day of work with personal data
seeded everywhere it can go, every logger at DEBUG, and then every log line, the standard
error of a real server logging at DEBUG, every command's output and error, every error
answer and every exception text searched for that data.

Seeded: SSN-shaped strings (the advertising range 987-65-4320..4329), a home-address
canary in the roster's ``home_zip`` column, dates of birth in a column the roster does not
have, a medical canary in a medical request's justification and document name, bearer
tokens (the world's real ones, and a wrong one), passwords (right and wrong).

The flow, on the test world (tests/api_world.py) both in this process and against
``uvicorn`` in a child process: roster imports with bad rows (unknown org unit, bad
arrangement, a ZIP that is an address) through the API and the command line, a CSV with
an unbalanced quote (what DuckDB would echo as ``Original Line``), sign-in failures and
successes (API and dashboard), a wrong bearer token, a medical request filed and read,
reports, and API errors (a body the schema refuses, with PII in the refused values).

Pass figure: 0 hits in logs, standard error, command output, error answers and exception
texts; every import rejection names file, line, column and reason code only (its
``message`` holds no value). Quarantine files hold the rejected rows by design
(docs/importing.md): they are created mode 0600 in a 0700 folder; a roster's quarantine
file holds where and why (file, line, column, reason), none of the row's values.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from area_world import PDF, ROSTER_HEADER, csv_bytes, write_policies
from fastapi import FastAPI
from fastapi.testclient import TestClient
from leak_scan import debug_server, recording_debug_logs
from typer.testing import CliRunner

from api_world import PEOPLE, World, make_client, password_of
from dutystation import cli
from dutystation.api.app import create_app
from dutystation.cli import app as cli_app

cli._register()

SSNS = [f"987-65-432{n}" for n in range(4)]
HOME = "1600 Canaryhome Lane Apt 9"
BIRTH = ["1961-08-04", "1979-12-31"]
MEDICAL = "PIIMED-diagnosis-7q2r"
WRONG_PASSWORD = "PIIPW-wrong-horse-battery-0c8e"
WRONG_TOKEN = "dst_PIItok3nWr0ngbutL00ksR3al9x"
ROSTER = [*ROSTER_HEADER, "date_of_birth"]
REJECTION_KEYS = {"reason", "message", "count", "file", "line", "column"}


def seeded(world: World) -> list[str]:
    """Every value that must not reach a log, an output or an error."""
    secrets = [u.token for u in world.users.values()]
    secrets += [password_of(u.username) for u in world.users.values()]
    return [*SSNS, HOME, *BIRTH, MEDICAL, WRONG_PASSWORD, WRONG_TOKEN, *secrets]


def roster_file() -> bytes:
    """W1 again (with a home ZIP and a birth date), and three bad rows full of PII."""
    w1 = next(p for p in PEOPLE if p[0] == "W1")
    good = [*w1, "2025-02-03", "w1@example.gov", "", "", "20500", BIRTH[0]]
    bad = [
        [
            "Z1",
            f"Zed {SSNS[0]}",
            "NOWHERE",
            "HQ",
            "onsite",
            "",
            "2025-02-03",
            "z1@x.gov",
            "",
            "",
            HOME,
            BIRTH[1],
        ],
        [
            "Z2",
            f"Zoe {SSNS[1]}",
            "TEAM-A1",
            "HQ",
            "sometimes",
            "",
            "2025-02-03",
            "z2@x.gov",
            "",
            "",
            "20500",
            BIRTH[1],
        ],
        [
            "Z3",
            "Zia Zed",
            "TEAM-A1",
            "HQ",
            "onsite",
            "",
            "2025-02-03",
            "z3@x.gov",
            "",
            "",
            f"{HOME} {SSNS[2]}",
            BIRTH[1],
        ],
    ]
    return csv_bytes(ROSTER, [good, *bad])


def broken_file() -> bytes:
    """A quote that never closes, on a line holding an SSN."""
    header = ",".join(ROSTER_HEADER[:8])
    return (
        f'{header}\nW1,"Wes {SSNS[3]},TEAM-A1,HQ,telework,MGR1,2025-02-03,w1@example.gov\n'
        "W2,Wren Worker,TEAM-A1,HQ,telework,MGR1,2025-02-03,w2@example.gov\n"
    ).encode()


Client = Callable[[str], Any]


def http_flow(client: Client, anonymous: Any, problems: list[str]) -> list[str]:
    """The HTTP part of the day; the texts of the answers (errors above all)."""
    texts: list[str] = []

    def keep(answer: Any) -> Any:
        """Error answers are searched (a page that keeps the username typed into its form
        shows the caller their own input: not a log, not kept)."""
        if answer.headers.get("content-type", "").startswith("application/problem+json"):
            texts.append(answer.text)
        return answer

    upload = keep(
        client("agency_admin").post(
            "/api/v1/imports/roster",
            files=[("files", ("roster.csv", roster_file(), "text/csv"))],
        )
    )
    assert upload.status_code == 422, upload.text
    for rejection in upload.json()["rejections"]:
        if set(rejection) != REJECTION_KEYS:
            problems.append(f"an import rejection has keys {sorted(rejection)}")
    keep(
        client("agency_admin").post(
            "/api/v1/imports/roster", files=[("files", ("broken.csv", broken_file(), "text/csv"))]
        )
    )
    for username in ("w1", SSNS[0]):
        keep(
            anonymous.post(
                "/api/v1/auth/login", json={"username": username, "password": WRONG_PASSWORD}
            )
        )
        keep(
            anonymous.post(
                "/login",
                data={"username": username, "password": WRONG_PASSWORD},
                follow_redirects=False,
            )
        )
    signed_in = keep(
        anonymous.post(
            "/api/v1/auth/login", json={"username": "mgr1", "password": password_of("mgr1")}
        )
    )
    assert signed_in.status_code == 200, signed_in.text
    keep(anonymous.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {WRONG_TOKEN}"}))
    filed = keep(
        client("employee").post(
            "/api/v1/exemptions",
            data={
                "employee_id": "W1",
                "category": "medical_condition",
                "start": "2025-03-03",
                "end": "2025-03-28",
                "justification": f"{MEDICAL}; call me on {SSNS[3]}",
            },
            files=[("documents", (f"{MEDICAL}.pdf", PDF, "application/pdf"))],
        )
    )
    assert filed.status_code == 201, filed.text
    for key in ("employee", "supervisor", "hr", "ra_coordinator"):  # answers: T03, T04
        client(key).get(f"/api/v1/exemptions/{filed.json()['id']}")
    refused = keep(
        client("agency_admin").post(  # PII in values the schema refuses
            "/api/v1/users",
            json={"username": SSNS[1], "display_name": HOME, "email": BIRTH[0], "roles": "x"},
        )
    )
    assert refused.status_code == 422, refused.text
    keep(
        client("employee").put(
            "/api/v1/users/w1/password",
            json={"password": "short", "current_password": WRONG_PASSWORD},
        )
    )
    for key in ("tmo", "auditor"):
        keep(client(key).get("/api/v1/reports/onsite-share?format=csv"))
        keep(client(key).get("/api/v1/status/employees/W1"))
    return texts


def command_line(world: World, policies: Path, folder: Path) -> list[str]:
    """The command-line part: imports with bad rows, a medical request, reports."""
    env = {
        "DUTYSTATION_DATA_DIR": str(world.data_dir),
        "DUTYSTATION_POLICIES_DIR": str(policies),
        "DUTYSTATION_CONFIG": str(folder / "none.toml"),
        # The imports run in this process: at import_nice they would lower its priority.
        "DUTYSTATION_IMPORT_NICE": "0",
    }
    (folder / "roster.csv").write_bytes(roster_file())
    (folder / "broken.csv").write_bytes(broken_file())
    (folder / "why.txt").write_text(f"{MEDICAL} {SSNS[2]}", encoding="utf-8")
    runner = CliRunner()
    printed = []
    for args in (
        ["import", "roster", str(folder / "roster.csv")],
        ["import", "roster", str(folder / "broken.csv")],
        [
            "exemptions",
            "request",
            "W2",
            "--category",
            "medical_condition",
            "--start",
            "2025-04-07",
            "--end",
            "2025-04-25",
            "--justification-file",
            str(folder / "why.txt"),
            "--as",
            "mgr1",
        ],
        ["exemptions", "list", "--json", "--as", "hr"],
        ["report", "onsite-share", "--format", "csv"],
    ):
        result = runner.invoke(cli_app, args, env=env)
        printed.append(result.stdout + result.stderr)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            printed.append(repr(result.exception) + str(result.exception))
    return printed


def hits(texts: list[str], values: list[str]) -> list[str]:
    return [f"{value!r} in: {text[:160]!r}" for text in texts for value in values if value in text]


@pytest.fixture
def app(world: World, tmp_path: Path) -> FastAPI:
    return create_app(world.settings(policies_dir=write_policies(tmp_path / "policies")))


def test_no_personal_data_reaches_logs_outputs_or_errors(
    app: FastAPI, world: World, tmp_path: Path
) -> None:
    problems: list[str] = []
    made: dict[str, TestClient] = {}

    def client(key: str) -> TestClient:
        made.setdefault(key, make_client(app, world.users[key].token))
        return made[key]

    with recording_debug_logs() as logs:
        texts = http_flow(client, make_client(app), problems)
        texts += command_line(world, tmp_path / "policies", tmp_path)
    for each in made.values():
        each.close()
    values = seeded(world)
    found = hits(logs.lines, values) + hits(texts, values) + problems
    assert len(logs.lines) > 20
    assert not found, f"{len(found)} hits:\n" + "\n".join(found[:30])


def test_quarantine_files_are_private_and_hold_no_home_address(
    app: FastAPI, world: World, tmp_path: Path
) -> None:
    client = make_client(app, world.users["agency_admin"].token)
    upload = client.post(
        "/api/v1/imports/roster", files=[("files", ("roster.csv", roster_file(), "text/csv"))]
    )
    assert upload.status_code == 422, upload.text
    folder = world.data_dir / "quarantine"
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files, "the rejected rows were quarantined"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        held = path.read_text(encoding="utf-8-sig")
        assert held.startswith("file,line,column,reason,message")
        assert "home_zip,invalid_zip" in held  # where and why, for review
        assert not hits([held], [*SSNS, HOME, *BIRTH])  # a roster row's values are not kept


@pytest.mark.slow
def test_a_server_logging_at_debug_logs_no_personal_data(world: World, tmp_path: Path) -> None:
    policies = write_policies(tmp_path / "policies")
    env = {
        "DUTYSTATION_DATA_DIR": str(world.data_dir),
        "DUTYSTATION_POLICIES_DIR": str(policies),
        "DUTYSTATION_CONFIG": str(tmp_path / "none.toml"),
        "DUTYSTATION_COOKIE_SECURE": "false",
        "DUTYSTATION_PASSWORD_HASH_MEMORY_KIB": "1024",
        "DUTYSTATION_PASSWORD_HASH_TIME_COST": "1",
    }
    problems: list[str] = []
    with debug_server(env, tmp_path) as (base, stderr):
        made: dict[str, httpx2.Client] = {}

        def client(key: str) -> httpx2.Client:
            token = world.users[key].token
            made.setdefault(
                key, httpx2.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
            )
            return made[key]

        anonymous = httpx2.Client(base_url=base)
        try:
            texts = http_flow(client, anonymous, problems)
        finally:
            for each in [*made.values(), anonymous]:
                each.close()
    logged = stderr.read_text(encoding="utf-8", errors="replace").splitlines()
    assert any(line.startswith("INFO uvicorn.access") for line in logged)
    found = hits(logged, seeded(world)) + hits(texts, seeded(world)) + problems
    assert not found, f"{len(found)} hits:\n" + "\n".join(found[:30])
