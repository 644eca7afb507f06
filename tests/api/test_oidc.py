"""Single sign-on against a real OpenID Connect provider (tests/api/oidc_provider.py,
served over HTTP in a thread): the browser's redirects are followed by hand, carrying
cookies, as a browser would.

A user the provider vouches for, who has an active account, is signed in and the session
works; anything the provider's answer does not prove (audience, expiry, signature, nonce,
state), or an account that is unknown, deactivated or locked, is refused with one sentence,
no session, and an audit record."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    Provider,
    SignIn,
    new_provider,
)
from sqlalchemy import select

from api_world import World, free_port, make_client, serving
from dutystation.api.app import create_app
from dutystation.api.deps import SESSION_COOKIE
from dutystation.api.routes import oidc
from dutystation.services import accounts
from dutystation.store.schema_audit import AuditRecord
from dutystation.web.auth import CSRF_COOKIE

LOGIN = "/api/v1/auth/oidc/login"
CALLBACK = "/api/v1/auth/oidc/callback"
ME = "/api/v1/auth/me"


@pytest.fixture(scope="session")
def served_provider() -> Iterator[Provider]:
    provider = new_provider()
    with serving(provider.app) as base_url:
        provider.issuer = base_url
        yield provider


@pytest.fixture
def provider(served_provider: Provider) -> Provider:
    served_provider.reset()
    return served_provider


@pytest.fixture
def sso_app(world: World, provider: Provider) -> Callable[..., FastAPI]:
    """``sso_app(**settings)``: the product app with single sign-on at ``provider``."""

    def build(**overrides: Any) -> FastAPI:
        values: dict[str, Any] = {
            "oidc_issuer": provider.issuer,
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": CLIENT_SECRET,
            **overrides,
        }
        return create_app(world.settings(**values))

    return build


def start(browser: TestClient, query: str = "") -> str:
    """Follow the sign-in to the provider and back; the callback URL the provider sent."""
    begun = browser.get(LOGIN + query, follow_redirects=False)
    assert begun.status_code == 302, begun.text
    assert oidc.FLOW_COOKIE in begun.headers["set-cookie"]
    at_provider = httpx2.get(begun.headers["location"], follow_redirects=False)
    assert at_provider.status_code == 302, at_provider.text
    back = at_provider.headers["location"]
    assert back.startswith("https://testserver" + CALLBACK)
    return back


def sign_in(browser: TestClient, query: str = "") -> httpx2.Response:
    return browser.get(start(browser, query), follow_redirects=False)


def logins(app: FastAPI) -> list[tuple[str, str | None, str | None]]:
    """The audit trail's sign-in records: (outcome, subject, after)."""
    with app.state.runtime.engine.connect() as conn:
        rows = conn.execute(
            select(AuditRecord.outcome, AuditRecord.subject_id, AuditRecord.after)
            .where(AuditRecord.action == "login")
            .order_by(AuditRecord.seq)
        ).all()
    return [(row.outcome, row.subject_id, row.after) for row in rows]


def assert_refused(answer: httpx2.Response, sentence: str, browser: TestClient) -> None:
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"] == sentence
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
    assert browser.get(ME).status_code == 401


def test_a_user_with_an_account_is_signed_in_and_the_session_works(
    sso_app: Callable[..., FastAPI], provider: Provider
) -> None:
    app = sso_app()
    browser = make_client(app)
    answer = sign_in(browser)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(f"{SESSION_COOKIE}="))
    assert "HttpOnly" in session and "Secure" in session and "SameSite=lax" in session
    assert any(c.startswith(f"{CSRF_COOKIE}=") for c in cookies)  # the dashboard's forms
    assert any(c.startswith(f'{oidc.FLOW_COOKIE}=""') for c in cookies)  # flow forgotten
    me = browser.get(ME)
    assert me.status_code == 200
    assert me.json()["username"] == "w1"
    # The provider was asked with state, nonce and an S256 challenge, and the token
    # endpoint (which checks the PKCE verifier) was used once.
    asked = provider.authorize_requests[-1]
    assert asked["code_challenge_method"] == "S256"
    assert asked["state"] and asked["nonce"] and asked["code_challenge"]
    assert asked["scope"] == "openid profile email"
    assert provider.token_requests == 1
    assert logins(app) == [("allowed", "w1", '{"via":"oidc"}')]


