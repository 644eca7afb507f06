"""RELIABILITY T12 ``session_and_csrf``, the parts tests/api/test_auth_and_security.py and
tests/web/test_session_pages.py do not cover already (cookie flags of both sign-ins, a
missing or forged token on one form and one API call, the 429 rate limit, a role taken away
ending API sessions):

- every state-changing route that a browser session may call (each dashboard form and
  each cookie-authenticated API write, from ``app.routes``) refuses a request without the
  session's CSRF token, with a forged one, with a stale one (the same user's earlier,
  signed-out session), with a replayed one (another user's live session), and a signed-out
  session with its own old token; each refusal leaves every table as it was (the audit
  trail aside). The same request with the right token then succeeds: the refusals were
  about the token alone;
- an account locks after exactly the configured number of failed sign-ins in a row, on
  the API and on the dashboard: one failure fewer and the right password still works;
- a role or a scope taken away mid-session counts from the next request: a grant revoked
  sends the dashboard session to the sign-in page and an already rendered form changes
  nothing; a report moved to another supervisor on the roster is "not found" to the old
  supervisor at once, in the same session.

Pass figures: 0 state changes without a valid token; cookies ``Secure; HttpOnly;
SameSite``; lockout after N (config) failures; downgrade effective on the next request.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from matrix_world import ALL_PEOPLE, BARGAINING, Server, matrix_world, server
from route_answers import (
    FULL,
    RELATIONS_OF,
    Call,
    app_routes,
    caller_of,
    load_table,
    object_id,
    outcome,
)
from route_recipes import RECIPES
from sqlalchemy import Engine, func, inspect, select, text

from api_world import World, make_client
from dutystation.api.app import create_app
from dutystation.api.deps import CSRF_HEADER, SESSION_COOKIE
from dutystation.bootstrap import bootstrap
from dutystation.ingest.fields import ImportKind
from dutystation.services.importing import run_import
from dutystation.store.schema_audit import AuditRecord
from dutystation.web.auth import CSRF_COOKIE

__all__ = ["matrix_world", "server"]

API = "/api/v1"
CHANGING = ("POST", "PUT", "PATCH", "DELETE")
SIGN_IN = {f"POST {API}/auth/login", "POST /login"}
# Tables whose rows are the application's state; the trail records refusals and the
# session table notes when a session was last seen, neither of which is a change.
NOT_STATE = {"audit_record"}
VOLATILE_COLUMNS = {"user_session": {"last_seen_at"}}
FORGED = "f" * 43
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
]


def state_digest(engine: Engine) -> str:
    """A hash of every row of every table of state (order-independent)."""
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in sorted(set(inspect(conn).get_table_names()) - NOT_STATE):
            columns = [c["name"] for c in inspect(conn).get_columns(table)]
            kept = [c for c in columns if c not in VOLATILE_COLUMNS.get(table, set())]
            listed = ", ".join(f'"{c}"' for c in kept)
            rows = sorted(
                repr(tuple(r)) for r in conn.execute(text(f'SELECT {listed} FROM "{table}"'))
            )
            digest.update(f"{table}:{len(rows)}:{rows}".encode())
    return digest.hexdigest()


def allowed_records(engine: Engine) -> int:
    with engine.connect() as conn:
        query = (
            select(func.count()).select_from(AuditRecord).where(AuditRecord.outcome == "allowed")
        )
        return int(conn.scalar(query) or 0)


def sign_in(server: Server, username: str, password: str) -> tuple[TestClient, str, str]:
    """A new browser session: the client, its session secret and its CSRF token."""
    assert server.app is not None
    client = make_client(server.app)
    answer = client.post(f"{API}/auth/login", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return client, client.cookies[SESSION_COOKIE], answer.json()["csrf_token"]


def first_allowed(server: Server, route: str) -> tuple[str, Call] | None:
    """The role and the request of the first call the table allows on ``route``."""
    for case in load_table()[route]:
        kind = case["object"]
        ok = case.get("ok", [])
        for key in sorted(ok):
            relations = ("none",) if kind == "none" else ok[key]
            for relation in relations:
                if relation not in RELATIONS_OF.get(kind, FULL):
                    continue
                caller = caller_of(server.world, key)
                value = "" if kind == "none" else object_id(server.world, kind, relation, caller)
                if value is not None:
                    return key, RECIPES[(route, kind)](caller, value)
    return None


def with_token(call: Call, token: str | None) -> dict[str, Any]:
    """The request's arguments with ``token`` as its CSRF token (none: without one): in the
    form field of a dashboard form, in the header of an API call."""
    data = dict(call.data) if call.data is not None else None
    headers: dict[str, str] = {}
    if call.page:
        data = {k: v for k, v in (data or {}).items() if k != "csrf_token"}
        if token is not None:
            data["csrf_token"] = token
    elif token is not None:
        headers[CSRF_HEADER] = token
    return {
        "params": call.params,
        "json": call.json,
        "data": data,
        "files": call.files,
        "headers": headers,
        "follow_redirects": False,
    }


def send_as(client: TestClient, secret: str, call: Call, token: str | None) -> Any:
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, secret)
    return client.request(call.method, call.url, **with_token(call, token))


@pytest.mark.slow
def test_no_browser_write_changes_anything_without_the_sessions_token(server: Server) -> None:
    assert server.app is not None
    routes = [r for r in app_routes(server.app) if r.split()[0] in CHANGING and r not in SIGN_IN]
    failures: list[str] = []
    checked = 0
    for route in routes:
        server.reset()
        found = first_allowed(server, route)
        assert found is not None, f"{route}: the table allows nobody"
        key, call = found
        user = server.world.users[key]
        other = server.world.users["auditor" if key != "auditor" else "hr"]
        engine = server.app.state.runtime.engine
        old_client, old_secret, old_token = sign_in(server, user.username, user.password)
        out = old_client.post(f"{API}/auth/logout", headers={CSRF_HEADER: old_token})
        assert out.status_code == 204
        client, secret, token = sign_in(server, user.username, user.password)
        _, _, other_token = sign_in(server, other.username, other.password)
        variants = [
            ("no token", secret, None, "403"),
            ("an empty token", secret, "", "403"),
            ("a forged token", secret, FORGED, "403"),
            ("a stale token (the user's signed-out session)", secret, old_token, "403"),
            ("a replayed token (another user's live session)", secret, other_token, "403"),
            ("a signed-out session and its own token", old_secret, old_token, "ended"),
        ]
        before = state_digest(engine)
        for label, cookie, sent, want in variants:
            answer = send_as(client, cookie, call, sent)
            got = outcome(answer)
            wanted = {"ended": ("401", "login")}.get(want, (want,))
            if want == "ended" and route == f"POST {API}/auth/logout":
                wanted = ("ok",)  # signing out always answers 204; an ended session stays ended
            if got not in wanted:
                failures.append(f"{route} as {key} with {label}: {got}, expected {wanted}")
            if state_digest(engine) != before:
                failures.append(f"{route} as {key} with {label}: the state changed")
                before = state_digest(engine)
            checked += 1
        recorded = allowed_records(engine)
        answer = send_as(client, secret, call, token)
        if outcome(answer) != "ok" or allowed_records(engine) <= recorded:
            failures.append(
                f"{route} as {key} with the right token: {answer.status_code} {answer.text[:120]}"
            )
    print(f"T12: {checked} refused writes over {len(routes)} routes")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)


@pytest.mark.parametrize("channel", ["api", "web"])
@pytest.mark.parametrize("limit", [1, 3, 5])
def test_an_account_locks_after_exactly_the_configured_number_of_failures(
    world: World, channel: str, limit: int
) -> None:
    app = create_app(world.settings(login_max_failures=limit))
    client = make_client(app)
    user = world.users["employee"]

    def attempt(password: str) -> bool:
        client.cookies.clear()
        if channel == "api":
            body = {"username": user.username, "password": password}
            answer = client.post(f"{API}/auth/login", json=body)
        else:
            form = {"username": user.username, "password": password}
            answer = client.post("/login", data=form, follow_redirects=False)
        assert answer.status_code in (200, 303, 401), answer.text
        if answer.status_code == 401:
            assert "set-cookie" not in answer.headers
            return False
        for name in (SESSION_COOKIE, CSRF_COOKIE) if channel == "web" else (SESSION_COOKIE,):
            (cookie,) = [c for c in answer.headers.get_list("set-cookie") if c.startswith(name)]
            flags = {part.strip().lower().split("=")[0] for part in cookie.split(";")}
            assert {"secure", "httponly", "samesite"} <= flags, cookie
        return True

    for _ in range(limit - 1):
        assert not attempt("not the password at all")
    assert attempt(user.password)  # N - 1 failures: not locked, and the count starts over
    for _ in range(limit):
        assert not attempt("not the password at all")
    assert not attempt(user.password)  # N failures in a row: locked, right password or not
    assert app.state.runtime.settings.login_max_failures == limit


def test_a_role_taken_away_sends_the_dashboard_session_to_sign_in(server: Server) -> None:
    """The supervisor has the certification form of a report's request open; the
    supervisor role is taken away; the form posted with its valid token changes nothing
    and every page asks to sign in again."""
    assert server.app is not None
    engine = server.app.state.runtime.engine
    user = server.world.users["supervisor"]
    browser, secret, token = sign_in(server, user.username, user.password)
    request_id = server.world.submitted["W2"]
    assert browser.get(f"/requests/{request_id}").status_code == 200
    admin = server.client("agency_admin", "api")
    taken = admin.delete(f"{API}/users/{user.username}/grants/supervisor")
    assert taken.status_code == 200, taken.text
    before = state_digest(engine)
    form = {"csrf_token": token, "decision": "approve", "reason": "still open"}
    posted = browser.post(f"/requests/{request_id}/certify", data=form, follow_redirects=False)
    assert outcome(posted) == "login"
    assert state_digest(engine) == before
    assert outcome(browser.get("/queue", follow_redirects=False)) == "login"
    api = browser.post(
        f"{API}/exemptions/{request_id}/certifications",
        json={"decision": "approve", "reason": "still open"},
        headers={CSRF_HEADER: token},
    )
    assert api.status_code == 401
    assert state_digest(engine) == before
    assert secret  # the cookie is still there: the server ended the session


def test_a_report_moved_away_is_out_of_scope_on_the_next_request(
    server: Server, tmp_path: Path
) -> None:
    """W2 moves from MGR1 to MGR2 on today's roster: mgr1's session goes on, but W2's
    request is "not found" to it from the next request, and certifying it changes nothing."""
    assert server.app is not None
    runtime = server.app.state.runtime
    user = server.world.users["supervisor"]
    browser, _, token = sign_in(server, user.username, user.password)
    request_id = server.world.submitted["W2"]
    assert browser.get(f"{API}/exemptions/{request_id}").status_code == 200
    today = date.today().isoformat()
    rows = []
    for p in ALL_PEOPLE:
        boss = "MGR2" if p[0] == "W2" else p[5]
        unit = "EEU-L1" if p[0] in BARGAINING else ""
        rows.append([*p[:5], boss, today, f"{p[0].lower()}@example.gov", unit])
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "\n".join(",".join(r) for r in [ROSTER_HEADER, *rows]) + "\n", encoding="utf-8"
    )
    run_import(bootstrap(runtime.settings), ImportKind.ROSTER, [roster])
    before = state_digest(runtime.engine)
    assert browser.get(f"{API}/exemptions/{request_id}").status_code == 404
    assert browser.get(f"/requests/{request_id}").status_code == 404
    posted = browser.post(
        f"{API}/exemptions/{request_id}/certifications",
        json={"decision": "approve", "reason": "mine no more"},
        headers={CSRF_HEADER: token},
    )
    assert posted.status_code == 404
    assert state_digest(runtime.engine) == before
    assert browser.get(f"{API}/auth/me").status_code == 200  # the session itself goes on
