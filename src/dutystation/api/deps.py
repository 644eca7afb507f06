"""Who is asking: FastAPI dependencies shared by every router.

A request is authenticated by an API token (``Authorization: Bearer <token>``) or by the
session cookie the sign-in set. A token wins when both are present: it is never sent by a
browser on its own, so it needs no CSRF protection. A cookie is, so every state-changing
request that relies on the cookie must also carry the session's CSRF token
(``X-CSRF-Token`` header or ``csrf_token`` form field): ``require_csrf``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from dutystation.bootstrap import Runtime
from dutystation.domain.access import Actor
from dutystation.errors import Forbidden, NotAuthenticated
from dutystation.services import sessions, tokens
from dutystation.settings import Settings

SESSION_COOKIE = "dutystation_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NOT_SIGNED_IN = "sign in, or send an API token as 'Authorization: Bearer <token>'"
CSRF_REFUSED = "the form has expired; reload the page and try again"


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def runtime_dependency(request: Request) -> Runtime:
    """``get_runtime`` as a dependency, on the event loop (no I/O, no thread hop)."""
    return get_runtime(request)


def get_engine(request: Request) -> Engine:
    return get_runtime(request).engine


def get_settings(request: Request) -> Settings:
    return get_runtime(request).settings


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise NotAuthenticated(tokens.TOKEN_REFUSED)
    return value.strip()


def session_secret(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def _channel(request: Request) -> str:
    return "api" if request.url.path.startswith("/api/") else "web"


def optional_actor(request: Request) -> Actor | None:
    """The signed-in user, or None. A token that is sent but not valid is refused (401)
    rather than ignored: a script with an expired token should hear about it."""
    runtime = get_runtime(request)
    token = bearer_token(request)
    if token is not None:
        actor = tokens.actor_for_token(runtime.engine, token, channel=_channel(request))
        request.state.auth = "token"
        return actor
    secret = session_secret(request)
    if secret is None:
        return None
    try:
        actor = sessions.actor_for_session(
            runtime.engine, secret, settings=runtime.settings, channel=_channel(request)
        )
    except NotAuthenticated:
        return None
    request.state.auth = "session"
    return actor


async def current_actor(actor: Annotated[Actor | None, Depends(optional_actor)]) -> Actor:
    """The signed-in user; 401 when there is none. (``async``, like every dependency that
    does no I/O: FastAPI runs a plain ``def`` one in the thread pool, a hop per request.)"""
    if actor is None:
        raise NotAuthenticated(NOT_SIGNED_IN)
    return actor


async def require_csrf(request: Request) -> None:
    """Refuse (403) a state-changing request that relies on the session cookie without the
    session's CSRF token. Requests with a bearer token, without a cookie, or with a safe
    method pass. Applied to every API router by ``create_app``; dashboard forms add it
    themselves."""
    if request.method in SAFE_METHODS or "authorization" in request.headers:
        return
    secret = session_secret(request)
    if secret is None:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent:
        raise Forbidden(CSRF_REFUSED)
    # A database read: off the event loop, like the routes' own work.
    await run_in_threadpool(sessions.check_csrf, get_engine(request), secret, sent)


async def single_query_values(request: Request) -> None:
    """Refuse (422) a query parameter given twice unless the operation takes a list:
    ``?limit=5&limit=500`` would otherwise silently mean one of them."""
    params = request.query_params
    repeated = {key for key in params if len(params.getlist(key)) > 1}
    if not repeated:
        return
    route = request.scope.get("route")
    path = getattr(route, "path_format", request.url.path)
    bad = sorted(repeated - _list_parameters(request, path, request.method.lower()))
    if bad:
        raise RequestValidationError(
            [
                {"loc": ("query", name), "msg": "give this parameter once", "type": "repeated"}
                for name in bad
            ]
        )


def _list_parameters(request: Request, path: str, method: str) -> set[str]:
    """The query parameters of an operation that take several values, from the OpenAPI
    document (cached per app)."""
    cache: dict[tuple[str, str], set[str]] | None = getattr(request.app.state, "list_params", None)
    if cache is None:
        cache = {}
        for op_path, item in request.app.openapi().get("paths", {}).items():
            for op_method, operation in item.items():
                names = {
                    p["name"]
                    for p in operation.get("parameters", [])
                    if p.get("in") == "query" and _is_list(p.get("schema", {}))
                }
                cache[(op_path, op_method)] = names
        request.app.state.list_params = cache
    return cache.get((path, method), set())


def _is_list(schema: dict[str, Any]) -> bool:
    options = [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]
    return any(option.get("type") == "array" for option in options)


async def writing_actor(
    actor: Annotated[Actor, Depends(current_actor)],
    _csrf: Annotated[None, Depends(require_csrf)],
) -> Actor:
    """The signed-in user of a state-changing request, CSRF checked."""
    return actor


# Route parameters: ``actor: CurrentActor`` (reads), ``actor: WritingActor`` (changes).
CurrentActor = Annotated[Actor, Depends(current_actor)]
OptionalActor = Annotated[Actor | None, Depends(optional_actor)]
WritingActor = Annotated[Actor, Depends(writing_actor)]
RuntimeDep = Annotated[Runtime, Depends(runtime_dependency)]
