"""Exemption requests on the dashboard: follow one, decide it, withdraw it (filing is on
"My status", ``web/my_status.py``).

- ``GET /requests/{id}``: the request as the actor may see it (``show_request``: medical
  fields only for the reasonable-accommodation coordinator), with the decision form when
  the actor holds a certification that is still open, and withdrawal while pending.
- ``GET /queue``: the requests waiting for this actor's certification, the team's status
  (supervisors) and every request the actor may read, filterable.

Values a person typed that a service refuses (an end before the start, a category the
directive does not allow, a document of the wrong type) come back on the same form with
the service's sentence; everything else renders the error page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from dutystation import errors
from dutystation.api.deps import get_runtime
from dutystation.domain.access import Actor, Operation, Role, could_ever
from dutystation.domain.directive import Certifier
from dutystation.domain.exemptions import (
    CERTIFIER_OF_ROLE,
    CERTIFIER_WORDS,
    Decision,
    RequestStatus,
)
from dutystation.services import exemptions
from dutystation.services.documents import download_headers
from dutystation.web.auth import PageActor
from dutystation.web.error_pages import WebRoute
from dutystation.web.forms import (
    FORM_ERRORS,
    checked_form,
    form_date,
    path_number,
    text_field,
)
from dutystation.web.people import CATEGORY_WORDS, employee_id_of_actor, team_table
from dutystation.web.templating import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@dataclass(frozen=True)
class Decidable:
    """What the actor may still certify on a request."""

    certifiers: tuple[Certifier, ...]  # the open certifications the actor's roles give

    @property
    def words(self) -> list[tuple[str, str]]:
        return [(c.value, CERTIFIER_WORDS[c]) for c in self.certifiers]


def decidable(actor: Actor, view: dict[str, Any]) -> Decidable:
    """The open certifications the actor could give (the service decides on submit)."""
    if view.get("status") != RequestStatus.SUBMITTED.value:
        return Decidable(())
    given = {c["certifier"] for c in view.get("certifications", [])}
    if any(c["by"] == actor.username for c in view.get("certifications", [])):
        return Decidable(())
    open_ = [c for c in view.get("certifications_required", []) if c not in given]
    mine = [CERTIFIER_OF_ROLE[r].value for r in actor.roles if r in CERTIFIER_OF_ROLE]
    return Decidable(tuple(Certifier(c) for c in open_ if c in mine))


def _request_page(
    request: Request,
    actor: Actor,
    request_id: int,
    *,
    decision_error: str | None = None,
    status_code: int = 200,
) -> Response:
    runtime = get_runtime(request)
    view = exemptions.show_request(runtime, actor, request_id)
    # Nobody certifies their own request (the service refuses it too): no form for it.
    mine = view.get("employee_id") == employee_id_of_actor(runtime, actor)
    own = actor.employee_pk is not None and view.get("filed_by") == actor.username
    may_withdraw = (
        view.get("status") == RequestStatus.SUBMITTED.value
        and could_ever(actor, Operation.EXEMPTION_WITHDRAW)
        and (own or actor.holds(Role.SUPERVISOR))
    )
    context = {
        "title": f"Exemption request {request_id}",
        "view": view,
        "decide": Decidable(()) if mine else decidable(actor, view),
        "may_withdraw": may_withdraw,
        "certifier_words": {c.value: w for c, w in CERTIFIER_WORDS.items()},
        "category_words": {c.value: w for c, w in CATEGORY_WORDS.items()},
        "max_days": runtime.settings.exemption_max_days,
        "filed": request.query_params.get("filed") == "1",
        "decided": request.query_params.get("decided"),
        "decision_error": decision_error,
    }
    return render(request, "request.html", context, actor=actor, status_code=status_code)


def _id(text: str) -> int:
    return path_number(text, f"no exemption request {text[:20]!r}")


@router.get("/requests/{request_id}")
def request_page(request: Request, actor: PageActor, request_id: str) -> Response:
    return _request_page(request, actor, _id(request_id))


@router.get("/requests/{request_id}/documents/{position}")
def document(request: Request, actor: PageActor, request_id: str, position: str) -> Response:
    number = _id(request_id)
    nth = path_number(position, f"request {number} has no document {position[:20]!r}")
    found = exemptions.download_document(get_runtime(request), actor, number, nth)
    headers = download_headers(found.media_type, found.file_name)
    return Response(found.data, headers=headers)


@router.post("/requests/{request_id}/certify")
async def certify(request: Request, actor: PageActor, request_id: str) -> Response:
    number = _id(request_id)
    form = await checked_form(request)
    runtime = get_runtime(request)
    try:
        choice = text_field(form, "decision")
        if choice not in {d.value for d in Decision}:
            raise errors.InvalidRequest("choose approve or deny")
        certifier_text = text_field(form, "certifier")
        certifier = Certifier(certifier_text) if certifier_text in set(Certifier) else None
        done = await run_in_threadpool(
            lambda: exemptions.certify(
                runtime,
                actor,
                number,
                Decision(choice),
                text_field(form, "reason"),
                start=form_date(form, "start", "first approved day", required=False),
                end=form_date(form, "end", "last approved day", required=False),
                certifier=certifier,
            )
        )
    except FORM_ERRORS as exc:
        refused = str(exc)
        return await run_in_threadpool(
            lambda: _request_page(request, actor, number, decision_error=refused, status_code=422)
        )
    return RedirectResponse(f"/requests/{number}?decided={done.status.value}", status_code=303)


@router.post("/requests/{request_id}/withdraw")
async def withdraw(request: Request, actor: PageActor, request_id: str) -> Response:
    number = _id(request_id)
    await checked_form(request)
    runtime = get_runtime(request)
    try:
        await run_in_threadpool(exemptions.withdraw_request, runtime, actor, number)
    except FORM_ERRORS as exc:
        refused = str(exc)
        return await run_in_threadpool(
            lambda: _request_page(request, actor, number, decision_error=refused, status_code=409)
        )
    return RedirectResponse(f"/requests/{number}?decided=withdrawn", status_code=303)


@router.get("/queue")
def queue(request: Request, actor: PageActor, status: str = "submitted") -> Response:
    """Waiting for the actor's certification first; then the team (supervisors), then
    every request the actor may read (``status`` filter; htmx swaps that table only)."""
    runtime = get_runtime(request)
    wanted = RequestStatus(status) if status in set(RequestStatus) else None
    listed = exemptions.list_requests(runtime, actor, status=wanted)
    context: dict[str, Any] = {
        "title": "Exemption requests",
        "listed": listed,
        "status": status if wanted else "all",
        "statuses": [s.value for s in RequestStatus],
    }
    if request.headers.get("hx-request"):
        return render(request, "_requests_table.html", context, actor=actor)
    waiting: list[Any] | None = None
    if could_ever(actor, Operation.EXEMPTION_CERTIFY):
        waiting = []
        pending = (
            listed
            if wanted is RequestStatus.SUBMITTED
            else exemptions.list_requests(runtime, actor, status=RequestStatus.SUBMITTED)
        )
        for summary in pending:
            view = exemptions.show_request(runtime, actor, summary.id)
            mine = decidable(actor, view)
            if mine.certifiers and view.get("employee_id") != employee_id_of_actor(runtime, actor):
                waiting.append((summary, view, mine))
    context["waiting"] = waiting
    context["certifier_words"] = {c.value: w for c, w in CERTIFIER_WORDS.items()}
    context["max_days"] = runtime.settings.exemption_max_days
    context["team"] = team_table(runtime, actor)
    return render(request, "queue.html", context, actor=actor)
