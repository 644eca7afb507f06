"""The ``not-returned`` report: per component, everyone in scope who has not come back.

The department memo of January 2025 asked each component to report, within 30 days,
officials who have not returned, with documented reasons (DESIGN.md §7). Here:

- **Window.** For each directive, from its full-compliance deadline (its effective date if
  it sets none) to ``days`` days after it (``--days``; default the directive's
  ``deadlines.not_returned_report_days``, else 30). A day counts in the window of the
  directive binding the person that day. ``--period`` replaces every window with one.
- **Returned.** At least one day in the window with evidence of presence: a badge tap, T&A
  hours on site, or field work or official travel (which count as at the duty station).
- **Listed.** Bound by a directive on some day of the window (status not
  ``not_in_scope``), not returned, and not compliant over the window (someone on leave the
  whole window, or presumed compliant field staff, is not listed). Their status for the
  window is the most excusing one they had: exempt, then covered by agreement, then
  pending exemption, then non compliant; the reason is that of the last such day, so it
  carries the documented basis. Confidential categories are never named."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa

from dutystation.domain.directive import Directive
from dutystation.reports.model import Column, ColumnKind, Report
from dutystation.services.reporting.agreement_coverage import coverage_section
from dutystation.services.reporting.tables import ReportContext, query, section, within

DEFAULT_DAYS = 30
_K = ColumnKind
# Higher wins when a window holds several statuses (see the module docstring).
_RANK = {
    "exempt": 6,
    "covered_by_agreement": 5,
    "pending_exemption": 4,
    "non_compliant": 3,
    "not_yet_due": 2,
    "compliant": 1,
    "not_in_scope": 0,
}


@dataclass(frozen=True)
class Window:
    directive_ref: str
    start: date
    end: date


def windows(directives: Sequence[Directive], days: int | None) -> list[Window]:
    """Each directive's window: its deadline to ``days`` days after it."""
    found = []
    for d in directives:
        start = d.deadlines.full_compliance or d.effective
        length = days if days is not None else d.deadlines.not_returned_report_days
        found.append(Window(d.ref, start, start + timedelta(days=length or DEFAULT_DAYS)))
    return found


def _windows_table(found: Sequence[Window]) -> pa.Table:
    return pa.table(
        {
            "directive_ref": pa.array([w.directive_ref for w in found], pa.string()),
            "window_start": pa.array([w.start for w in found], pa.date32()),
            "window_end": pa.array([w.end for w in found], pa.date32()),
        }
    )


_RANK_SQL = "CASE status " + " ".join(f"WHEN '{s}' THEN {r}" for s, r in _RANK.items()) + " END"

_PEOPLE = f"""
WITH d AS (
    SELECT e.*, w.window_start, w.window_end, {_RANK_SQL} AS rank,
           CAST(e.days_present_badge AS BIGINT) > 0 OR CAST(e.days_on_site_ta AS BIGINT) > 0
               OR e.hours_on_site > 0 OR e.hours_field_travel > 0 AS present
    FROM ev AS e JOIN win AS w ON w.directive_ref = e.directive_ref
    WHERE e.period_kind = 'day' AND e.period_start BETWEEN w.window_start AND w.window_end
),
p AS (
    SELECT employee_id,
           arg_max(name, period_start) AS name,
           arg_max(component, period_start) AS component,
           arg_max(org_unit, period_start) AS org_unit,
           arg_max(arrangement, period_start) AS arrangement,
           arg_max(duty_station, period_start) AS duty_station,
           arg_max(bargaining_unit, period_start) AS bargaining_unit,
           max(period_start) AS last_day,
           min(window_start) AS window_start, max(window_end) AS window_end,
           bool_or(present) AS returned,
           max(rank) AS top_rank,
           count(*) FILTER (WHERE hours_required > 0) AS workdays,
           sum(hours_required) AS hours_required,
           -- the reason of the last day with the window's status
           arg_max(status, rank * 100000 + (period_start - DATE '2000-01-01')) AS status,
           arg_max(reason, rank * 100000 + (period_start - DATE '2000-01-01')) AS reason
    FROM d GROUP BY employee_id
)"""

COMPONENT = Column(
    "component",
    "Component",
    short="Comp.",
    priority=0,
    description="Component (the unit below the department)",
)
EMPLOYEE = Column(
    "employee_id", "Employee", short="Emp. id", priority=0, description="HR employee id"
)
NAME = Column("name", "Name", priority=2, description="Employee name")
STATUS = Column("status", "Status", priority=0, description="Status over the window")
REASON = Column(
    "reason",
    "Documented reason",
    short="Reason",
    priority=1,
    wrap=True,
    description="Why: the exemption, agreement or pending request, or what was measured",
)
COLUMNS_DETAIL = [
    COMPONENT,
    Column(
        "org_unit",
        "Org unit",
        short="Unit",
        priority=5,
        description="Org unit on the last day of the window",
    ),
    EMPLOYEE,
    NAME,
    Column(
        "arrangement",
        "Arrangement",
        short="Arr.",
        priority=4,
        description="onsite, field, telework or remote on the last day of the window",
    ),
    Column(
        "duty_station",
        "Duty station",
        short="Station",
        priority=6,
        description="Duty station (office id) on the last day; empty for remote staff with none",
    ),
    STATUS,
    Column(
        "workdays",
        "Workdays in window",
        _K.INTEGER,
        short="Days",
        priority=7,
        description="Days in the window with hours required",
    ),
    REASON,
    Column(
        "window_start", "Window from", _K.DATE, priority=9, description="First day of the window"
    ),
    Column("window_end", "Window to", _K.DATE, priority=9, description="Last day of the window"),
]


