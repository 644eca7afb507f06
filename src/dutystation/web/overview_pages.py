"""The overview (``/overview``) for leaders, TMOs, HR, the agency head and auditors, and
its drill-down: component → office → team → person.

- ``/overview?org=X``: ``services.status_overview.component_overview`` — per child unit
  the on-site share of hours with its weekly trend since the directive, the compliance
  rate, the not-returned count, exemptions by category group and the expected date of
  full compliance, all from the evaluation snapshot. A unit with units below it opens the
  same view (htmx swaps the body and keeps the URL); a unit's own staff open the list of
  people (``services.status.unit_people``).
- ``/people/{employee_id}``: one person's status (``services.status.employee_status``),
  the page "My status" shows for oneself.

``trail`` (the units clicked through) only draws the breadcrumb; every unit is authorised
again when it is opened, and one outside the actor's scope answers like a missing one.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dutystation.api.deps import get_runtime
from dutystation.services import status
from dutystation.services.status_overview import component_overview
from dutystation.web import charts
from dutystation.web.auth import PageActor
from dutystation.web.error_pages import WebRoute
from dutystation.web.forms import page_number
from dutystation.web.people import status_context
from dutystation.web.templating import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

ORG_MAX = 100
TRAIL_MAX = 10
PEOPLE_PAGE = 50


def _trail(text: str) -> list[str]:
    """The units clicked through to get here (``trail=COMP-A,OFFICE-1``)."""
    return [code.strip()[:ORG_MAX] for code in text.split(",") if code.strip()][:TRAIL_MAX]


def _partial(request: Request) -> bool:
    return bool(request.headers.get("hx-request")) and not request.headers.get(
        "hx-history-restore-request"
    )


@router.get("/overview")
def overview(request: Request, actor: PageActor) -> Response:
    runtime = get_runtime(request)
    asked = request.query_params.get("org", "").strip()[:ORG_MAX] or None
    found = component_overview(runtime, actor, asked)
    trail = _trail(request.query_params.get("trail", ""))
    units = [u for u in (found.total, *found.children) if u is not None]
    share = charts.unit_shares(found.children or units)
    trend = charts.weekly_trend(units)
    groups = sorted({g for u in units for g in u.exemptions})
    context: dict[str, Any] = {
        "title": f"Overview: {found.name}",
        "overview": found,
        "trail": trail,
        "child_trail": ",".join([*trail, found.org_unit] if found.org_unit else trail),
        "share_chart": share,
        "trend_chart": trend,
        "groups": groups,
        "weeks": sorted({(w.week, w.week_start) for u in units for w in u.weeks}),
        "charts": True,
    }
    template = "_overview.html" if _partial(request) else "overview.html"
    return render(request, template, context, actor=actor)


@router.get("/overview/people")
def people(request: Request, actor: PageActor, org: str = "", page: str = "1") -> Response:
    """The people of one unit (not the units below it), a page at a time."""
    runtime = get_runtime(request)
    number = page_number(page)
    unit = org.strip()[:ORG_MAX]
    found = status.unit_people(
        runtime, actor, unit, limit=PEOPLE_PAGE, offset=(number - 1) * PEOPLE_PAGE
    )
    trail = _trail(request.query_params.get("trail", ""))
    context = {
        "title": f"People of {unit}",
        "org": unit,
        "people": found,
        "page": number,
        "more": found.offset + len(found.items) < found.total,
        "trail": trail,
        "child_trail": ",".join(trail),
    }
    template = "_unit_people.html" if _partial(request) else "unit_people.html"
    return render(request, template, context, actor=actor)


@router.get("/people/{employee_id}")
def person(request: Request, actor: PageActor, employee_id: str) -> Response:
    found = status.employee_status(get_runtime(request), actor, employee_id[:ORG_MAX])
    context = {
        "title": f"Status of {found.name}",
        "charts": True,
        **status_context(found),
    }
    return render(request, "person.html", context, actor=actor)
