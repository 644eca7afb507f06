"""My status (``/me``): an employee's own requirement, hours and days on site by week
(table and chart), status and why; their exemption requests and the form to file one
(``POST /me/requests`` → ``services.exemptions.request_exemption``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from dutystation import errors
from dutystation.api.deps import get_runtime
from dutystation.bootstrap import Runtime
from dutystation.domain.access import Actor
from dutystation.domain.directive import ExemptionCategory
from dutystation.services import exemptions, status
from dutystation.web.auth import PageActor
from dutystation.web.error_pages import WebRoute
from dutystation.web.forms import FORM_ERRORS, checked_form, form_date, text_field, uploads
from dutystation.web.people import (
    employee_id_of_actor,
    filing_context,
    own_requests,
    status_context,
)
from dutystation.web.templating import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

FILES_MAX = 20  # form parts; the service's own limit (documents_per_request_max) is lower
FILING_FIELDS = ("category", "start", "end", "justification")


def my_status_page(
    request: Request,
    actor: Actor,
    *,
    form_error: str | None = None,
    entered: dict[str, str] | None = None,
) -> Response:
    runtime = get_runtime(request)
    employee_id = employee_id_of_actor(runtime, actor)
    if employee_id is None:
        raise errors.NotFound("your account is not linked to an employee record")
    context: dict[str, Any] = {
        "title": "My status",
        "own": True,
        "charts": True,
        "employee_id": employee_id,
        "requests": own_requests(runtime, actor, employee_id),
        "entered": entered or {},
        "form_error": form_error,
        "document_max_bytes": runtime.settings.document_max_bytes,
        "documents_max": runtime.settings.documents_per_request_max,
        **filing_context(),
    }
    try:
        context |= status_context(status.employee_status(runtime, actor))
    except errors.NoEvidence as exc:
        context["status_problem"] = str(exc)
    return render(
        request, "my_status.html", context, actor=actor, status_code=422 if form_error else 200
    )


@router.get("/me")
def my_status(request: Request, actor: PageActor) -> Response:
    return my_status_page(request, actor)


@router.post("/me/requests")
async def file_request(request: Request, actor: PageActor) -> Response:
    """File a request for oneself; back on "My status", with the form as it was filled
    and the service's sentence, when it refuses what was entered."""
    form = await checked_form(request, max_files=FILES_MAX)
    runtime = get_runtime(request)
    entered = {k: text_field(form, k) for k in FILING_FIELDS}
    try:
        request_id = await _file(runtime, actor, form, entered)
    except FORM_ERRORS as exc:
        refused = str(exc)
        return await run_in_threadpool(
            lambda: my_status_page(request, actor, form_error=refused, entered=entered)
        )
    finally:
        await form.close()  # the uploaded files' temporary copies
    return RedirectResponse(f"/requests/{request_id}?filed=1", status_code=303)


async def _file(runtime: Runtime, actor: Actor, form: FormData, entered: dict[str, str]) -> int:
    employee_id = await run_in_threadpool(employee_id_of_actor, runtime, actor)
    if employee_id is None:
        await run_in_threadpool(exemptions.refuse_unlinked, runtime, actor)  # raises NotFound
    if entered["category"] not in set(ExemptionCategory):
        raise errors.InvalidRequest("choose the category of the exemption")
    new = exemptions.NewRequest(
        employee_id=employee_id,
        category=ExemptionCategory(entered["category"]),
        start=form_date(form, "start", "first day", required=True) or date.min,
        end=form_date(form, "end", "last day", required=True) or date.min,
        justification=entered["justification"],
        documents=await uploads(form),
    )
    request_id: int = await run_in_threadpool(exemptions.request_exemption, runtime, actor, new)
    return request_id
