"""Every error answers application/problem+json (RFC 9457): ``{type, title, status,
detail, instance}``.

The error tree (``dutystation.errors``) maps to a status once, here. Its messages are
written to be shown (one sentence, no row contents), so they become ``detail``. Anything
else is a bug: the answer is a 500 with a correlation id and nothing more; the id and the
traceback go to the server log. A store that is busy (another write, another event
import) answers 503 with ``Retry-After``; a full disk 507 and a damaged database 503, each
with one fixed sentence and the correlation id (``store.faults``). Every answer carries
``X-Request-ID`` (the proxy's, when it sent a well-formed one, else a new UUID); a 5xx
repeats it as ``correlation_id`` in its body and in its log line (RELIABILITY T11). A
subject outside the actor's scope raises ``NotFound`` with the same sentence as a missing
one, so both answers are identical apart from ``instance`` (RELIABILITY T01).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import uuid
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dutystation import errors
from dutystation.store.faults import fault_of

log = logging.getLogger("dutystation.api")

PROBLEM_TYPE = "application/problem+json"
BUSY = "the database is busy with another write"
RETRY_AFTER_SECONDS = 2
BODY_UNREADABLE = "the request body cannot be read: it is not valid for its content type"
REQUEST_ID_HEADER = "X-Request-ID"
# What a request id from a proxy may look like: nothing that could break a log line.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_request_id: ContextVar[str | None] = ContextVar("dutystation_request_id", default=None)

# Most specific first: the first class an error is an instance of decides.
STATUS: tuple[tuple[type[errors.DutystationError], int, str], ...] = (
    (errors.NotAuthenticated, 401, "not-authenticated"),
    (errors.Forbidden, 403, "forbidden"),
    (errors.NotFound, 404, "not-found"),
    (errors.NoEvidence, 404, "no-evidence"),
    (errors.Conflict, 409, "conflict"),
    (errors.ImportHeld, 409, "import-held"),
    (errors.InvalidRequest, 422, "invalid-request"),
    (errors.DocumentRejected, 422, "document-rejected"),
    (errors.InputFileError, 422, "input-file-rejected"),
    (errors.ImportRejected, 422, "import-rejected"),
    (errors.ConfigError, 422, "invalid-request"),
    (errors.AuditTrailBroken, 409, "audit-trail-broken"),
    (errors.RollupMismatch, 409, "rollup-mismatch"),
    (errors.StoreBusy, 503, "store-unavailable"),
    (errors.StoreFull, 507, "insufficient-storage"),
    (errors.StoreDamaged, 503, "store-damaged"),
    (errors.ImportInterrupted, 503, "import-interrupted"),
    (errors.StoreError, 503, "store-unavailable"),
)
TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    408: "Request timeout",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
    507: "Insufficient storage",
}
# What a client is told about a storage fault: a fixed sentence (the error's own text may
# name a file), then the correlation id; the server log has the details.
FAULT_DETAIL = {
    507: "the server's storage is full, so nothing was stored",
    503: "the database cannot be read (it is damaged), so nothing was stored",
}


class Problem(BaseModel):
    """An error answer (RFC 9457 problem details)."""

    type: str = Field(description="A URI naming the kind of problem.")
    title: str = Field(description="Short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="One sentence about this occurrence; never row contents.")
    instance: str = Field(description="The request path, or urn:uuid:<correlation id> for 500.")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="For 422 validation errors: where and why, without values."
    )
    correlation_id: str | None = Field(
        default=None, description="For 500: the id the server log records the error under."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:dutystation:problem:not-found",
                    "title": "Not found",
                    "status": 404,
                    "detail": "no user 'jdoe'",
                    "instance": "/api/v1/users/jdoe",
                }
            ]
        }
    )


def problem_type(code: str) -> str:
    return f"urn:dutystation:problem:{code}"


def problem_response(
    status: int,
    code: str,
    detail: str,
    instance: str,
    *,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    body.update(extra or {})
    if status >= 500:
        body.setdefault("correlation_id", current_request_id())
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_TYPE)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting the problem+json answers of a route."""
    return {
        status: {
            "model": Problem,
            "description": TITLES.get(status, "Error"),
            "content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def status_of(exc: errors.DutystationError) -> tuple[int, str]:
    for cls, status, code in STATUS:
        if isinstance(exc, cls):
            return status, code
    return 500, "internal-error"


def is_busy(exc: errors.DutystationError) -> bool:
    return isinstance(exc, errors.StoreBusy) or (
        isinstance(exc, errors.StoreError) and str(exc).startswith(BUSY)
    )


def retry_after(exc: errors.DutystationError) -> dict[str, str]:
    """The ``Retry-After`` header of a busy store's answer."""
    seconds = getattr(exc, "retry_after_seconds", None) or RETRY_AFTER_SECONDS
    return {"Retry-After": str(seconds)}


def store_fault(exc: BaseException) -> tuple[int, str] | None:
    """(status, problem code) when ``exc`` is a full disk (507) or a damaged database
    (503) anywhere in its chain (``store.faults``); None for anything else."""
    fault = fault_of(exc)
    if fault is None:
        return None
    return status_of(fault)


def fault_response(exc: BaseException, instance: str) -> Response | None:
    """The answer to a full disk or a damaged database: one fixed sentence with the
    correlation id, no path and no SQL; None when ``exc`` is neither."""
    found = store_fault(exc)
    if found is None:
        return None
    status, code = found
    correlation = current_request_id()
    log.error("%s; answered %d, correlation id %s", code, status, correlation, exc_info=exc)
    detail = f"{FAULT_DETAIL[status]}; quote correlation id {correlation} when reporting it"
    return problem_response(status, code, detail, instance)


def for_error(exc: errors.DutystationError, instance: str) -> Response:
    status, code = status_of(exc)
    if isinstance(exc, errors.StoreError):
        if is_busy(exc):
            # A transient hold (another write or import): the same request succeeds later.
            log.warning("store busy; answered 503, correlation id %s", current_request_id())
            return problem_response(
                503, code, public_detail(exc), instance, headers=retry_after(exc)
            )
        if isinstance(exc, errors.ImportInterrupted):  # a fixed sentence of ours
            log.warning("upload's import ended early; answered 503, correlation id %s",
                        current_request_id())  # fmt: skip
            return problem_response(503, code, public_detail(exc), instance)
        # Other store failures may name files or stored values: log them, say nothing.
        return fault_response(exc, instance) or internal_error(exc)
    if status == 500:
        return internal_error(exc)
    challenge = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return problem_response(status, code, public_detail(exc), instance, headers=challenge)


# The folders of a server path in a message ("/srv/dutystation/policies/us.toml: is not
# valid TOML", "data/policies/us.toml: ..."): removed, the file's name stays, which is
# what the person who sent or named the file can act on. Absolute paths (POSIX, Windows,
# ~) whatever they end in; relative ones when they end in a file name with an extension.
_ABSOLUTE_FOLDERS = re.compile(r"(?<![\w:/.~-])(?:[A-Za-z]:|~)?[\\/](?:[^\s'\"\\/]+[\\/])+")
_RELATIVE_FOLDERS = re.compile(
    r"(?<![\w:/.~-])(?!(?:application|text|image|audio|video|multipart)/)"  # media types
    r"(?:[\w.@+-]+/)+(?=[\w.@+-]+\.[A-Za-z0-9]{1,8}\b)"
)


def without_server_paths(text: str) -> str:
    return _RELATIVE_FOLDERS.sub("", _ABSOLUTE_FOLDERS.sub("", text))


def public_detail(exc: errors.DutystationError) -> str:
    """The error's sentence as a client may see it: without the server's folders (a
    ``ConfigError`` names the policy or profile file it could not read)."""
    if isinstance(exc, errors.InputFileError):
        # The file's name only: the folder is the server's business (an upload's is a
        # temporary one).
        where = dataclasses.replace(exc.where, file=Path(exc.where.file.name))
        return without_server_paths(f"{where}: {exc.reason}")
    return without_server_paths(str(exc))


def internal_error(exc: BaseException) -> Response:
    """A bug or an unusable store: a correlation id for the log, no detail for the client."""
    correlation = current_request_id()
    log.error("internal error %s", correlation, exc_info=exc)
    try:
        instance = f"urn:uuid:{uuid.UUID(correlation)}"
    except ValueError:  # a proxy's id that is not a UUID
        instance = f"urn:dutystation:request:{correlation}"
    return problem_response(
        500,
        "internal-error",
        f"internal error; quote correlation id {correlation} when reporting it",
        instance,
        extra={"correlation_id": correlation},
    )


def current_request_id() -> str:
    """The id of the request being answered (``RequestIdMiddleware``); a new one outside a
    request."""
    return _request_id.get() or str(uuid.uuid4())


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Only where and why: the offending value ("input") could be a password or a diagnosis.
    return [
        {"loc": [str(part) for part in error.get("loc", ())], "msg": str(error.get("msg", ""))}
        for error in exc.errors()
    ]


async def http_problem(request: Request, exc: Exception) -> Response:
    """Starlette's and FastAPI's HTTP errors (no such route, method not allowed, a body
    that cannot be decoded) as problem+json."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI's answer to a body it cannot decode (not UTF-8, not the declared
        # form encoding): invalid input like any other, so 422 like malformed JSON.
        return problem_response(422, "validation-error", BODY_UNREADABLE, request.url.path)
    code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "")
    return problem_response(
        exc.status_code, code, detail, request.url.path, headers=dict(exc.headers or {})
    )


def install(app: FastAPI) -> None:
    """Register the handlers; the catch-all for bugs is ``InternalErrorMiddleware``."""

    async def dutystation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.DutystationError)
        return for_error(exc, request.url.path)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        found = _validation_errors(exc)
        where = ".".join(found[0]["loc"]) if found else "request"
        detail = f"the request is not valid: {where}: {found[0]['msg']}" if found else "invalid"
        return problem_response(
            422, "validation-error", detail, request.url.path, extra={"errors": found}
        )

    app.add_exception_handler(errors.DutystationError, dutystation_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_problem)


class InternalErrorMiddleware:
    """Any exception no handler took becomes a bare 500 with a correlation id. It is
    answered here rather than by Starlette's ServerErrorMiddleware so that nothing of the
    exception (debug pages, text) can ever reach the client."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                # Too late for an error page; the server closes the connection.
                log.exception("error after the response started")
                raise
            # A full disk or a damaged database met outside the translated paths (an
            # upload's temporary file, a session read) is still that, not a bug.
            response = fault_response(exc, scope.get("path", "")) or internal_error(exc)
            await response(scope, receive, send)


class RequestIdMiddleware:
    """Gives every request an id, ``X-Request-ID`` on its answer: the one a proxy sent if it
    is well formed, else a new UUID. Added last, so it runs first and a 413 or 500 from the
    other middleware has it too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER.lower().encode(), b"")
        given = sent.decode("latin-1")
        request_id = given if _REQUEST_ID.fullmatch(given) else str(uuid.uuid4())
        token = _request_id.set(request_id)

        async def with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != REQUEST_ID_HEADER.lower().encode()
                ]
                headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, with_id)
        finally:
            _request_id.reset(token)
