"""Issue 6, bad input over HTTP, what tests/api/test_errors_and_limits.py and
test_auth_and_security.py do not already cover (RELIABILITY T06, T11, SI-10): every
operation of the OpenAPI document given malformed JSON, bodies of the wrong shape, wrong
types in every field, ids of the wrong type and NUL characters answers a 422
problem+json that names where, never echoes the value and changes nothing; a policy
file's server path never reaches an answer (API or page); unknown dashboard URLs answer
an HTML page, API URLs problem+json; an expired session is refused like no session.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, func, select

from api_world import World, make_client
from dutystation.api.app import create_app
from dutystation.api.deps import SESSION_COOKIE
from dutystation.services import accounts, sessions

# Values for path parameters: real objects where the world has them.
PATH_VALUES = {
    "username": "w1",
    "employee_id": "W1",
    "code": "EEU-L1-2023",
    "ref": "Art. 31",
    "kind": "org-units",
    "directive_ref": "TEST-RTO@1",
    "role": "employee",
}
LEAKS = re.compile(r"Traceback|File \"|SELECT |INSERT |sqlite|psycopg|/tmp/|site-packages")
CANARY = "canary-7f3e"


def concrete(template: str, values: dict[str, str]) -> str:
    return re.sub(r"{(\w+)}", lambda m: values.get(m.group(1), "1"), template)


def operations(app: FastAPI) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, concrete path, operation) of every operation in the OpenAPI document."""
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            yield method.upper(), concrete(path, PATH_VALUES), operation


def body_types(operation: dict[str, Any]) -> list[str]:
    return list(operation.get("requestBody", {}).get("content", {}))