def test_the_flow_cookie_is_sealed_short_lived_and_confined_to_the_callback(
    sso_app: Callable[..., FastAPI],
) -> None:
    browser = make_client(sso_app())
    begun = browser.get(LOGIN, follow_redirects=False)
    cookie = begun.headers["set-cookie"]
    assert f"Path={CALLBACK}" in cookie and "HttpOnly" in cookie and "Secure" in cookie
    assert "Max-Age=600" in cookie and "SameSite=lax" in cookie
    asked = parse_qs(urlsplit(begun.headers["location"]).query)
    value = browser.cookies[oidc.FLOW_COOKIE]
    for secret in ("state", "nonce"):
        assert asked[secret][0] not in value  # encrypted, not only signed


def test_a_sign_in_begun_on_one_server_process_can_finish_on_another(
    sso_app: Callable[..., FastAPI],
) -> None:
    # Replicas share the client secret, from which the flow cookie's key is derived.
    browser = make_client(sso_app())
    back = start(browser)
    replica = make_client(sso_app())
    replica.cookies = browser.cookies
    assert replica.get(back, follow_redirects=False).status_code == 303
    assert replica.get(ME).json()["username"] == "w1"


def test_after_sign_in_the_browser_goes_where_it_was_going_on_this_site_only(
    sso_app: Callable[..., FastAPI],
) -> None:
    app = sso_app()
    assert sign_in(make_client(app), "?next=/queue").headers["location"] == "/queue"
    assert sign_in(make_client(app), "?next=//evil.example/x").headers["location"] == "/"


def test_with_strict_cookies_a_page_of_our_own_moves_on(
    sso_app: Callable[..., FastAPI],
) -> None:
    # A Strict cookie set during the provider's cross-site redirect would not be sent on a
    # further redirect; the page's own navigation is same-site.
    browser = make_client(sso_app(session_cookie_samesite="strict"))
    answer = sign_in(browser, "?next=/me")
    assert answer.status_code == 200
    assert '<meta http-equiv="refresh" content="0;url=/me">' in answer.text
    assert browser.get(ME).status_code == 200


def test_a_public_client_without_a_secret_signs_in_with_pkce_alone(
    sso_app: Callable[..., FastAPI], provider: Provider
) -> None:
    provider.client_secret = None
    browser = make_client(sso_app(oidc_client_secret=None, oidc_redirect_url=REDIRECT_URI))
    assert sign_in(browser).status_code == 303
    assert browser.get(ME).json()["username"] == "w1"


def test_a_verified_user_without_an_account_is_refused_and_audited(
    sso_app: Callable[..., FastAPI], provider: Provider
) -> None:
    app = sso_app()
    browser = make_client(app)
    provider.next = SignIn(username="nobody")
    assert_refused(sign_in(browser), oidc.NO_ACCOUNT, browser)
    assert logins(app) == [("denied", None, '{"via":"oidc"}')]


@pytest.mark.parametrize("change", ["deactivate", "lock"])
def test_a_deactivated_or_locked_account_is_refused_and_audited(
    change: str, sso_app: Callable[..., FastAPI], world: World
) -> None:
    app = sso_app()
    engine = app.state.runtime.engine
    with engine.connect() as conn:
        admin = accounts.load_actor(conn, world.users["agency_admin"].username)
    if change == "deactivate":
        accounts.deactivate_user(engine, admin, "w1")
    else:
        accounts.lock_user(engine, admin, "w1", until=datetime.now(UTC) + timedelta(hours=1))
    browser = make_client(app)
    assert_refused(sign_in(browser), oidc.NO_ACCOUNT, browser)
    assert logins(app) == [("denied", "w1", '{"via":"oidc"}')]


