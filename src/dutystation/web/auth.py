"""Who is at the browser: the session cookie, the form token, signing in and out.

Signing in (``POST /login``) checks the password with ``services.login.authenticate``
(account lockout, one sentence for every failure) after the per-username and per-address
rate limit of ``api.security.LoginRateLimiter``, starts a session
(``services.sessions.start_session``) and sets two cookies, both HttpOnly, SameSite and
(unless ``cookie_secure`` is off for http://localhost) Secure:

- ``dutystation_session``: the session secret (the API reads the same cookie);
- ``dutystation_csrf``: the session's CSRF token. The store keeps only its hash, so the
  server reads it back from this cookie to put it into every form it renders; a form
  posted from another site cannot carry it, and ``services.sessions.check_csrf`` compares
  it with the session's hash on every state-changing request.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.responses import Response

from dutystation.api.deps import SESSION_COOKIE, get_runtime
from dutystation.api.routes.auth import clear_session_cookie, set_session_cookie
from dutystation.domain.access import Actor
from dutystation.errors import NotAuthenticated
from dutystation.services import sessions
from dutystation.services.sessions import NewSession
from dutystation.settings import Settings
from dutystation.web.error_pages import LoginRequired

CSRF_COOKIE = "dutystation_csrf"


def page_actor(request: Request) -> Actor:
    """The signed-in user of a page (``LoginRequired`` sends them to sign in). Also puts
    the form token where ``templating.render`` finds it."""
    runtime = get_runtime(request)
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        raise LoginRequired
    try:
        actor = sessions.actor_for_session(
            runtime.engine, secret, settings=runtime.settings, channel="web"
        )
    except NotAuthenticated:
        raise LoginRequired from None
    request.state.actor = actor
    request.state.csrf_token = request.cookies.get(CSRF_COOKIE, "")
    return actor


PageActor = Annotated[Actor, Depends(page_actor)]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (no ``//host``, no scheme)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target:
        return "/"
    return target


def set_session_cookies(response: Response, new: NewSession, settings: Settings) -> None:
    set_session_cookie(response, new, settings)
    response.set_cookie(
        CSRF_COOKIE,
        new.csrf_token,
        expires=new.expires_at,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite=settings.session_cookie_samesite,
    )


def clear_session_cookies(response: Response, settings: Settings) -> None:
    clear_session_cookie(response, settings)
    response.delete_cookie(
        CSRF_COOKIE,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite=settings.session_cookie_samesite,
    )
