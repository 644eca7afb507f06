"""The badge reports: ``utilisation`` (offices against their seats), ``discrepancies``
(T&A against badges) and ``presence`` (per employee and day). The figures come from
``services/presence.py``; this module orders them, adds summaries and charts."""

from __future__ import annotations

import pyarrow as pa

from dutystation.domain.presence import DirectionMode, HoursConvention, PresenceSettings
from dutystation.reports import charts
from dutystation.reports.model import Column, ColumnKind, Report
from dutystation.services.reporting.tables import ReportContext, query, section

_K = ColumnKind
CHART_OFFICES = 20

UTILISATION_COLUMNS = [
    Column("site_id", "Office", priority=0, description="Office (site) id"),
    Column("name", "Name", priority=6, wrap=True, description="Office name"),
    Column("seats", "Seats", _K.INTEGER, priority=0, description="Seat capacity"),
    Column(
        "days",
        "Business days",
        _K.INTEGER,
        short="Days",
        priority=5,
        description="Business days in the period",
    ),
    Column(
        "avg_daily_occupancy",
        "Average daily occupancy",
        _K.NUMBER,
        short="Avg/day",
        priority=1,
        description="Mean of distinct people badged per business day",
    ),
    Column(
        "peak_daily_occupancy",
        "Peak daily occupancy",
        _K.INTEGER,
        short="Peak",
        priority=0,
        description="Most distinct people badged on one day",
    ),
    Column(
        "peak_date",
        "Peak date",
        _K.DATE,
        short="Peak day",
        priority=3,
        description="First day the peak was reached",
    ),
    Column(
        "avg_utilisation",
        "Average utilisation",
        _K.SHARE,
        short="Avg use",
        priority=1,
        description="Average daily occupancy divided by seats",
    ),
    Column(
        "peak_utilisation",
        "Peak utilisation",
        _K.SHARE,
        short="Peak use",
        priority=0,
        description="Peak daily occupancy divided by seats",
    ),
    Column(
        "over_capacity_days",
        "Days over capacity",
        _K.INTEGER,
        short="Over",
        priority=2,
        description="Days with more people than seats",
    ),
]


def utilisation(offices: pa.Table, context: ReportContext) -> Report:
    """``offices``: ``services.presence.UTILISATION_SCHEMA``."""
    ordered = query(
        "SELECT * REPLACE (round(avg_daily_occupancy, 1) AS avg_daily_occupancy, "
        "round(avg_utilisation, 4) AS avg_utilisation, "
        "round(peak_utilisation, 4) AS peak_utilisation) "
        "FROM t ORDER BY peak_utilisation DESC NULLS LAST, site_id",
        t=offices,
    )
    top = ordered.slice(0, CHART_OFFICES)
    over = query("SELECT count(*) FILTER (WHERE over_capacity_days > 0) AS n FROM t", t=offices)
    n_over = over.column("n")[0].as_py()
    labels = query("SELECT site_id || ' ' || coalesce(name, '') AS office, * FROM t", t=top)
    chart = charts.utilisation_bars(
        labels.select(["office", "avg_utilisation", "peak_utilisation"]),
        measures=[("avg_utilisation", "average day"), ("peak_utilisation", "peak day")],
        title="Daily occupancy as a share of seats",
        description=(
            f"The {top.num_rows} offices with the highest peak utilisation: bars are the "
            "average and the peak day's people badged in, as a share of the office's seats; "
            f"the dashed line is 100 %. {n_over} of {offices.num_rows} offices had more "
            "people than seats on some day."
        ),
    )
    notes = [
        f"{n_over} of {offices.num_rows} office(s) had more people than seats on at least one day.",
        "Occupancy is the number of distinct employees with a badge tap at the office on a "
        "day (anyone, whatever their org unit: seats are physical). Averages are over "
        "business days; weekends and federal holidays are left out.",
    ]
    return Report(
        kind="utilisation",
        title="Office utilisation",
        subtitle="Per office: average and peak daily occupancy against seat capacity",
        period_start=context.start,
        period_end=context.end,
        as_of=context.as_of,
        sections=(
            section(
                "offices",
                "Occupancy per office",
                UTILISATION_COLUMNS,
                ordered,
                notes=notes,
                chart=chart,
            ),
        ),
        primary="offices",
        notes=context.notes,
        parameters=context.parameters,
    )


