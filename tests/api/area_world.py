"""What the area API tests (exemptions, agreements, notices, designation, reports,
imports) add to the shared world (tests/api_world.py): a directive that binds the world's
org tree, so requests can be filed, notices sent and plans made, and helpers to compare
refusals and to look for values in bodies.

The shipped example policies name the demo department's org units, which the world does
not have; ``app`` (imported into a test module, it replaces conftest's) serves the world
with ``TEST_ORDER`` instead.

    TEST-RTO@1 binds DEPT (telework, remote) from 2025-01-20, full compliance 2025-02-21:
    disability, medical condition, compelling reason; agency head + supervisor certify;
    50-mile designation rule for remote staff.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response

from api_world import PEOPLE, World, make_client
from dutystation.api.app import create_app

TEST_ORDER = """\
id = "TEST-RTO"
version = 1
issuer = "Test"
title = "Test order"
issued = 2025-01-20
effective = 2025-01-20
[scope]
org_units = ["DEPT"]
arrangements = ["telework", "remote"]
presumed_compliant = ["onsite", "field"]
[requirement]
onsite_share_of_hours = 1.0
[deadlines]
full_compliance = 2025-02-21
not_returned_report_days = 30
[exemptions]
categories = ["disability_accommodation", "medical_condition", "compelling_reason"]
certification_required_by = ["agency_head", "supervisor"]
[distance_rule]
designate_beyond_miles = 50
arrangements = ["remote"]
"""
DIRECTIVE = "TEST-RTO@1"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
Client = Callable[[str], TestClient]


def write_policies(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test-order.toml").write_text(TEST_ORDER, encoding="utf-8")
    return folder


@pytest.fixture
def app(world: World, tmp_path: Path) -> FastAPI:
    return create_app(world.settings(policies_dir=write_policies(tmp_path / "policies")))


def without_instance(response: Response) -> dict[str, Any]:
    """A problem body without ``instance`` (the request path, which differs by id)."""
    body: dict[str, Any] = dict(response.json())
    body.pop("instance", None)
    return body


def same_refusal(
    unknown: Response, unknown_id: object, foreign: Response, foreign_id: object
) -> None:
    """An id outside the caller's scope is answered exactly like one that does not exist:
    the same status (404, or 403 when the role may never do it), type and body apart from
    ``instance`` (the path) and the id itself where the sentence names it."""
    assert foreign.status_code == unknown.status_code, (foreign.text, unknown.text)
    assert foreign.status_code in (403, 404), foreign.text
    assert foreign.headers["content-type"] == unknown.headers["content-type"]
    mine, theirs = without_instance(unknown), without_instance(foreign)
    mine["detail"] = re.sub(rf"\b{unknown_id}\b", "{id}", mine["detail"])
    theirs["detail"] = re.sub(rf"\b{foreign_id}\b", "{id}", theirs["detail"])
    assert theirs == mine


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def file_request(
    client: TestClient,
    employee_id: str = "W1",
    *,
    category: str = "compelling_reason",
    start: str = "2025-03-03",
    end: str = "2025-04-30",
    justification: str = "caring for a parent",
    documents: Sequence[tuple[str, bytes]] = (),
) -> Response:
    return client.post(
        "/api/v1/exemptions",
        data={
            "employee_id": employee_id,
            "category": category,
            "start": start,
            "end": end,
            "justification": justification,
        },
        files=[("documents", (name, data, "application/octet-stream")) for name, data in documents]
        or None,
    )


def new_user(
    client_for: Client, app: FastAPI, username: str, role: str, scope: str | None = None
) -> TestClient:
    """An account made through the API by the agency administrator, with a token."""
    admin = client_for("agency_admin")
    made = admin.post(
        "/api/v1/users", json={"username": username, "roles": [{"role": role, "scope": scope}]}
    )
    assert made.status_code == 201, made.text
    token = admin.post(f"/api/v1/users/{username}/tokens", json={"name": "tests", "days": 1})
    assert token.status_code == 201, token.text
    return make_client(app, token.json()["secret"])


ROSTER_HEADER = [
    "employee_id",
    "name",
    "org_unit",
    "duty_station",
    "arrangement",
    "supervisor_id",
    "effective_date",
    "email",
    "bargaining_unit",
    "job_function",
    "home_zip",
]


def roster_update(effective: str, extra: dict[str, tuple[str, str, str]]) -> bytes:
    """The world's roster again from ``effective``, with ``extra[employee_id]`` =
    (bargaining_unit, job_function, home_zip) for some people."""
    rows = [
        (*p, effective, f"{p[0].lower()}@example.gov", *extra.get(p[0], ("", "", "")))
        for p in PEOPLE
    ]
    return csv_bytes(ROSTER_HEADER, rows)


def upload(client: TestClient, kind: str, *files: tuple[str, bytes], **form: str) -> Response:
    return client.post(
        f"/api/v1/imports/{kind}",
        files=[("files", (name, data, "text/csv")) for name, data in files],
        data=form or None,
    )


AGREEMENT = {
    "code": "EEU-L1-2023",
    "title": "Master Agreement, Article 31",
    "union": "Example Employees Union, Local 1",
    "units": ["EEU-L1"],
    "effective_from": "2023-10-01",
    "effective_to": "2026-09-30",
}


def with_bargaining_units(client_for: Client) -> None:
    """W1 and W2 are members of EEU-L1 (an agreement's unit must be on the roster)."""
    members = {"W1": ("EEU-L1", "", ""), "W2": ("EEU-L1", "", "")}
    done = upload(
        client_for("agency_admin"), "roster", ("roster.csv", roster_update("2025-01-13", members))
    )
    assert done.status_code == 200, done.text
