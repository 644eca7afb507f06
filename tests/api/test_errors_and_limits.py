"""What every answer carries and how bad requests end (RELIABILITY T01, T11, T13, T26):
security headers on every route, bodies over the limit refused while they stream in,
malformed and wrongly typed input answered 422, unknown and out-of-scope ids answered
alike, and a bug answered 500 with a correlation id and nothing else."""

from __future__ import annotations

import json
import logging
import re
import select
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api_world import ROLES, World, make_client, serving
from dutystation import errors
from dutystation.api.app import create_app
from dutystation.api.deps import SESSION_COOKIE
from dutystation.api.errors import status_of
from dutystation.domain.access import Grant, Role
from dutystation.errors import StoreError
from dutystation.services import accounts, tokens

STATIC_DIR = Path(__file__).resolve().parents[2] / "src" / "dutystation" / "web" / "static"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
# Values for path parameters, by name: a real object where there is one in the world.
PATH_VALUES = {"username": "w1", "employee_id": "W1", "org_unit": "COMP-A", "unit": "COMP-A"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def every_route(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, concrete path) for every route of the app, API and dashboard."""
    for context in iter_route_contexts(app.routes):
        path = context.path_format or ""
        if path.startswith("/static"):
            continue
        concrete = re.sub(r"{(\w+)(:\w+)?}", lambda m: PATH_VALUES.get(m.group(1), "1"), path)
        for method in sorted(context.methods or {"GET"}):
            if method != "HEAD":
                yield method, concrete


def assert_secured(answer: Any, what: str) -> None:
    headers = answer.headers
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, f"{what}: {name}"
    csp = headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, what
    assert "unsafe-inline" not in csp.split("script-src")[-1].split(";")[0], what


def test_every_route_answers_with_security_headers_as_every_role(world: World) -> None:
    app = create_app(world.settings())
    routes = list(every_route(app))
    assert len(routes) > 20
    clients = {role: make_client(app, world.users[role].token) for role in ROLES}
    clients["anonymous"] = make_client(app)
    cookie = make_client(app)
    user = world.users["employee"]
    cookie.post("/api/v1/auth/login", json={"username": user.username, "password": user.password})
    assert cookie.cookies.get(SESSION_COOKIE)
    clients["cookie"] = cookie
    for method, path in routes:
        # Changes only as the anonymous and the cookie user without a CSRF token: both are
        # refused, so the crawl changes nothing it later reads.
        who = clients if method == "GET" else {k: clients[k] for k in ("anonymous", "cookie")}
        for role, client in who.items():
            answer = client.request(method, path, follow_redirects=False)
            what = f"{method} {path} as {role} ({answer.status_code})"
            assert answer.status_code < 500, what
            assert_secured(answer, what)
            assert answer.headers.get("cache-control") == "no-store", what
            if method != "GET" and not path.endswith("/logout"):  # signing out always works
                # Refused; dashboard pages send a browser without a session to sign in (303).
                assert answer.status_code in (303, 401, 403, 404, 405, 422), what


def test_unknown_paths_and_static_files_carry_the_headers_too(app: FastAPI) -> None:
    client = make_client(app)
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert_secured(missing, "unknown path")
    wrong_method = client.put("/api/v1/auth/me")
    assert wrong_method.status_code == 405
    assert_secured(wrong_method, "wrong method")
    static = next(p for p in STATIC_DIR.rglob("*") if p.is_file())
    asset = client.get("/static/" + static.relative_to(STATIC_DIR).as_posix())
    assert asset.status_code == 200
    assert_secured(asset, "static file")
    assert asset.headers.get("cache-control") != "no-store"  # assets may be cached


def test_hsts_is_sent_only_when_cookies_are_secure(world: World) -> None:
    secure = make_client(create_app(world.settings())).get("/api/v1/auth/me")
    plain = make_client(create_app(world.settings(cookie_secure=False))).get("/api/v1/auth/me")
    assert secure.headers["strict-transport-security"].startswith("max-age=")
    assert "strict-transport-security" not in plain.headers


# --- body size ---------------------------------------------------------------------------


def test_a_declared_oversized_body_is_refused_with_413(app: FastAPI, world: World) -> None:
    admin = make_client(app, world.users["agency_admin"].token)
    big = {"username": "bulky", "display_name": "x" * (1024 * 1024)}
    answer = admin.post("/api/v1/users", json=big)
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert_secured(answer, "413")
    assert admin.get("/api/v1/users/bulky").status_code == 404


def test_uploads_have_their_own_limit(world: World) -> None:
    app = create_app(world.settings(upload_body_max_bytes=4096))
    client = make_client(app, world.users["employee"].token)
    files = {"document": ("note.pdf", b"%PDF-1.4 " + b"0" * 8192, "application/pdf")}
    answer = client.post("/api/v1/auth/logout", files=files)
    assert answer.status_code == 413
    small = {"document": ("note.pdf", b"%PDF-1.4 tiny", "application/pdf")}
    assert client.post("/api/v1/auth/logout", files=small).status_code == 204


class CountingApp:
    """Counts the body bytes the server hands to the application."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.received = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counting() -> Message:
            message = await receive()
            self.received += len(message.get("body", b""))
            return message

        await self.app(scope, counting, send)


def _status_line(sock: socket.socket) -> str:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode()


def _request_head(host: str, extra: str) -> bytes:
    return (
        f"POST /api/v1/auth/login HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Type: application/json\r\n{extra}\r\n"
    ).encode()


@pytest.mark.slow
def test_a_streamed_body_is_cut_off_at_the_limit_over_the_network(world: World) -> None:
    limit = 256 * 1024
    counting = CountingApp(create_app(world.settings(request_body_max_bytes=limit)))
    with serving(counting) as base_url:
        address = urlsplit(base_url)
        host, port = address.hostname or "", address.port or 0

        # Declared too large: refused before any of the body is read.
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(_request_head(host, "Content-Length: 10000000000\r\n"))
            assert _status_line(sock).startswith("HTTP/1.1 413")
        assert counting.received == 0

        # Chunked, no length: refused once the limit is passed, while the client is
        # still sending (it would go on for 64 MiB).
        chunk = b"7" * 65536
        sent = 0
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(_request_head(host, "Transfer-Encoding: chunked\r\n"))
            try:
                while sent < 64 * 1024 * 1024:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
                    if select.select([sock], [], [], 0)[0]:
                        break
            except (BrokenPipeError, ConnectionResetError):
                pass
            assert _status_line(sock).startswith("HTTP/1.1 413")
        assert sent < 64 * 1024 * 1024
        assert limit < counting.received <= limit + 1024 * 1024


# --- bad input -----------------------------------------------------------------------


def test_malformed_json_is_a_422_problem(client_for: Any) -> None:
    admin: TestClient = client_for("agency_admin")
    answer = admin.post(
        "/api/v1/users", content=b'{"username": ', headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert set(body) >= {"type", "title", "status", "detail", "instance"}
    assert body["errors"]


def test_wrong_types_are_a_422_that_does_not_echo_the_values(client_for: Any) -> None:
    client: TestClient = client_for("anonymous")
    canary = "canary-password-8c1f"
    answer = client.post("/api/v1/auth/login", json={"username": 5, "password": [canary]})
    assert answer.status_code == 422
    assert canary not in answer.text
    locations = [tuple(e["loc"]) for e in answer.json()["errors"]]
    assert ("body", "username") in locations and ("body", "password") in locations


def test_unknown_fields_are_refused_and_nothing_is_created(client_for: Any) -> None:
    admin: TestClient = client_for("agency_admin")
    answer = admin.post("/api/v1/users", json={"username": "sneaky", "is_admin": True})
    assert answer.status_code == 422
    assert admin.get("/api/v1/users/sneaky").status_code == 404


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=501", "offset=-1", "limit=ten", "limit=5&limit=6"]
)
def test_bad_paging_parameters_are_a_422(client_for: Any, query: str) -> None:
    answer = client_for("agency_admin").get(f"/api/v1/users?{query}")
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"


def test_a_body_that_is_not_utf8_is_a_422(client_for: Any) -> None:
    answer = client_for("anonymous").post(
        "/api/v1/auth/login", content=b"\xff\xfe{", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422


# --- not found and out of scope ------------------------------------------------------


def _same_apart_from(answer: Any, *names: str) -> dict[str, Any]:
    """The problem body with the id that was asked for and ``instance`` blanked out."""
    body: dict[str, Any] = answer.json()
    text = json.dumps({k: v for k, v in body.items() if k != "instance"})
    for name in names:
        text = text.replace(name, "<id>")
    return {"status": answer.status_code, **json.loads(text)}


def test_an_out_of_scope_account_reads_exactly_like_a_missing_one(
    app: FastAPI, world: World
) -> None:
    engine = app.state.runtime.engine
    with engine.connect() as conn:
        admin = accounts.load_actor(conn, "admin")
    accounts.create_user(
        engine, admin, "admin-a", grants=[Grant(Role.AGENCY_ADMIN, "COMP-A")], employee_id="W2"
    )
    scoped = tokens.create_token(
        engine, admin, "admin-a", "t", days=1, settings=app.state.runtime.settings
    )
    client = make_client(app, scoped.secret)
    assert client.get("/api/v1/users/w1").status_code == 200  # in COMP-A
    outside = client.get("/api/v1/users/b1")  # in COMP-B
    missing = client.get("/api/v1/users/zz9")
    assert outside.status_code == 404
    assert _same_apart_from(outside, "b1") == _same_apart_from(missing, "zz9")
    locked = client.post("/api/v1/users/b1/lock")
    assert locked.status_code == 404
    assert _same_apart_from(locked, "b1") == _same_apart_from(
        client.post("/api/v1/users/zz9/lock"), "zz9"
    )


def test_someone_elses_token_reads_exactly_like_a_missing_one(
    app: FastAPI, client_for: Any, world: World
) -> None:
    other = client_for("other_employee")
    theirs = other.post("/api/v1/users/b1/tokens", json={"name": "mine", "days": 1}).json()
    me = client_for("employee")
    stolen = me.delete(f"/api/v1/tokens/{theirs['id']}")
    missing = me.delete("/api/v1/tokens/999999")
    assert stolen.status_code == missing.status_code == 404
    assert _same_apart_from(stolen, str(theirs["id"])) == _same_apart_from(missing, "999999")
    assert make_client(app, theirs["secret"]).get("/api/v1/auth/me").status_code == 200


# --- server errors -----------------------------------------------------------------------


def _boom() -> None:
    raise RuntimeError("SELECT password FROM app_user -- /srv/dutystation/secret.sqlite3")


def _busy() -> None:
    raise StoreError("the database is busy with another write; try again in a moment")


def _broken_store() -> None:
    raise StoreError("office 'HQ' of employee E123 is recorded with two time zones")


def test_a_bug_answers_500_with_a_correlation_id_and_nothing_else(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    app.add_api_route("/api/v1/test-only/boom", _boom)  # added by the test, not the product
    with caplog.at_level(logging.ERROR, logger="dutystation.api"):
        answer = make_client(app).get("/api/v1/test-only/boom")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert_secured(answer, "500")
    body = answer.json()
    correlation = body["correlation_id"]
    assert UUID.fullmatch(correlation)
    assert body["instance"] == f"urn:uuid:{correlation}"
    for leak in ("SELECT", "password", "/srv", "sqlite", "RuntimeError", "Traceback"):
        assert leak not in answer.text
    assert correlation in caplog.text  # the log has it, with the traceback


def test_a_busy_store_answers_503_with_retry_after(app: FastAPI) -> None:
    app.add_api_route("/api/v1/test-only/busy", _busy)
    answer = make_client(app).get("/api/v1/test-only/busy")
    assert answer.status_code == 503
    assert int(answer.headers["retry-after"]) > 0
    assert answer.json()["detail"].startswith("the database is busy")


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_error_of_the_tree_has_its_own_status() -> None:
    for cls in _subclasses(errors.DutystationError):
        status, code = status_of(cls.__new__(cls))
        if issubclass(cls, errors.StoreError):  # the server's side: busy, full, damaged
            assert status in (503, 507) and code, cls.__name__
        else:
            assert status < 500 and code, cls.__name__


def test_a_refused_file_is_named_without_its_folder(app: FastAPI) -> None:
    def refuse() -> None:
        where = errors.Location(Path("/srv/dutystation/tmp/upload-1/roster.csv"), 3, "org_unit")
        raise errors.InputFileError(where, "no such column")

    app.add_api_route("/api/v1/test-only/refuse", refuse)
    answer = make_client(app).get("/api/v1/test-only/refuse")
    assert answer.status_code == 422
    assert answer.json()["detail"] == "roster.csv, line 3, column 'org_unit': no such column"


def test_other_store_errors_answer_500_without_their_message(app: FastAPI) -> None:
    app.add_api_route("/api/v1/test-only/store", _broken_store)
    answer = make_client(app).get("/api/v1/test-only/store")
    assert answer.status_code == 500
    assert "E123" not in answer.text and "HQ" not in answer.text
    assert UUID.fullmatch(answer.json()["correlation_id"])