KIND_MEANINGS = {
    "onsite_hours_without_badge": "T&A records hours on site, and no badge tap that day",
    "badge_on_telework_day": "badge taps on a day T&A records as telework only",
    "badge_on_remote_day": "badge taps on a day T&A records as remote work only",
    "badge_on_leave_day": "badge taps on a day T&A records as leave only",
}
KIND = Column(
    "kind",
    "Conflict",
    priority=0,
    description="onsite_hours_without_badge, badge_on_telework_day, badge_on_remote_day or "
    "badge_on_leave_day",
)
DISCREPANCY_COLUMNS = [
    Column(
        "date",
        "Date",
        _K.DATE,
        priority=0,
        description="The day (office-local for badges, the timecard's date for T&A)",
    ),
    Column("employee_id", "Employee", short="Emp. id", priority=0, description="HR employee id"),
    KIND,
    Column(
        "ta_category",
        "T&A category",
        short="T&A",
        priority=1,
        description="T&A hours category of the day",
    ),
    Column(
        "ta_hours",
        "T&A hours",
        _K.HOURS,
        short="Hours",
        priority=1,
        description="T&A hours of that category on the day",
    ),
    Column(
        "badge_taps",
        "Badge taps",
        _K.INTEGER,
        short="Taps",
        priority=1,
        description="Raw badge taps stored for the day",
    ),
    Column("site_id", "Office", priority=2, description="Office (site) id"),
]
SUMMARY_COLUMNS = [
    KIND,
    Column("conflicts", "Conflicts", _K.INTEGER, priority=0, description="Employee-days"),
    Column(
        "employees",
        "Employees",
        _K.INTEGER,
        short="People",
        priority=0,
        description="Distinct employees with this kind of conflict",
    ),
    Column("meaning", "Meaning", priority=1, wrap=True, description="What the conflict kind means"),
]


def discrepancies(conflicts: pa.Table, context: ReportContext) -> Report:
    """``conflicts``: ``services.presence.DISCREPANCIES_SCHEMA``."""
    meanings = pa.table({"kind": list(KIND_MEANINGS), "meaning": list(KIND_MEANINGS.values())})
    summary = query(
        "SELECT m.kind, count(t.kind) AS conflicts, count(DISTINCT t.employee_id) AS employees, "
        "m.meaning FROM m LEFT JOIN t ON t.kind = m.kind "
        "GROUP BY m.kind, m.meaning ORDER BY conflicts DESC, m.kind",
        t=conflicts,
        m=meanings,
    )
    detail = query("SELECT * FROM t ORDER BY date, employee_id, kind, ta_category", t=conflicts)
    notes = [
        "T&A hours are the official record of hours worked; badge taps are the physical "
        "record. Neither is corrected: each conflict is for a supervisor to ask about.",
        "A day split between on-site and telework hours explains its taps, and so does "
        "field work that starts at an office.",
    ]
    return Report(
        kind="discrepancies",
        title="T&A and badge discrepancies",
        subtitle="Days where the time-and-attendance record and badge taps disagree",
        period_start=context.start,
        period_end=context.end,
        as_of=context.as_of,
        sections=(
            section("summary", "Conflicts by kind", SUMMARY_COLUMNS, summary, notes=notes),
            section("conflicts", "Conflicts", DISCREPANCY_COLUMNS, detail),
        ),
        primary="conflicts",
        notes=context.notes,
        parameters=context.parameters,
    )


PRESENCE_COLUMNS = [
    Column("employee_id", "Employee", short="Emp. id", priority=0, description="HR employee id"),
    Column(
        "date",
        "Date",
        _K.DATE,
        priority=0,
        description="Office-local day of the taps",
    ),
    Column("first_in", "First in", _K.DATETIME, priority=1, description="Office-local time"),
    Column("last_out", "Last out", _K.DATETIME, priority=1, description="Office-local time"),
    Column(
        "hours_on_site",
        "Hours on site",
        _K.HOURS,
        short="Hours",
        priority=0,
        description="Hours on site by the chosen convention",
    ),
    Column("site_id", "Office", priority=2, description="Office of the day's first tap"),
    Column("source", "Source", priority=3, description="badge"),
]


_CONVENTIONS = {
    HoursConvention.FIRST_LAST: "first-last, the span from the first IN to the last OUT",
    HoursConvention.PAIRS: "pairs, the sum of IN/OUT pairs",
}
_DIRECTIONS = {
    DirectionMode.READER: "as the reader recorded it",
    DirectionMode.ALTERNATING: "alternating (the day's first tap IN, the next OUT, ...)",
}


def presence(days: pa.Table, context: ReportContext, settings: PresenceSettings) -> Report:
    """``days``: ``services.presence.PRESENCE_SCHEMA``."""
    how = (
        f"Hours on site: {_CONVENTIONS[settings.hours_convention]}; direction "
        f"{_DIRECTIONS[settings.direction_mode]}; a tap within {settings.debounce_seconds:g} s "
        f"of a kept tap is a repeat; an IN and an OUT more than {settings.max_pair_hours:g} h "
        "apart are not a pair."
    )
    # Hours to the hundredth (36 seconds): more digits only suggest a precision badge
    # readers do not have.
    rounded = query("SELECT * REPLACE (round(hours_on_site, 2) AS hours_on_site) FROM t", t=days)
    return Report(
        kind="presence",
        title="Presence on site",
        subtitle="Per employee and day with a badge tap: first in, last out, hours on site",
        period_start=context.start,
        period_end=context.end,
        as_of=context.as_of,
        sections=(section("days", "Days on site", PRESENCE_COLUMNS, rounded, notes=[how]),),
        primary="days",
        notes=context.notes,
        parameters=context.parameters,
    )
