"""Reports over HTTP: ``services.reporting.access.build_report_for`` (docs/reports.md).

``GET /reports`` lists the kinds; ``GET /reports/{kind}`` builds one for the caller's
scope (``report.read`` on the org unit asked for, or on the whole organisation) and
answers it in the format asked for: JSON inline (the documented report document), CSV,
XLSX and HTML as downloads with a server-made file name. The renderers are the CLI's, so
every format shows the same numbers.
"""

from __future__ import annotations

import io
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from dutystation.api.deps import CurrentActor, RuntimeDep
from dutystation.api.errors import problem_responses
from dutystation.api.routes.codes import Day, OrgUnitQuery
from dutystation.api.routes.disclosures import PurposeQuery, RecipientQuery
from dutystation.errors import ConfigError, DutystationError, InvalidRequest
from dutystation.reports.formats import Format, default_path
from dutystation.reports.model import Report
from dutystation.services.disclosures import record_report_export, stated
from dutystation.services.reporting import KINDS, ReportRequest
from dutystation.services.reporting.access import build_report_for, report_kinds

router = APIRouter(prefix="/reports", tags=["reports"])


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"
    HTML = "html"


MEDIA_TYPES = {
    ReportFormat.JSON: "application/json",
    ReportFormat.CSV: "text/csv; charset=utf-8",
    ReportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ReportFormat.HTML: "text/html; charset=utf-8",
}
KIND_PATTERN = "^(" + "|".join(KINDS) + ")$"
FormatQuery = Annotated[
    ReportFormat,
    Query(description="json (inline); csv, xlsx or html (downloads)."),
]


def _json_schema() -> dict[str, Any]:
    from dutystation.reports.json import JSON_SCHEMA

    return {k: v for k, v in JSON_SCHEMA.items() if k != "$schema"}


# The OpenAPI ``responses=`` of a route answering a report.
REPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report: a JSON document (docs/reports.md, 'JSON'), or a file.",
        "content": {
            MEDIA_TYPES[ReportFormat.JSON]: {"schema": _json_schema()},
            **{
                MEDIA_TYPES[f].split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
                for f in (ReportFormat.CSV, ReportFormat.XLSX, ReportFormat.HTML)
            },
        },
        "headers": {
            "Content-Disposition": {
                "description": "attachment; filename=KIND-START-to-END.EXT (not for json).",
                "schema": {"type": "string"},
            }
        },
    },
    **problem_responses(401, 403, 404, 422, 503),
}


def report_response(report: Report, fmt: ReportFormat, section: str | None = None) -> Response:
    """``report`` rendered as ``fmt``: JSON inline, the others as an attachment named by
    the server (``KIND-START-to-END.EXT``). ``section``: the CSV's table (default: the
    report's main one)."""
    # Imported here: the HTML renderer loads vl-convert, the XLSX one openpyxl.
    from dutystation.reports import csv, html, json, xlsx

    if section is not None and fmt is not ReportFormat.CSV:
        raise ConfigError("section applies to the csv format only")
    if section is not None:
        try:
            report.section(section)
        except KeyError:
            raise ConfigError(f"report {report.kind} has no section {section!r}") from None
    headers: dict[str, str] = {}
    if fmt is ReportFormat.JSON:
        text = io.StringIO()
        json.write_json(report, text)
        content = text.getvalue().encode()
    else:
        name = default_path(report, Format(fmt.value)).name
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
        if fmt is ReportFormat.CSV:
            sink = io.BytesIO()
            csv.write_csv(report.section(section), sink, excel_bom=True)
            content = sink.getvalue()
        elif fmt is ReportFormat.XLSX:
            try:
                content = xlsx.xlsx_bytes(report)
            except DutystationError as exc:  # a section larger than a worksheet
                raise InvalidRequest(str(exc)) from None
        else:
            content = html.render_html(report).encode()
    return Response(content=content, media_type=MEDIA_TYPES[fmt], headers=headers)


class ReportKindOut(BaseModel):
    kind: str
    description: str
    options: list[str] = Field(description="Options only this kind takes (days, hours, ...).")
    formats: list[ReportFormat]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "kind": "not-returned",
                    "description": "Per component, who in scope has not come back ...",
                    "options": ["days"],
                    "formats": ["json", "csv", "xlsx", "html"],
                }
            ]
        }
    }


@router.get(
    "",
    summary="The report kinds",
    response_model=list[ReportKindOut],
    responses=problem_responses(401),
)
def list_reports(actor: CurrentActor) -> list[ReportKindOut]:
    """Every report kind with what it answers. Whether you may read one depends on your
    roles and the org unit asked for."""
    return [
        ReportKindOut(
            kind=k.kind,
            description=k.description,
            options=list(k.options),
            formats=list(ReportFormat),
        )
        for k in report_kinds()
    ]


@router.get(
    "/{kind}",
    summary="Build a report",
    response_class=Response,
    responses=REPORT_RESPONSES,
)
def get_report(
    runtime: RuntimeDep,
    actor: CurrentActor,
    kind: Annotated[str, Path(pattern=KIND_PATTERN, description="One of GET /reports.")],
    format: FormatQuery = ReportFormat.JSON,
    period: Annotated[
        str | None,
        Query(
            max_length=40,
            description="2025-02-11, 2025-02-03..2025-02-28, 2025-W07, 2025-PP05, 2025-02, "
            "2025-Q1 or since-directive (the default); cut to the days with evidence.",
        ),
    ] = None,
    start: Annotated[Day | None, Query(alias="from", description="First day.")] = None,
    end: Annotated[Day | None, Query(alias="to", description="Last day.")] = None,
    org: OrgUnitQuery = None,
    days: Annotated[
        int | None, Query(ge=0, le=3660, description="not-returned: days after the deadline.")
    ] = None,
    hours: Annotated[
        Literal["first-last", "pairs"] | None, Query(description="presence: hours convention.")
    ] = None,
    direction: Annotated[
        Literal["reader", "alternating"] | None, Query(description="presence: directions.")
    ] = None,
    section: Annotated[
        str | None,
        Query(pattern=r"^[a-z0-9-]{1,64}$", description="csv: the section (default: main)."),
    ] = None,
    purpose: PurposeQuery = None,
    recipient: RecipientQuery = None,
) -> Response:
    """The report for your scope. 404 for an org unit you may not see (as for one that
    does not exist) and for a period without evidence; 422 for options that do not fit.
    A report naming people is recorded in their disclosure ledger."""
    said = stated(purpose, recipient)
    request = ReportRequest(
        kind=kind,
        period=period,
        start=start,
        end=end,
        org_unit=org,
        days=days,
        hours=hours,
        direction=direction,
    )
    built = build_report_for(runtime, actor, request)
    answer = report_response(built, format, section)
    # Rendered first (a bad section is refused without an entry), recorded before it leaves.
    record_report_export(runtime.engine, actor, built, format.value, said, section=section)
    return answer
