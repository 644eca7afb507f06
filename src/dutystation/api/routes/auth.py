"""Signing in and out with a password; who am I.

``POST /auth/login`` sets the session cookie (HttpOnly, SameSite, Secure unless
``cookie_secure`` is off) and answers the session's CSRF token, which every later
state-changing request that relies on the cookie must send as ``X-CSRF-Token``. API tokens
need neither: send ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from dutystation.api.deps import (
    SESSION_COOKIE,
    CurrentActor,
    RuntimeDep,
    session_secret,
)
from dutystation.api.errors import problem_response, problem_responses
from dutystation.api.schemas import GrantOut, Me, StrictBody
from dutystation.domain.access import Actor
from dutystation.services import login, sessions
from dutystation.settings import Settings

router = APIRouter(prefix="/auth", tags=["auth"])
# Sign-in itself: no session yet, so no CSRF token to check (a stale cookie must not
# stand in the way of signing in again).
public_router = APIRouter(prefix="/auth", tags=["auth"])

RATE_LIMITED = "too many sign-in attempts; wait before trying again"


class Credentials(StrictBody):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"username": "jdoe", "password": "correct horse battery staple"}]
        }
    )


class SignedIn(BaseModel):
    username: str
    roles: list[GrantOut]
    csrf_token: str = Field(description="Send as X-CSRF-Token with cookie-authenticated changes.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "jdoe",
                    "roles": [{"role": "employee", "scope": None}],
                    "csrf_token": "kq3...",
                }
            ]
        }
    )


def set_session_cookie(response: Response, new: sessions.NewSession, settings: Settings) -> None:
    """The session cookie, as the API and the dashboard's sign-in both set it."""
    response.set_cookie(
        SESSION_COOKIE,
        new.secret,
        expires=new.expires_at,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite=settings.session_cookie_samesite,
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite=settings.session_cookie_samesite,
    )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def rate_limit_wait(request: Request, username: str) -> int:
    """Seconds to wait before this sign-in attempt may be tried; 0: go ahead."""
    wait: int = request.app.state.login_limiter.retry_after(username, client_address(request))
    return wait


def sign_in(
    request: Request, runtime: RuntimeDep, username: str, password: str
) -> tuple[Actor, sessions.NewSession]:
    """Check the password and start a session (``NotAuthenticated`` on any failure)."""
    channel = "api" if request.url.path.startswith("/api/") else "web"
    actor = login.authenticate(
        runtime.engine, username, password, settings=runtime.settings, channel=channel
    )
    return actor, sessions.start_session(runtime.engine, actor, settings=runtime.settings)


@public_router.post(
    "/login",
    summary="Sign in with a password",
    response_model=SignedIn,
    responses={
        **problem_responses(401, 422),
        429: {
            **problem_responses(429)[429],
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        },
    },
)
def post_login(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    credentials: Annotated[Credentials, Body()],
) -> SignedIn | Response:
    """Checks the password (with lockout after repeated failures) and sets the session
    cookie. The answer carries the CSRF token for later changes."""
    wait = rate_limit_wait(request, credentials.username)
    if wait:
        return problem_response(
            429, "rate-limited", RATE_LIMITED, request.url.path, headers={"Retry-After": str(wait)}
        )
    actor, new = sign_in(request, runtime, credentials.username, credentials.password)
    set_session_cookie(response, new, runtime.settings)
    return SignedIn(
        username=actor.username,
        roles=[GrantOut.of(g) for g in actor.grants],
        csrf_token=new.csrf_token,
    )


@router.post(
    "/logout",
    summary="Sign out",
    status_code=204,
    responses=problem_responses(403),
)
def post_logout(request: Request, runtime: RuntimeDep) -> Response:
    """Ends the session of the cookie (if any) and clears the cookie. Always succeeds."""
    secret = session_secret(request)
    if secret is not None:
        sessions.end_session(runtime.engine, secret, channel="api")
    response = Response(status_code=204)
    clear_session_cookie(response, runtime.settings)
    return response


@router.get(
    "/me",
    summary="Who the request is authenticated as",
    response_model=Me,
    responses=problem_responses(401),
)
def get_me(actor: CurrentActor) -> Me:
    return Me.of(actor)