def row_counts(app: FastAPI) -> dict[str, int]:
    """Rows per table: bad input must not add or remove any (the audit trail included)."""
    engine = app.state.runtime.engine
    tables = MetaData()
    tables.reflect(engine)
    with engine.connect() as conn:
        return {
            name: int(conn.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in tables.tables.items()
            if name not in ("api_token", "web_session")  # last use is recorded on each request
        }


def assert_refused(answer: Any, what: str) -> None:
    assert answer.status_code == 422, f"{what}: {answer.status_code} {answer.text[:200]}"
    assert answer.headers["content-type"] == "application/problem+json", what
    body = answer.json()
    assert set(body) >= {"type", "title", "status", "detail", "instance"}, what
    assert CANARY not in answer.text, what
    assert not LEAKS.search(answer.text), what


def test_every_json_body_refuses_malformed_json_and_wrong_shapes(
    app: FastAPI, world: World
) -> None:
    admin = make_client(app, world.users["agency_admin"].token)
    before = row_counts(app)
    tried = 0
    for method, path, operation in operations(app):
        if "application/json" not in body_types(operation):
            continue
        what = f"{method} {path}"
        json_headers = {"Content-Type": "application/json"}
        for bad in (b'{"name": ', b"[1, 2", b'{"a": 1}}', b"\xff\xfe{}"):
            answer = admin.request(method, path, content=bad, headers=json_headers)
            assert_refused(answer, f"{what} with {bad!r}")
        for shape in ([CANARY], CANARY, 7):
            answer = admin.request(method, path, json=shape)
            assert_refused(answer, f"{what} with {shape!r}")
        tried += 1
    assert tried >= 15
    assert row_counts(app) == before


def test_every_field_of_the_wrong_type_is_named_and_not_echoed(app: FastAPI, world: World) -> None:
    admin = make_client(app, world.users["agency_admin"].token)
    schemas = app.openapi()["components"]["schemas"]
    before = row_counts(app)
    for method, path, operation in operations(app):
        content = operation.get("requestBody", {}).get("content", {})
        ref = content.get("application/json", {}).get("schema", {})
        ref = ref.get("$ref") or next(
            (o.get("$ref") for o in ref.get("anyOf", []) if "$ref" in o), None
        )
        if ref is None:
            continue
        fields = schemas[ref.rsplit("/", 1)[-1]].get("properties", {})
        # A list holding an object holding the canary: no field of any model takes that.
        wrong = {name: [{"x": CANARY}] for name in fields}
        answer = admin.request(method, path, json=wrong)
        assert_refused(answer, f"{method} {path}")
        named = {part for e in answer.json()["errors"] for part in e["loc"]}
        missing = [name for name in fields if name not in named]
        assert not missing, f"{method} {path}: {missing} not named in {named}"
    assert row_counts(app) == before


def test_ids_of_the_wrong_type_are_a_422_not_a_lookup(app: FastAPI, world: World) -> None:
    admin = make_client(app, world.users["agency_admin"].token)
    before = row_counts(app)
    tried = 0
    for template, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            numbers = [
                p["name"]
                for p in operation.get("parameters", [])
                if p["in"] == "path" and p.get("schema", {}).get("type") == "integer"
            ]
            for name in numbers:
                for bad in ("abc", "1.5", "-1", "0", "99999999999999999999", "1e3"):
                    path = concrete(template, {**PATH_VALUES, name: bad})
                    assert_refused(admin.request(method.upper(), path), f"{method} {path}")
                tried += 1
    assert tried >= 10
    assert row_counts(app) == before


def test_nul_characters_are_refused_everywhere_before_any_service(
    app: FastAPI, world: World
) -> None:
    """PostgreSQL cannot hold NUL: refused at the door, the same on both backends."""
    admin = make_client(app, world.users["agency_admin"].token)
    before = row_counts(app)
    filing = {
        "employee_id": "W1",
        "category": "compelling_reason",
        "start": "2025-03-03",
        "end": "2025-03-04",
        "justification": "a\x00b",
    }
    cases = [
        ("POST", "/api/v1/users", {"json": {"username": "nul", "display_name": "a\x00b"}}),
        ("GET", "/api/v1/users/w%001", {}),
        ("GET", "/api/v1/audit/records", {"params": {"subject_id": "a\x00b"}}),
        ("POST", "/api/v1/auth/login", {"json": {"username": "w\x001", "password": "x" * 20}}),
        ("POST", "/api/v1/exemptions", {"data": filing}),
    ]
    for method, path, options in cases:
        answer = admin.request(method, path, **options)
        assert answer.status_code == 422, f"{method} {path}: {answer.text[:200]}"
        assert "NUL" in answer.json()["detail"]
    page = make_client(app)
    login = page.post("/login", data={"username": "w\x001", "password": "x" * 20})
    assert login.status_code == 422 and "text/html" in login.headers["content-type"]
    assert row_counts(app) == before


# --- server paths --------------------------------------------------------------------------


@pytest.fixture
def broken_policies(world: World, tmp_path: Path) -> tuple[FastAPI, Path]:
    """An app whose policies folder holds a file that is not valid TOML."""
    folder = tmp_path / "srv-secret-folder" / "policies"
    folder.mkdir(parents=True)
    (folder / "broken.toml").write_text('id = "X"\n[scope\n', encoding="utf-8")
    return create_app(world.settings(policies_dir=folder)), folder


def test_a_policy_files_server_path_never_reaches_an_answer(
    broken_policies: tuple[FastAPI, Path], world: World
) -> None:
    app, folder = broken_policies
    tmo = make_client(app, world.users["tmo"].token)
    answer = tmo.post("/api/v1/notices/send", json={"directive_ref": "TEST-RTO@1"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("broken.toml: is not valid TOML")
    assert str(folder) not in answer.text and "srv-secret-folder" not in answer.text

    leader = make_client(app)
    user = world.users["leader"]
    leader.post("/login", data={"username": user.username, "password": user.password})
    page = leader.get("/reports", params={"kind": "onsite-share", "org": "COMP-A"})
    assert "roken.toml: is not valid TOML" in page.text  # "Broken.toml": a sentence
    assert "srv-secret-folder" not in page.text


# --- unknown URLs and the documentation pages ----------------------------------------------


def test_unknown_dashboard_urls_answer_a_page_and_api_urls_a_problem(app: FastAPI) -> None:
    client = make_client(app)
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    page = client.get("/no/such/page", headers=browser)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "There is no page at this address." in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"

    script = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert script.status_code == 404
    assert script.headers["content-type"] == "application/problem+json"

    api = client.get("/api/v1/no/such/thing", headers=browser)
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"

    wrong_method = client.put("/login", headers=browser)
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"].startswith("text/html")
    assert "GET" in wrong_method.headers["allow"]


def test_the_interactive_docs_are_not_served_but_the_openapi_document_is(app: FastAPI) -> None:
    """Swagger UI and ReDoc load their scripts from a CDN, which the CSP forbids and the
    no-internet rule rules out: they are not served (docs/api.md)."""
    client = make_client(app)
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert client.get(path, headers={"Accept": "text/html"}).status_code == 404, path
    document = client.get("/api/v1/openapi.json")
    assert document.status_code == 200
    assert document.json()["info"]["title"] == "dutystation"


# --- expired sessions ----------------------------------------------------------------------


def test_an_expired_session_is_refused_like_none_and_changes_nothing(
    app: FastAPI, world: World
) -> None:
    engine = app.state.runtime.engine
    settings = app.state.runtime.settings
    with engine.connect() as conn:
        actor = accounts.load_actor(conn, "w1")
    long_ago = datetime.now(UTC) - timedelta(hours=settings.session_max_hours + 1)
    old = sessions.start_session(engine, actor, settings=settings, now=long_ago)
    client: TestClient = make_client(app)
    client.cookies.set(SESSION_COOKIE, old.secret)
    before = row_counts(app)
    api = client.post(
        "/api/v1/users/w1/tokens",
        json={"name": "late", "days": 1},
        headers={"X-CSRF-Token": old.csrf_token},
    )
    assert api.status_code == 401
    assert api.headers["content-type"] == "application/problem+json"
    page = client.get("/me", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    assert row_counts(app) == before
