"""The audit trail for auditors: search it (``services.audit_export.search_trail``) and
verify its hash chain (``services.audit_verify.verify_trail``). Both need
``Operation.AUDIT_READ``; neither adds a record (reading the trail does not grow it).
Searching pages through the newest records first; the filters are the CLI's."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dutystation import errors
from dutystation.api.deps import get_runtime
from dutystation.services.audit_export import AuditQuery, search_trail
from dutystation.services.audit_verify import verify_trail
from dutystation.web.auth import PageActor
from dutystation.web.error_pages import WebRoute
from dutystation.web.forms import page_number
from dutystation.web.templating import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE_ROWS = 50
FILTERS = ("action", "subject_id", "actor", "outcome", "since", "until")
OUTCOMES = ("allowed", "denied")


def _day(text: str, label: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise errors.InvalidRequest(f"the {label} day is not a date (YYYY-MM-DD)") from None


@router.get("/audit")
def audit(request: Request, actor: PageActor, page: str = "1") -> Response:
    runtime = get_runtime(request)
    entered = {k: request.query_params.get(k, "").strip()[:200] for k in FILTERS}
    number = page_number(page)
    problem = None
    records: list[dict[str, Any]] = []
    try:
        query = AuditQuery(
            action=entered["action"] or None,
            subject_id=entered["subject_id"] or None,
            actor=entered["actor"] or None,
            outcome=entered["outcome"] if entered["outcome"] in OUTCOMES else None,
            since=_day(entered["since"], "first"),
            until=_day(entered["until"], "last"),
            limit=PAGE_ROWS + 1,  # one more: is there a next page?
            offset=(number - 1) * PAGE_ROWS,
        )
        records = search_trail(runtime.engine, actor, query)
    except errors.InvalidRequest as exc:
        problem = str(exc)
    more = len(records) > PAGE_ROWS
    context = {
        "title": "Audit trail",
        "records": records[:PAGE_ROWS],
        "entered": entered,
        "outcomes": OUTCOMES,
        "page": number,
        "more": more,
        "problem": problem,
        "query_string": urlencode({k: v for k, v in entered.items() if v}),
    }
    if request.headers.get("hx-request"):
        return render(request, "_audit_records.html", context, actor=actor)
    return render(request, "audit.html", context, actor=actor)


@router.get("/audit/verify")
def verify(request: Request, actor: PageActor) -> Response:
    """The whole chain walked now; an htmx request gets the result box only."""
    result = verify_trail(get_runtime(request).engine, actor)
    context = {"title": "Audit trail", "result": result}
    if request.headers.get("hx-request"):
        return render(request, "_audit_verify.html", context, actor=actor)
    return render(request, "audit_verify.html", context, actor=actor)
