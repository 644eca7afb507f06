"""Reports and offices on the dashboard.

- ``GET /reports``: every report of the CLI, chosen and filtered (period, dates, org unit,
  the not-returned window), shown as tables with their charts, and downloadable in each
  format from ``GET /reports/download`` (CSV of one section, XLSX, JSON, HTML). Both go
  through ``services.reporting.access.build_report_for``: ``report.read`` on the org unit
  asked for, or on the whole organisation when none is given. The page's download form
  asks for the purpose and the recipient the disclosure ledger records (docs/privacy.md).
- ``GET /offices``: capacity against demand per office (the ``capacity`` report, with its
  map) and, for those who plan designations, the designation plan computed on demand
  (``GET /offices/plan``, not saved: saving is the CLI's ``designate plan``).

Without an org unit a person whose report grants are all for one subtree gets that
subtree, not an error about the whole organisation.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dutystation import errors
from dutystation.api.deps import get_runtime
from dutystation.domain.access import POLICY, Actor, Operation, could_ever
from dutystation.reports.model import Report
from dutystation.services.disclosures import (
    PURPOSE_MAX,
    RECIPIENT_MAX,
    record_report_export,
    stated,
)
from dutystation.services.reporting import ReportRequest
from dutystation.services.reporting.access import build_report_for, report_kinds
from dutystation.web.auth import PageActor
from dutystation.web.error_pages import WebRoute
from dutystation.web.forms import FORM_ERRORS
from dutystation.web.templating import ShownSection, render, shown_section

router = APIRouter(route_class=WebRoute, include_in_schema=False)

DOWNLOADS = (
    ("csv", "CSV (main table)"),
    ("xlsx", "Excel workbook"),
    ("json", "JSON"),
    ("html", "HTML page"),
)
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "html": "text/html; charset=utf-8",
}
FIELDS = ("kind", "period", "start", "end", "org", "days")
# What ``Sec-Fetch-Site`` says of a navigation from this site's own pages, or one the person
# started (typed, bookmarked). A stated purpose or recipient is accounting the person
# signs: another site must not be able to write it for them with a link (a GET carries no
# form token, and one in the URL would end up in logs and history).
OWN_SITE = frozenset({"same-origin", "none"})
FOREIGN_STATEMENT = (
    "a purpose or recipient is recorded only from the Reports page of this site; "
    "open the report there and download it again"
)


def default_org(actor: Actor) -> str | None:
    """The org unit of the actor's report grants when they all name the same one."""
    readers = POLICY[Operation.REPORT_READ]
    scopes = {g.scope for g in actor.grants if g.role in readers}
    if len(scopes) == 1:
        return next(iter(scopes))
    return None


@dataclass(frozen=True)
class Asked:
    """What the filter form holds, as typed (shown back) and as a ReportRequest."""

    entered: dict[str, str]
    request: ReportRequest | None


def _asked(request: Request, actor: Actor) -> Asked:
    entered = {k: request.query_params.get(k, "").strip()[:100] for k in FIELDS}
    if "org" not in request.query_params:
        entered["org"] = default_org(actor) or ""
    kinds = {k.kind for k in report_kinds()}
    if entered["kind"] not in kinds:
        return Asked(entered, None)

    def day(name: str) -> date | None:
        if not entered[name]:
            return None
        try:
            return date.fromisoformat(entered[name])
        except ValueError:
            raise errors.InvalidRequest(f"{entered[name]!r} is not a date (YYYY-MM-DD)") from None

    days = entered["days"]
    if days and not days.isdigit():
        raise errors.InvalidRequest("the number of days after the deadline is a whole number")
    return Asked(
        entered,
        ReportRequest(
            kind=entered["kind"],
            period=entered["period"] or None,
            start=day("start"),
            end=day("end"),
            org_unit=entered["org"] or None,
            days=int(days) if days else None,
        ),
    )


def shown_report(report: Report) -> list[ShownSection]:
    return [shown_section(s, f"{report.kind}-{s.key}") for s in report.sections]


