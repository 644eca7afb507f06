"""The ``grievances`` report: grievances filed under a bargaining agreement about the
directive, per component: agreement, union, filing day, status and affected employees,
and the outcome once there is one (docs/reports.md).

Its period is the grievances', not the evidence's: ``--period`` or ``--from``/``--to``
(not cut to the days with T&A hours or badges), by default from the first filing to
today. A grievance is listed when it was filed by the period's last day and was still
open on its first day (or closed within it); its status is the one it had on the last
day. The report reads the store only, so it works before any evidence is imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pyarrow as pa
from sqlalchemy import select

from dutystation.bootstrap import Runtime
from dutystation.domain.access import SYSTEM
from dutystation.errors import ConfigError, NotFound
from dutystation.reports.model import Column, ColumnKind, Report
from dutystation.services.grievances import GrievanceView, read_grievances, readable
from dutystation.services.reporting.inputs import ReportRequest
from dutystation.services.reporting.periods import SINCE_DIRECTIVE, parse_period
from dutystation.services.reporting.tables import ReportContext, names_column, query, section
from dutystation.store.db import translate_errors
from dutystation.store.schema import OrgUnit

_K = ColumnKind
SCHEMA = pa.schema(
    [
        ("component", pa.string()),
        ("grievance", pa.int64()),
        ("agreement", pa.string()),
        ("union", pa.string()),
        ("filed_on", pa.date32()),
        ("subject", pa.string()),
        ("status", pa.string()),
        ("status_on", pa.date32()),
        ("affected", pa.int64()),
        ("outcome", pa.string()),
        ("outcome_on", pa.date32()),
    ]
)
COMPONENT = Column(
    "component", "Component", short="Comp.", priority=0, description="Org unit it was filed in"
)
COLUMNS_LIST = [
    COMPONENT,
    Column(
        "grievance",
        "Grievance",
        _K.INTEGER,
        short="No.",
        priority=0,
        description="The grievance's number (dutystation grievances show N)",
    ),
    Column(
        "agreement",
        "Agreement",
        short="CBA",
        priority=1,
        description="Code of the agreement it was filed under",
    ),
    Column("union", "Union", priority=4, wrap=True, description="The union that filed it"),
    Column("filed_on", "Filed", _K.DATE, priority=2, description="Day it was filed"),
    Column("subject", "Subject", priority=5, wrap=True, description="What it is about"),
    Column(
        "status",
        "Status",
        priority=0,
        description="filed, in_progress, arbitration, resolved or withdrawn, on the last day",
    ),
    Column("status_on", "Since", _K.DATE, priority=3, description="Day of that status"),
    Column(
        "affected",
        "Affected",
        _K.INTEGER,
        short="Empl.",
        priority=1,
        description="Employees it concerns",
    ),
    Column(
        "outcome",
        "Outcome",
        priority=6,
        wrap=True,
        description="Settlement or award, once recorded by the last day",
    ),
    Column("outcome_on", "Outcome on", _K.DATE, priority=7, description="Day of the outcome"),
]
COLUMNS_SUMMARY = [
    COMPONENT,
    Column("name", "Name", priority=3, wrap=True, description="Org unit name"),
    Column(
        "open",
        "Open",
        _K.INTEGER,
        priority=0,
        description="Filed, in progress or in arbitration on the last day",
    ),
    Column(
        "arbitration",
        "In arbitration",
        _K.INTEGER,
        short="Arb.",
        priority=2,
        description="Of the open ones, in arbitration",
    ),
    Column("resolved", "Resolved", _K.INTEGER, priority=1, description="Resolved"),
    Column("withdrawn", "Withdrawn", _K.INTEGER, priority=2, description="Withdrawn"),
    Column(
        "affected_open",
        "Affected (open)",
        _K.INTEGER,
        short="Empl.",
        priority=1,
        description="Employees the open ones concern (each counted once)",
    ),
]


def grievance_rows(views: Sequence[GrievanceView], start: date, end: date) -> pa.Table:
    """One row per grievance of the period (module docstring), status as of ``end``."""
    rows = []
    for v in views:
        step = v.history.status_on(end)
        if step is None:
            continue  # filed after the period
        closed_before = step.status.closed and step.on < start
        if closed_before:
            continue
        known = v.outcome_on is not None and v.outcome_on <= end
        rows.append(
            {
                "component": v.component,
                "grievance": v.id,
                "agreement": v.agreement,
                "union": v.union,
                "filed_on": v.filed_on,
                "subject": v.subject,
                "status": step.status.value,
                "status_on": step.on,
                "affected": len(v.employees),
                "outcome": v.outcome if known else None,
                "outcome_on": v.outcome_on if known else None,
                "employees": list(v.employees),
            }
        )
    table = pa.Table.from_pylist(
        rows, schema=SCHEMA.append(pa.field("employees", pa.list_(pa.string())))
    )
    return table


def grievances_report(rows: pa.Table, context: ReportContext) -> Report:
    """The report over ``grievance_rows`` (aggregated in DuckDB)."""
    listed = query(
        "SELECT * EXCLUDE (employees) FROM g ORDER BY component, filed_on, grievance", g=rows
    )
    summary = query(
        """
        WITH people AS (
            SELECT DISTINCT component, unnest(employees) AS employee FROM g
            WHERE status NOT IN ('resolved', 'withdrawn')
        )
        SELECT g.component,
               count(*) FILTER (WHERE status NOT IN ('resolved', 'withdrawn')) AS open,
               count(*) FILTER (WHERE status = 'arbitration') AS arbitration,
               count(*) FILTER (WHERE status = 'resolved') AS resolved,
               count(*) FILTER (WHERE status = 'withdrawn') AS withdrawn,
               (SELECT count(*) FROM people WHERE people.component = g.component)
                   AS affected_open
        FROM g GROUP BY g.component ORDER BY g.component""",
        g=rows,
    )
    summary = summary.append_column("name", names_column(summary["component"], context))
    notes = [
        "Listed: grievances filed by the last day of the period and still open on its first "
        "day, or closed within it; status and outcome as of the last day.",
        "The report's period is not cut to the evidence: grievances do not depend on it.",
    ]
    return Report(
        kind="grievances",
        title="Grievances under bargaining agreements",
        subtitle="Per component: grievances filed about the directive, their status, the "
        "employees they concern and their outcome",
        period_start=context.start,
        period_end=context.end,
        as_of=context.as_of,
        sections=(
            section("summary", "Grievances per component", COLUMNS_SUMMARY, summary, notes=notes),
            section("grievances", "Grievances", COLUMNS_LIST, listed),
        ),
        primary="grievances",
        notes=context.notes,
        parameters=context.parameters,
    )


def build(runtime: Runtime, request: ReportRequest) -> Report:
    """The report from the store. Reports run without a signed-in user today (like every
    other report kind); the ``grievances`` commands apply the reader's scope."""
    with translate_errors(), runtime.engine.connect() as conn:
        names = {str(c): str(n) for c, n in conn.execute(select(OrgUnit.code, OrgUnit.name))}
        if request.org_unit is not None and request.org_unit not in names:
            raise NotFound(f"org unit {request.org_unit!r} does not exist")
        views = readable(conn, SYSTEM, read_grievances(conn), request.org_unit)
    start, end = _period(request, views)
    shown = {"org unit": request.org_unit} if request.org_unit else {}
    context = ReportContext(start, end, end, request.org_unit, (), names, (), shown)
    return grievances_report(grievance_rows(views, start, end), context)


def _period(request: ReportRequest, views: Sequence[GrievanceView]) -> tuple[date, date]:
    if request.period is not None and (request.start or request.end):
        raise ConfigError("give either --period or --from/--to, not both")
    if request.period is not None and request.period.strip().lower() != SINCE_DIRECTIVE:
        return parse_period(request.period)
    today = date.today()
    first = min((v.filed_on for v in views), default=today)
    start, end = request.start or min(first, today), request.end or today
    if end < start:
        raise ConfigError(
            f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})"
        )
    return start, end
