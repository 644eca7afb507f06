"""Errors on the dashboard are pages, not problem+json: ``WebRoute`` catches the error tree
in every dashboard route and answers an HTML page with the same status the API would give
(``api.errors.status_of``) and the error's one sentence.

A page that needs a signed-in user and has none redirects to the sign-in page (htmx
requests get ``HX-Redirect`` so the whole page changes, not a fragment of it). Out of
scope and missing look the same: both are ``NotFound``, both render the same 404 page.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from dutystation import errors
from dutystation.api.errors import BUSY, RETRY_AFTER_SECONDS, internal_error, status_of
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
        if not str(exc).startswith(BUSY):
            return internal_error(exc)  # may name files or values: logged, not shown
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    if status == 500:
        return internal_error(exc)
    actor: Actor | None = getattr(request.state, "actor", None)
    context = {"heading": HEADINGS.get(status, "Something went wrong"), "message": str(exc)}
    return render(request, "error.html", context, actor=actor, status_code=status, headers=headers)


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

        return page_handler
