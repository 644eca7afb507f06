"""Text no request may carry: the NUL character, anywhere (path, query, JSON body, form).

PostgreSQL cannot store or even compare text containing NUL; the driver refuses such a
parameter, which would surface as a 500 ("the database refused ..."), while SQLite would
store it. Refusing it at the door gives both backends the same answer: 422 with one
sentence, before any service runs (RELIABILITY T22, SI-10).

``refuse_nul_characters`` is a dependency of every API and dashboard route
(``api.app.create_app``). FastAPI has read and parsed the body before dependencies run,
so looking at it again costs a scan, not a second read. The dashboard's own forms are
checked where they are read (``web.forms.text_field``).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from starlette.datastructures import FormData

from dutystation.errors import InvalidRequest

REFUSED = "text may not contain the NUL character (\\u0000)"


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


async def refuse_nul_characters(request: Request) -> None:
    """``InvalidRequest`` (422) for a NUL in the path, the query or the body's text."""
    query = request.query_params.multi_items()
    if "\x00" in request.url.path or any("\x00" in k + v for k, v in query):
        raise InvalidRequest(REFUSED)
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/json"):
        body = await request.body()
        # Only a body with an escaped NUL (or a raw one, which JSON refuses anyway) can
        # hold one; parse it again only then.
        if b"\\u0000" in body or b"\x00" in body:
            try:
                found = _has_nul(json.loads(body))
            except ValueError:
                return  # not JSON: the body's own validation answers
            if found:
                raise InvalidRequest(REFUSED)
    else:
        # A form FastAPI has parsed for the route's fields. One it has not is read by the
        # dashboard page itself, with its own limits (``web.forms``), and not parsed here
        # first: that would bypass them.
        form: FormData | None = getattr(request, "_form", None)
        if form is not None and any(
            isinstance(v, str) and "\x00" in v for _, v in form.multi_items()
        ):
            raise InvalidRequest(REFUSED)
