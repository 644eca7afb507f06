"""Signing in and out of the dashboard, and the form token, over HTTP (no browser needed):
what a person sees when the password is wrong, when the account locks, when they try too
fast; that forms without the session's token change nothing; that pages without a session
send people to sign in and bring them back, to this site only."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from api_world import World, make_client
from dutystation.api.app import create_app
from dutystation.api.deps import SESSION_COOKIE
from dutystation.settings import Settings
from dutystation.web.auth import CSRF_COOKIE
from dutystation.web.session_pages import first_page


def _client(settings: Settings) -> TestClient:
    """A browser-like client that shows redirects instead of following them."""
    client = make_client(create_app(settings))
    client.follow_redirects = False
    return client


TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _signed_in(client: TestClient, world: World, key: str) -> str:
    """Sign in through the form; returns the page's form token."""
    user = world.users[key]
    answer = client.post(
        "/login", data={"username": user.username, "password": user.password, "next": "/"}
    )
    assert answer.status_code == 303
    page = client.get("/me" if user.employee_id else "/audit")
    found = TOKEN.search(page.text)
    assert found is not None
    return found.group(1)


def test_signing_in_sets_httponly_samesite_secure_cookies_and_lands_on_the_role_page(
    world: World,
) -> None:
    with _client(world.settings()) as client:
        user = world.users["supervisor"]
        answer = client.post("/login", data={"username": user.username, "password": user.password})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/queue"
        cookies = answer.headers.get_list("set-cookie")
        for name in (SESSION_COOKIE, CSRF_COOKIE):
            (cookie,) = [c for c in cookies if c.startswith(name + "=")]
            assert "HttpOnly" in cookie and "Secure" in cookie
            assert "samesite=lax" in cookie.lower()
        page = client.get("/queue")
        assert page.status_code == 200
        assert "Signed in as <strong>mgr1</strong>" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert "default-src 'self'" in page.headers["content-security-policy"]


def test_a_wrong_password_answers_one_sentence_and_a_locked_account_the_same(
    world: World,
) -> None:
    settings = world.settings(login_max_failures=2)
    with _client(settings) as client:
        user = world.users["employee"]
        sentences = set()
        for _ in range(3):
            answer = client.post("/login", data={"username": user.username, "password": "no"})
            assert answer.status_code == 401
            sentences.add(re.search(r'role="alert"[^>]*>([^<]+)<', answer.text).group(1))  # type: ignore[union-attr]
        # The account is locked now: even the right password is refused, in the same words.
        answer = client.post("/login", data={"username": user.username, "password": user.password})
        assert answer.status_code == 401
        assert re.search(r'role="alert"[^>]*>([^<]+)<', answer.text).group(1) in sentences  # type: ignore[union-attr]
        assert len(sentences) == 1
        assert "the account is locked" in sentences.pop()
        assert 'value="w1"' in answer.text  # the username stays, the password does not


def test_too_many_attempts_are_slowed_down_with_retry_after(world: World) -> None:
    settings = world.settings(login_rate_per_minute=2)
    with _client(settings) as client:
        for _ in range(2):
            client.post("/login", data={"username": "w1", "password": "wrong"})
        answer = client.post("/login", data={"username": "w1", "password": "wrong"})
        assert answer.status_code == 429
        assert int(answer.headers["retry-after"]) > 0
        assert "Too many sign-in attempts" in answer.text


def test_a_form_without_the_session_token_changes_nothing(world: World) -> None:
    with _client(world.settings()) as client:
        token = _signed_in(client, world, "employee")
        filed = {"category": "compelling_reason", "start": "2025-03-03", "end": "2025-03-07"}
        filed["justification"] = "Moving house."
        for sent in ({}, {"csrf_token": "forged"}):
            answer = client.post("/me/requests", data={**filed, **sent})
            assert answer.status_code == 403
            assert "the form has expired" in answer.text.lower()
        assert "You have filed no request." in client.get("/me").text
        answer = client.post("/logout", data={"csrf_token": "forged"})
        assert answer.status_code == 403
        assert client.get("/me").status_code == 200  # still signed in
        answer = client.post("/logout", data={"csrf_token": token})
        assert answer.status_code == 303
        assert client.get("/me").status_code == 303  # signed out: to the sign-in page


def test_pages_without_a_session_send_people_to_sign_in_and_back_to_this_site_only(
    world: World,
) -> None:
    with _client(world.settings()) as client:
        answer = client.get("/queue?status=all")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=/queue%3Fstatus%3Dall"
        answer = client.get("/queue", headers={"HX-Request": "true"})
        assert answer.headers["hx-redirect"] == "/login?next=/queue"
        user = world.users["employee"]
        for target, lands in (("/queue", "/queue"), ("//evil.example/x", "/me")):
            client.cookies.clear()
            answer = client.post(
                "/login",
                data={"username": user.username, "password": user.password, "next": target},
            )
            assert answer.headers["location"] == lands


def test_each_role_starts_on_the_page_it_needs(world: World) -> None:
    from dutystation.domain.access import Actor

    starts = {
        key: first_page(Actor(1, user.username, user.grants, 1 if user.employee_id else None))
        for key, user in world.users.items()
    }
    assert starts["employee"] == "/me"
    assert starts["supervisor"] == "/queue"
    assert starts["leader"] == "/overview"
    assert starts["tmo"] == "/overview"
    assert starts["auditor"] == "/overview"
    assert starts["ra_coordinator"] == "/queue"