def _count(name: str, label: str, short: str, what: str) -> Column:
    return Column(name, label, _K.INTEGER, short=short, priority=1, description=what)


COLUMNS_SUMMARY = [
    COMPONENT,
    _count("in_scope", "In scope", "Scope", "Bound by a directive on some day of the window"),
    _count("returned", "Returned", "Back", "In scope with a day of presence in the window"),
    _count("not_returned", "Not returned", "Not back", "In scope, listed in the detail"),
    _count("exempt", "Exempt", "Exempt", "Not returned, with an approved exemption"),
    _count("covered_by_agreement", "Covered by agreement", "CBA", "Not returned, under a CBA"),
    _count("pending_exemption", "Exemption pending", "Pending", "Not returned, request pending"),
    _count("non_compliant", "Non compliant", "Non-c.", "Not returned, no documented reason"),
    Column(
        "share_not_returned",
        "Share not returned",
        _K.SHARE,
        short="Share",
        priority=2,
        description="Not returned, of those in scope",
    ),
]


def not_returned(
    employee_periods: pa.Table,
    context: ReportContext,
    found: Sequence[Window],
    spans: pa.Table | None = None,
) -> Report:
    """``spans``: the agreement clauses' legal-status spans
    (``agreement_coverage.stored_spans``); with them, the report counts the people under
    each legal status (section ``agreements``)."""
    employee_periods = within(employee_periods, context.org_unit)
    win = _windows_table(found)
    listed = query(
        f"""{_PEOPLE}
        SELECT component, org_unit, employee_id, name, arrangement, duty_station, status,
               workdays,
               -- A day's own reason ("0 of 8 h") says nothing about the window; without a
               -- documented basis the window's measure is the reason to report.
               CASE WHEN status IN ('non_compliant', 'not_yet_due')
                    THEN printf('no documented reason: no day on site in %d workday(s) '
                                || '(%s h required) of the window', workdays,
                                CAST(round(hours_required, 1) AS VARCHAR))
                    ELSE reason END AS reason,
               window_start, window_end
        FROM p WHERE top_rank > 0 AND NOT returned AND top_rank <> {_RANK["compliant"]}
        ORDER BY component, status, employee_id""",
        ev=employee_periods,
        win=win,
    )
    summary = query(
        f"""{_PEOPLE}, s AS (SELECT * FROM p WHERE top_rank > 0)
        SELECT component, count(*) AS in_scope, count(*) FILTER (WHERE returned) AS returned,
               count(*) FILTER (WHERE NOT returned AND top_rank <> 1) AS not_returned,
               count(*) FILTER (WHERE NOT returned AND status = 'exempt') AS exempt,
               count(*) FILTER (WHERE NOT returned AND status = 'covered_by_agreement')
                   AS covered_by_agreement,
               count(*) FILTER (WHERE NOT returned AND status = 'pending_exemption')
                   AS pending_exemption,
               count(*) FILTER (WHERE NOT returned AND status IN ('non_compliant', 'not_yet_due'))
                   AS non_compliant,
               round(count(*) FILTER (WHERE NOT returned AND top_rank <> 1) / count(*), 4)
                   AS share_not_returned
        FROM s GROUP BY component ORDER BY component""",
        ev=employee_periods,
        win=win,
    )
    notes = [
        "A person has returned with at least one day in the window with a badge tap, T&A "
        "hours on site, or field work or official travel.",
        "Status for the window: the most excusing one the person had (exempt, covered by "
        "agreement, pending exemption, non compliant); the reason is that of its last day. "
        "Confidential exemption categories read as 'confidential category'.",
    ]
    for w in found:
        notes.append(f"Window for {w.directive_ref}: {w.start.isoformat()} to {w.end.isoformat()}.")
    last = max((w.end for w in found), default=context.end)
    if last > context.as_of:
        notes.append(
            f"Evidence ends on {context.as_of.isoformat()}, before the window does: people "
            "listed may still return within it."
        )
    return Report(
        kind="not-returned",
        title="Not returned to the duty station",
        subtitle="Per component: everyone in scope with no day on site in the window after "
        "the full-compliance deadline, with status and documented reason",
        period_start=context.start,
        period_end=context.end,
        as_of=context.as_of,
        sections=(
            section(
                "summary", "Not returned, per component", COLUMNS_SUMMARY, summary, notes=notes
            ),
            section("people", "People not returned", COLUMNS_DETAIL, listed),
            *(
                [coverage_section(_PEOPLE, employee_periods, win, spans)]
                if spans is not None
                else []
            ),
        ),
        primary="people",
        notes=context.notes,
        parameters=context.parameters,
    )