@router.get("/reports")
def reports(request: Request, actor: PageActor) -> Response:
    runtime = get_runtime(request)
    if not could_ever(actor, Operation.REPORT_READ):
        raise errors.Forbidden(f"user {actor.username!r} may not {Operation.REPORT_READ.value}")
    context: dict[str, Any] = {"title": "Reports", "kinds": report_kinds(), "downloads": DOWNLOADS}
    built = None
    try:
        asked = _asked(request, actor)
        context["entered"] = asked.entered
        if asked.request is not None:
            built = build_report_for(runtime, actor, asked.request)
    except FORM_ERRORS as exc:
        context["problem"] = str(exc)
    context.setdefault("entered", {k: request.query_params.get(k, "") for k in FIELDS})
    if built is not None:
        context["report"] = built
        context["sections"] = shown_report(built)
        context["charts"] = any(s.chart is not None for s in built.sections)
        context |= {"fields": FIELDS, "purpose_max": PURPOSE_MAX, "recipient_max": RECIPIENT_MAX}
    return render(request, "reports.html", context, actor=actor)


@router.get("/reports/download")
def download(request: Request, actor: PageActor, format: str = "csv") -> Response:
    from dutystation.reports import csv, html, json, xlsx

    if format not in MEDIA:
        raise errors.InvalidRequest("the formats are csv, xlsx, json and html")
    asked = _asked(request, actor)
    if asked.request is None:
        raise errors.InvalidRequest("choose a report")
    runtime = get_runtime(request)
    said = stated(request.query_params.get("purpose"), request.query_params.get("recipient"))
    site = request.headers.get("sec-fetch-site", "none")  # absent: not a browser's request
    if (said.purpose or said.recipient) and site not in OWN_SITE:
        raise errors.Forbidden(FOREIGN_STATEMENT)
    built = build_report_for(runtime, actor, asked.request)
    if format == "csv":
        sink = io.BytesIO()
        csv.write_csv(built.section(), sink)
        data = sink.getvalue()
    elif format == "xlsx":
        data = xlsx.xlsx_bytes(built)
    elif format == "json":
        text = io.StringIO()
        json.write_json(built, text)
        data = text.getvalue().encode()
    else:
        data = html.render_html(built).encode()
    # A file of named records leaving the system: the Privacy Act accounting (docs/privacy.md),
    # written before the file is handed over.
    record_report_export(runtime.engine, actor, built, format, said)
    name = f"{built.kind}-{built.period_start.isoformat()}-to-{built.period_end.isoformat()}"
    headers = {"Content-Disposition": f'attachment; filename="{name}.{format}"'}
    return Response(data, media_type=MEDIA[format], headers=headers)


@router.get("/offices")
def offices(request: Request, actor: PageActor) -> Response:
    runtime = get_runtime(request)
    org = request.query_params.get("org", default_org(actor) or "").strip()[:100] or None
    context: dict[str, Any] = {"title": "Offices", "org": org or ""}
    try:
        built = build_report_for(runtime, actor, ReportRequest("capacity", org_unit=org))
        context["report"] = built
        context["sections"] = shown_report(built)
        context["charts"] = True
    except FORM_ERRORS as exc:
        context["problem"] = str(exc)
    context["may_plan"] = could_ever(actor, Operation.DESIGNATION_PLAN)
    return render(request, "offices.html", context, actor=actor)


@router.get("/offices/plan")
def designation_plan(request: Request, actor: PageActor) -> Response:
    """The designation plan as of today, computed and shown, not saved (an htmx partial
    on the offices page, or a page of its own without scripts)."""
    from dutystation.services.designation import PlanRequest, plan_designations

    runtime = get_runtime(request)
    org = request.query_params.get("org", "").strip()[:100] or None
    context: dict[str, Any] = {"title": "Designation plan"}
    try:
        outcome = plan_designations(
            runtime, actor, PlanRequest(day=date.today(), org_unit=org, save=False)
        )
        context["plan"] = outcome.report
        context["plan_sections"] = shown_report(outcome.report)
        context["charts"] = any(s.chart is not None for s in outcome.report.sections)
    except FORM_ERRORS as exc:
        context["problem"] = str(exc)
    partial = bool(request.headers.get("hx-request"))
    return render(request, "_plan.html" if partial else "plan.html", context, actor=actor)
