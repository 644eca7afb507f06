"""Errors on the dashboard are pages, not problem+json: ``WebRoute`` catches the error tree
in every dashboard route and answers an HTML page with the same status the API would give
(``api.errors.status_of``) and the error's one sentence.

A server-side failure is a page too, never problem+json: the fault's status (507 for a full
disk, 503 for a damaged database, 500 for anything else), one fixed sentence and the
correlation id to quote; what failed goes to the server log under that id, not onto the
page (RELIABILITY T11).

A page that needs a signed-in user and has none redirects to the sign-in page (htmx
requests get ``HX-Redirect`` so the whole page changes, not a fragment of it). Out of
scope and missing look the same: both are ``NotFound``, both render the same 404 page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from dutystation import errors
from dutystation.api.errors import (
    FAULT_DETAIL,
    current_request_id,
    is_busy,
    retry_after,
    status_of,
    store_fault,
)
from dutystation.domain.access import Actor
from dutystation.web.templating import render

HEADINGS = {
    401: "Sign in again",
    403: "Not allowed",
    404: "Not found",
    409: "Not possible now",
    422: "Please check what you entered",
    429: "Too many attempts",
    503: "Busy, try again",
}
# Failures on the server's side: (heading, sentence) by status. No detail: it could name a
# file or a stored value; the log has it under the correlation id the page shows.
SERVER_ERRORS = {
    500: (
        "Something went wrong",
        "an error on the server stopped this page; nothing more was done",
    ),
    503: ("Not available", FAULT_DETAIL[503]),
    507: ("Storage full", FAULT_DETAIL[507]),
}
# Answered by the app's own handlers (404/405 pages, 422 problem+json), not as failures.
_HANDLED_ELSEWHERE = (StarletteHTTPException, RequestValidationError)
log = logging.getLogger("dutystation.web")


class LoginRequired(Exception):
    """No valid session: go to the sign-in page and come back."""


def login_redirect(request: Request) -> Response:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    location = "/login?next=" + quote(target, safe="/")
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def error_page(request: Request, exc: errors.DutystationError) -> Response:
    status, _ = status_of(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, errors.StoreError):
        if not is_busy(exc):
            return server_error_page(request, exc)  # may name files or values: logged
        headers = retry_after(exc)
    if status == 500:
        return server_error_page(request, exc)
    actor: Actor | None = getattr(request.state, "actor", None)
    context = {"heading": HEADINGS.get(status, "Something went wrong"), "message": str(exc)}
    if status >= 500:  # busy: the sentence is ours and says what to do; the id all the same
        context["correlation_id"] = current_request_id()
        log.warning("store busy; answered %d, correlation id %s", status, current_request_id())
    return render(request, "error.html", context, actor=actor, status_code=status, headers=headers)


def server_error_page(request: Request, exc: BaseException) -> Response:
    """The page for a failure on the server's side (module docstring)."""
    found = store_fault(exc)
    status = found[0] if found else 500
    correlation = current_request_id()
    log.error("page error; answered %d, correlation id %s", status, correlation, exc_info=exc)
    heading, sentence = SERVER_ERRORS[status]
    context = {
        "title": heading,
        "heading": heading,
        "message": sentence,
        "correlation_id": correlation,
    }
    actor: Actor | None = getattr(request.state, "actor", None)
    return render(request, "error.html", context, actor=actor, status_code=status)


class WebRoute(APIRoute):
    """An APIRoute whose errors render as dashboard pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return login_redirect(request)
            except errors.DutystationError as exc:
                return error_page(request, exc)
            except _HANDLED_ELSEWHERE:
                raise
            except Exception as exc:  # a bug, or a fault no service translated
                return server_error_page(request, exc)

        return page_handler