SPOILED = {
    "wrong audience": (SignIn(claims={"aud": "another-client"}), "invalid_claim"),
    "no audience": (SignIn(claims={"aud": None}), "missing_claim"),
    "wrong issuer": (SignIn(claims={"iss": "https://impostor.example"}), "invalid_claim"),
    "expired": (
        SignIn(claims={"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}),
        "expired_token",
    ),
    "wrong nonce": (SignIn(claims={"nonce": "not-the-one-sent"}), "invalid_claim"),
    "bad signature": (SignIn(wrong_key=True), "bad_signature"),
}


@pytest.mark.parametrize("case", list(SPOILED))
def test_an_id_token_that_does_not_verify_is_refused_and_audited(
    case: str, sso_app: Callable[..., FastAPI], provider: Provider
) -> None:
    app = sso_app()
    browser = make_client(app)
    provider.next, error = SPOILED[case]
    assert_refused(sign_in(browser), oidc.NOT_VERIFIED, browser)
    [(outcome, subject, after)] = logins(app)
    assert (outcome, subject) == ("denied", None)
    assert after is not None and '"reason":"id_token_invalid"' in after
    assert f'"error":"{error}"' in after


def test_a_callback_cannot_be_replayed(sso_app: Callable[..., FastAPI]) -> None:
    app = sso_app()
    browser = make_client(app)
    back = start(browser)
    sealed = browser.cookies[oidc.FLOW_COOKIE]
    assert browser.get(back, follow_redirects=False).status_code == 303
    # The same browser: its flow cookie is gone.
    assert browser.get(back, follow_redirects=False).json()["detail"] == oidc.FLOW_LOST
    # Someone who kept the flow cookie too: the provider redeems a code once only.
    thief = make_client(app)
    thief.cookies.set(oidc.FLOW_COOKIE, sealed, domain="testserver.local", path=CALLBACK)
    assert_refused(thief.get(back, follow_redirects=False), oidc.NOT_VERIFIED, thief)
    assert logins(app)[-1][2] == '{"error":"invalid_grant","reason":"code_rejected","via":"oidc"}'


def test_a_callback_in_another_browser_or_with_an_altered_cookie_is_refused(
    sso_app: Callable[..., FastAPI], provider: Provider
) -> None:
    app = sso_app()
    back = start(make_client(app))
    elsewhere = make_client(app)
    assert_refused(elsewhere.get(back, follow_redirects=False), oidc.FLOW_LOST, elsewhere)
    browser = make_client(app)
    back = start(browser)
    sealed = browser.cookies[oidc.FLOW_COOKIE]
    browser.cookies.set(
        oidc.FLOW_COOKIE, sealed[:-6] + "AAAAAA", domain="testserver.local", path=CALLBACK
    )
    assert_refused(browser.get(back, follow_redirects=False), oidc.FLOW_LOST, browser)
    assert provider.token_requests == 0  # nothing was asked of the provider
    assert logins(app) == []


def test_a_refusal_at_the_provider_is_passed_on(
    sso_app: Callable[..., FastAPI], provider: Provider
) -> None:
    browser = make_client(sso_app())
    provider.next = SignIn(deny=True)
    assert_refused(sign_in(browser), oidc.DECLINED, browser)


def test_without_configuration_the_routes_are_not_there(app: FastAPI) -> None:
    browser = make_client(app)
    for path in (LOGIN, f"{CALLBACK}?code=x&state=y"):
        answer = browser.get(path, follow_redirects=False)
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["detail"] == oidc.NOT_CONFIGURED


def test_an_unreachable_or_insecure_provider_is_said_so(world: World) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    app = create_app(world.settings(oidc_issuer=closed, oidc_client_id=CLIENT_ID))
    answer = make_client(app).get(LOGIN, follow_redirects=False)
    assert (answer.status_code, answer.json()["detail"]) == (502, oidc.UNREACHABLE)
    app = create_app(world.settings(oidc_issuer="http://idp.example.gov", oidc_client_id=CLIENT_ID))
    answer = make_client(app).get(LOGIN, follow_redirects=False)
    assert (answer.status_code, answer.json()["detail"]) == (503, oidc.INSECURE)
