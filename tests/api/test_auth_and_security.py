"""Signing in and out, the session cookie, CSRF, API tokens and the login rate limit
(RELIABILITY T12): what a browser or a script relies on, and what an attacker must not
get."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api_world import World, make_client
from dutystation.api.app import create_app
from dutystation.api.deps import SESSION_COOKIE
from dutystation.services import accounts, tokens
from dutystation.store.schema_access import ApiToken

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"
LOGOUT = "/api/v1/auth/logout"


def sign_in(client: TestClient, world: World, key: str) -> str:
    """Sign ``key`` in on ``client`` (which then holds the cookie); returns the CSRF token."""
    user = world.users[key]
    answer = client.post(LOGIN, json={"username": user.username, "password": user.password})
    assert answer.status_code == 200, answer.text
    csrf: str = answer.json()["csrf_token"]
    return csrf


def token_count(app: FastAPI, username: str) -> int:
    engine = app.state.runtime.engine
    with engine.connect() as conn:
        user = accounts.load_actor(conn, username)
        return int(
            conn.scalar(
                select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user.user_id)
            )
            or 0
        )


def test_login_sets_a_hardened_cookie_and_answers_the_csrf_token(
    app: FastAPI, world: World
) -> None:
    client = make_client(app)
    user = world.users["supervisor"]
    answer = client.post(LOGIN, json={"username": user.username, "password": user.password})
    assert answer.status_code == 200
    body = answer.json()
    assert body["username"] == "mgr1"
    assert {g["role"] for g in body["roles"]} == {"employee", "supervisor"}
    assert len(body["csrf_token"]) >= 40
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= flags
    assert any(flag.startswith("expires=") for flag in flags)

    me = client.get(ME)
    assert me.status_code == 200
    assert me.json()["username"] == "mgr1"
    assert me.json()["employee_linked"] is True


def test_cookie_flags_follow_the_settings(world: World) -> None:
    app = create_app(world.settings(cookie_secure=False, session_cookie_samesite="strict"))
    client = make_client(app)
    user = world.users["employee"]
    answer = client.post(LOGIN, json={"username": user.username, "password": user.password})
    flags = {part.strip().lower() for part in answer.headers["set-cookie"].split(";")}
    assert "secure" not in flags
    assert {"httponly", "samesite=strict"} <= flags


def test_wrong_password_and_unknown_user_answer_the_same_and_set_no_cookie(
    app: FastAPI,
) -> None:
    client = make_client(app)
    wrong = client.post(LOGIN, json={"username": "w1", "password": "not-the-password-at-all"})
    unknown = client.post(LOGIN, json={"username": "nobody", "password": "whatever-it-is-1"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json() == unknown.json()
    assert "set-cookie" not in wrong.headers
    assert client.get(ME).status_code == 401


def test_repeated_failures_lock_the_account_even_for_the_right_password(world: World) -> None:
    app = create_app(world.settings(login_max_failures=3))
    client = make_client(app)
    user = world.users["employee"]
    for _ in range(3):
        bad = client.post(LOGIN, json={"username": user.username, "password": "wrong-password-x"})
        assert bad.status_code == 401
    locked = client.post(LOGIN, json={"username": user.username, "password": user.password})
    assert locked.status_code == 401
    assert locked.json()["detail"] == bad.json()["detail"]  # says nothing about the lock


def test_login_rate_limit_answers_429_with_retry_after(world: World) -> None:
    app = create_app(world.settings(login_rate_per_minute=3, login_rate_per_address_per_minute=5))
    client = make_client(app)
    user = world.users["employee"]
    answers = [
        client.post(LOGIN, json={"username": user.username, "password": user.password})
        for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    limited = answers[-1]
    assert limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert "set-cookie" not in limited.headers
    # Other usernames from the same address are limited too once its bucket is empty.
    other = world.users["supervisor"]
    codes = [
        client.post(LOGIN, json={"username": other.username, "password": "x"}).status_code
        for _ in range(2)
    ]
    assert codes == [401, 429]


def test_logout_ends_the_session_and_clears_the_cookie(app: FastAPI, world: World) -> None:
    client = make_client(app)
    csrf = sign_in(client, world, "employee")
    stolen = client.cookies.get(SESSION_COOKIE)
    answer = client.post(LOGOUT, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 204
    assert 'dutystation_session=""' in answer.headers["set-cookie"]
    assert client.get(ME).status_code == 401
    # A copy of the cookie taken before signing out no longer works either.
    replay = make_client(app)
    replay.cookies.set(SESSION_COOKIE, stolen or "")
    assert replay.get(ME).status_code == 401


def test_cookie_authenticated_changes_need_the_sessions_csrf_token(
    app: FastAPI, world: World
) -> None:
    client = make_client(app)
    csrf = sign_in(client, world, "employee")
    url = "/api/v1/users/w1/tokens"
    body = {"name": "laptop", "days": 5}
    before = token_count(app, "w1")

    missing = client.post(url, json=body)
    wrong = client.post(url, json=body, headers={"X-CSRF-Token": "x" * 43})
    assert missing.status_code == wrong.status_code == 403
    assert missing.headers["content-type"] == "application/problem+json"
    assert token_count(app, "w1") == before

    right = client.post(url, json=body, headers={"X-CSRF-Token": csrf})
    assert right.status_code == 201
    assert token_count(app, "w1") == before + 1


def test_a_csrf_token_replayed_after_logout_is_refused(app: FastAPI, world: World) -> None:
    client = make_client(app)
    old_csrf = sign_in(client, world, "employee")
    old_cookie = client.cookies.get(SESSION_COOKIE)
    assert client.post(LOGOUT, headers={"X-CSRF-Token": old_csrf}).status_code == 204
    url, body = "/api/v1/users/w1/tokens", {"name": "replayed", "days": 5}
    before = token_count(app, "w1")

    sign_in(client, world, "employee")  # a new session, with a new CSRF token
    assert client.post(url, json=body, headers={"X-CSRF-Token": old_csrf}).status_code == 403

    stale = make_client(app)  # the old cookie with its own old token: the session is over
    stale.cookies.set(SESSION_COOKIE, old_cookie or "")
    assert stale.post(url, json=body, headers={"X-CSRF-Token": old_csrf}).status_code == 401
    assert token_count(app, "w1") == before


def test_a_form_field_carries_the_csrf_token_too(app: FastAPI, world: World) -> None:
    client = make_client(app)
    csrf = sign_in(client, world, "employee")
    assert client.post(LOGOUT, data={"csrf_token": "wrong"}).status_code == 403
    assert client.post(LOGOUT, data={"csrf_token": csrf}).status_code == 204


def test_bearer_token_requests_need_no_csrf_token(app: FastAPI, world: World) -> None:
    client = make_client(app, world.users["employee"].token)
    before = token_count(app, "w1")
    answer = client.post("/api/v1/users/w1/tokens", json={"name": "script", "days": 5})
    assert answer.status_code == 201
    new = answer.json()
    assert new["secret"].startswith("dst_") and new["prefix"] == new["secret"][:12]
    assert token_count(app, "w1") == before + 1
    # The new token works on its own, and its secret is never shown again.
    listed = make_client(app, new["secret"]).get("/api/v1/users/w1/tokens").json()
    assert new["secret"] not in str(listed)


@pytest.mark.parametrize("how", ["revoked", "expired", "unknown", "malformed"])
def test_tokens_that_are_not_valid_answer_401(app: FastAPI, world: World, how: str) -> None:
    engine = app.state.runtime.engine
    settings = app.state.runtime.settings
    with engine.connect() as conn:
        actor = accounts.load_actor(conn, "w1")
    if how == "revoked":
        new = tokens.create_token(engine, actor, "w1", "old", days=5, settings=settings)
        tokens.revoke_token(engine, actor, new.id)
        header = f"Bearer {new.secret}"
    elif how == "expired":
        past = datetime.now(UTC) - timedelta(days=10)
        new = tokens.create_token(engine, actor, "w1", "old", days=5, settings=settings, now=past)
        header = f"Bearer {new.secret}"
    elif how == "unknown":
        header = "Bearer dst_" + "A" * 43
    else:
        header = "Basic dzE6cGFzc3dvcmQ="
    answer = make_client(app).get(ME, headers={"Authorization": header})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.json()["title"] == "Not authenticated"


def test_revoking_a_token_over_the_api_ends_it_at_once(app: FastAPI, world: World) -> None:
    owner = make_client(app, world.users["employee"].token)
    made = owner.post("/api/v1/users/w1/tokens", json={"name": "ci", "days": 5}).json()
    other = make_client(app, made["secret"])
    assert other.get(ME).status_code == 200
    revoked = owner.delete(f"/api/v1/tokens/{made['id']}")
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked"
    assert other.get(ME).status_code == 401


def test_a_role_taken_away_is_gone_on_the_next_request(app: FastAPI, world: World) -> None:
    admin = make_client(app, world.users["agency_admin"].token)
    auditor = make_client(app)
    csrf = sign_in(auditor, world, "auditor")
    assert auditor.get("/api/v1/audit/verify").status_code == 200
    taken = admin.delete("/api/v1/users/auditor/grants/auditor")
    assert taken.status_code == 200
    # Changing roles ends the user's sessions: the cookie is refused from now on.
    assert auditor.get("/api/v1/audit/verify").status_code == 401
    assert auditor.post(LOGOUT, headers={"X-CSRF-Token": csrf}).status_code == 204
