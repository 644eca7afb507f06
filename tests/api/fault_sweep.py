"""How the fail-closed tests (RELIABILITY T11, test_fail_closed.py) call every route of the
app under a fault and judge the answers: the callers (every role by API token and by a
browser session signed in before the fault, and anonymous), the sweep, what no answer may
carry, and a tiny disk to fill.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from route_answers import app_routes

from api_world import ROLES, World, make_client, password_of
from dutystation.api.deps import SESSION_COOKIE
from dutystation.web.auth import CSRF_COOKIE

# Routes that answer without reading anything stored, whoever asks: the OpenAPI
# document, the static files, the sign-in page and signing out (which ends what it can).
PUBLIC = {
    "GET /api/v1/openapi.json",
    "GET /static/{path}",
    "GET /login",
    "POST /logout",
    "POST /api/v1/auth/logout",
}
# What no answer may carry: tracebacks, SQL, driver and module names, server folders.
LEAKS = re.compile(
    r"Traceback|File \"|\.py\b|sqlalchemy|psycopg|sqlite3|OperationalError|DatabaseError|"
    r"IntegrityError|\bSELECT\b|\bINSERT INTO\b|\bUPDATE \w+ SET\b|\bDELETE FROM\b|"
    r"/tmp/|/work/|/srv/|/home/|/root/|dutystation_test_|127\.0\.0\.1:\d+",
)
PLACEHOLDERS = {
    "username": "w1",
    "token_id": "1",
    "role": "employee",
    "request_id": "1",
    "position": "1",
    "code": "EEU-L1-2023",
    "ref": "Art. 31",
    "grievance_id": "1",
    "notice_id": "1",
    "directive_ref": "TEST-RTO@1",
    "plan_id": "1",
    "employee_id": "W1",
    "path": "css/dashboard.css",
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    def url(self) -> str:
        def fill(match: re.Match[str]) -> str:
            key = match.group(1)
            if key == "kind":
                return "roster" if "/imports/" in self.path else "onsite-share"
            return PLACEHOLDERS[key]

        return re.sub(r"{(\w+)(?::\w+)?}", fill, self.path)


def routes_of(app: FastAPI) -> list[Route]:
    """Every route of the app, API and dashboard (as the route matrix lists them)."""
    return [Route(*name.split(" ", 1)) for name in app_routes(app)]


@dataclass
class Callers:
    """Clients of one app: ``api[role]`` (bearer token), ``page[role]`` (a browser signed in
    before the fault) and ``anonymous``; ``csrf[role]`` for the forms."""

    api: dict[str, TestClient]
    page: dict[str, TestClient]
    csrf: dict[str, str]
    anonymous: TestClient
    usernames: dict[str, str]

    def close(self) -> None:
        for client in [*self.api.values(), *self.page.values(), self.anonymous]:
            client.close()


def callers(app: FastAPI, world: World, *, sign_in: bool = True) -> Callers:
    api, page, csrf = {}, {}, {}
    for role in ROLES:
        user = world.users[role]
        api[role] = make_client(app, user.token)
        if sign_in:
            browser = make_client(app)
            done = browser.post(
                "/login",
                data={"username": user.username, "password": password_of(user.username)},
                follow_redirects=False,
            )
            assert done.status_code == 303, done.text
            page[role] = browser
            csrf[role] = browser.cookies[CSRF_COOKIE]
            assert browser.cookies[SESSION_COOKIE]
    usernames = {role: world.users[role].username for role in ROLES}
    return Callers(api, page, csrf, make_client(app), usernames)


def send(
    client: TestClient, route: Route, csrf: str | None, username: str | None = None
) -> Response:
    """The route with an empty body, except sign-in: with the caller's right password."""
    page = not route.path.startswith("/api/")
    kwargs: dict[str, Any] = {"follow_redirects": False}
    if route.name in ("POST /login", "POST /api/v1/auth/login") and username:
        signing_in = {"username": username, "password": password_of(username)}
        kwargs["data" if page else "json"] = signing_in
    elif route.method in ("POST", "PUT", "PATCH", "DELETE"):
        if page:
            kwargs["data"] = {"csrf_token": csrf or ""}
        elif route.method != "DELETE":
            kwargs["json"] = {}
    return client.request(route.method, route.url(), **kwargs)


def judge(
    answer: Response,
    where: str,
    route: Route,
    extra_leaks: tuple[str, ...] = (),
    *,
    content: bool = False,
) -> list[str]:
    """What is wrong with one answer under a fault; ``content``: answers with content are
    allowed (a fault that leaves some routes working)."""
    wrong = []
    request_id = answer.headers.get("x-request-id")
    if not request_id:
        wrong.append(f"{where}: no X-Request-ID")
    status = answer.status_code
    kind = answer.headers.get("content-type", "")
    if status >= 500:
        if "json" in kind:
            body = answer.json()
            if body.get("correlation_id") != request_id:
                wrong.append(f"{where}: {status} without the request id as correlation_id")
        elif not request_id:
            wrong.append(f"{where}: {status} without a correlation id")
        elif "html" in kind and request_id not in answer.text:
            wrong.append(f"{where}: {status} page that does not show its correlation id")
    found = LEAKS.search(answer.text)
    if found:
        wrong.append(f"{where}: {status} carries {found.group(0)!r}: {answer.text[:200]}")
    wrong += [f"{where}: carries {leak!r}" for leak in extra_leaks if leak in answer.text]
    to_login = answer.headers.get("location", "").startswith("/login")
    has_content = 200 <= status < 300 or (300 <= status < 400 and not to_login)
    if has_content and not content and route.name not in PUBLIC:
        wrong.append(f"{where}: {status} with content while the store or policy fails")
    return wrong


def sweep(
    app: FastAPI, who: Callers, extra_leaks: tuple[str, ...] = (), *, content: bool = False
) -> tuple[list[str], list[Response]]:
    """Every route as every caller; the problems found and the 5xx answers."""
    problems: list[str] = []
    errors: list[Response] = []
    for route in routes_of(app):
        page = not route.path.startswith("/api/")
        pairs: list[tuple[str, TestClient]] = [("anonymous", who.anonymous)]
        pairs += list((who.page if page else who.api).items())
        for key, client in pairs:
            answer = send(client, route, who.csrf.get(key), who.usernames.get(key))
            where = f"{route.name} as {key}"
            problems += judge(answer, where, route, extra_leaks, content=content)
            if answer.status_code >= 500:
                errors.append(answer)
    return problems, errors


def logged_ids(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("dutystation"))


def assert_logged(errors: list[Response], caplog: pytest.LogCaptureFixture) -> None:
    """Every 5xx's id is in the log; the log's tracebacks carry no bound values (C9)."""
    log = logged_ids(caplog)
    missing = [a.headers["x-request-id"] for a in errors if a.headers["x-request-id"] not in log]
    assert not missing, f"{len(missing)} 5xx answers whose id the log does not have"
    logged = caplog.text
    assert "[parameters:" not in logged, logged[logged.index("[parameters:") - 300 :][:600]


@contextlib.contextmanager
def tiny_disk(folder: Path, size_mib: int) -> Iterator[Path]:
    """A tmpfs of ``size_mib`` at ``folder``; skips the test where it cannot be mounted."""
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"a tmpfs cannot be mounted here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """A file that takes every byte left, down to the last one."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (65536, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * chunk):
                    pass
    finally:
        os.close(fd)
    return filler
