"""Every error answers application/problem+json (RFC 9457): ``{type, title, status,
detail, instance}``.

The error tree (``dutystation.errors``) maps to a status once, here. Its messages are
written to be shown (one sentence, no row contents), so they become ``detail``. Anything
else is a bug: the answer is a 500 with a correlation id and nothing more; the id and the
traceback go to the server log. A subject outside the actor's scope raises ``NotFound``
with the same sentence as a missing one, so both answers are identical apart from
``instance`` (RELIABILITY T01).
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dutystation import errors

log = logging.getLogger("dutystation.api")

PROBLEM_TYPE = "application/problem+json"
BUSY = "the database is busy with another write"
RETRY_AFTER_SECONDS = 2
BODY_UNREADABLE = "the request body cannot be read: it is not valid for its content type"

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
    (errors.StoreError, 503, "store-unavailable"),
)
TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
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


def for_error(exc: errors.DutystationError, instance: str) -> Response:
    status, code = status_of(exc)
    if isinstance(exc, errors.StoreError):
        if str(exc).startswith(BUSY):
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
            return problem_response(503, code, str(exc), instance, headers=headers)
        # Other store failures may name files or stored values: log them, say nothing.
        return internal_error(exc)
    if status == 500:
        return internal_error(exc)
    challenge = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return problem_response(status, code, _detail(exc), instance, headers=challenge)


def _detail(exc: errors.DutystationError) -> str:
    if isinstance(exc, errors.InputFileError):
        # The file's name only: the folder is the server's business (an upload's is a
        # temporary one).
        where = dataclasses.replace(exc.where, file=Path(exc.where.file.name))
        return f"{where}: {exc.reason}"
    return str(exc)


def internal_error(exc: BaseException) -> Response:
    """A bug or an unusable store: a correlation id for the log, no detail for the client."""
    correlation = str(uuid.uuid4())
    log.error("internal error %s", correlation, exc_info=exc)
    return problem_response(
        500,
        "internal-error",
        f"internal error; quote correlation id {correlation} when reporting it",
        f"urn:uuid:{correlation}",
        extra={"correlation_id": correlation},
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Only where and why: the offending value ("input") could be a password or a diagnosis.
    return [
        {"loc": [str(part) for part in error.get("loc", ())], "msg": str(error.get("msg", ""))}
        for error in exc.errors()
    ]


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

    async def http_error(request: Request, exc: Exception) -> Response:
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

    app.add_exception_handler(errors.DutystationError, dutystation_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)


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
            response = internal_error(exc)
            await response(scope, receive, send)
