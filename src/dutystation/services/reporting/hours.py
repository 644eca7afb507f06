"""The ``onsite-share`` report (where hours are worked, per org unit and week), and the
hour columns and org-unit rows it shares with ``workforce.py``.

Hours worked are T&A hours at the duty station (on site, plus field work and official
travel, which count as at the duty station) and off site (telework, remote work, and on-site
hours at an office that does not count); leave and holidays are neither, so they leave the
denominator (DESIGN.md §5). Everyone assigned in the period counts, whatever their status:
this is the memo's workforce measure, not a compliance judgement."""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from dutystation.reports import charts
from dutystation.reports.model import Column, ColumnKind, Report
from dutystation.services.reporting.tables import (
    TOTAL,
    UNIT,
    EngineRows,
    ReportContext,
    group_depth,
    group_sql,
    names_column,
    query,
    root_label,
    section,
    unit_name,
    within,
)

_K = ColumnKind
NAME = unit_name(4)
EMPLOYEES = Column(
    "employees",
    "Employees",
    _K.INTEGER,
    short="People",
    priority=1,
    description="Employees assigned to the unit on some day of the period",
)
WORKED = Column(
    "hours_worked",
    "Hours worked",
    _K.HOURS,
    short="Hours",
    priority=2,
    description="T&A hours worked, on and off site (leave and holidays excluded)",
)
ON_SITE = Column(
    "share_on_site",
    "On site",
    _K.SHARE,
    priority=0,
    description="Share of hours worked at the duty station (on site, field, travel)",
)
OFF_SITE = Column(
    "share_off_site",
    "Off site",
    _K.SHARE,
    priority=0,
    description="Share of hours worked off site (1 - share_on_site)",
)
TELEWORK = Column(
    "share_telework",
    "Telework",
    _K.SHARE,
    short="Telew.",
    priority=3,
    description="Share of hours worked as telework (routine or situational)",
)
REMOTE = Column(
    "share_remote",
    "Remote",
    _K.SHARE,
    priority=3,
    description="Share of hours worked under a remote-work arrangement",
)
WEEK = Column("week", "Week", short="Week", priority=0, description="ISO week, e.g. 2025-W07")
WEEK_START = Column(
    "week_start",
    "Week start",
    _K.DATE,
    short="From",
    priority=1,
    description="First day of the week inside the period",
)


def shares_sql(employees: str) -> str:
    """The columns of a row of figures, over rows with hours ``at_station``, ``off_site``,
    ``telework`` and ``remote``; ``employees``: how those rows count people."""
    return f"""
    {employees} AS employees,
    round(sum(at_station) + sum(off_site), 2) AS hours_worked,
    round(sum(at_station) / nullif(sum(at_station) + sum(off_site), 0), 4) AS share_on_site,
    round(sum(off_site) / nullif(sum(at_station) + sum(off_site), 0), 4) AS share_off_site,
    round(sum(telework) / nullif(sum(at_station) + sum(off_site), 0), 4) AS share_telework,
    round(sum(remote) / nullif(sum(at_station) + sum(off_site), 0), 4) AS share_remote"""


_SHARES = shares_sql("count(DISTINCT employee_id)")


def hours_rows(depth: int) -> str:
    """The week rows as hours at the duty station and off site, with the reporting unit
    and whether the person is telework-eligible (the roster's flag, else the arrangement)."""
    return f"""
    SELECT employee_id, period_label, period_start, period_end, {group_sql(depth)} AS unit,
           arrangement,
           coalesce(telework_eligible, arrangement IN ('telework', 'remote'))
               OR arrangement = 'remote' AS eligible,
           hours_on_site + hours_field_travel AS at_station, hours_off_site AS off_site,
           hours_telework AS telework, hours_remote AS remote
    FROM ev WHERE period_kind = 'week'"""


def _markers(context: ReportContext) -> list[tuple[date, str]]:
    """The first directive's effective date and each full-compliance deadline, when they
    fall inside the period."""
    found: dict[date, str] = {}
    if context.directives:
        found[min(d.effective for d in context.directives)] = "directive"
    for d in context.directives:
        due = d.deadlines.full_compliance
        if due is not None:
            found.setdefault(due, "full compliance due")
    return sorted((d, t) for d, t in found.items() if context.start <= d <= context.end)


def with_names(table: pa.Table, context: ReportContext, root: str) -> pa.Table:
    """A ``name`` column: each unit's name, and "All of <root>" on the total row."""
    names = names_column(table.column("org_unit"), context)
    own = pa.array(
        [
            f"All of {context.unit_name(root)}" if total else name
            for name, total in zip(
                names.to_pylist(), table.column("is_total").to_pylist(), strict=True
            )
        ],
        pa.string(),
    )
    return table.append_column("name", own)


def _by_unit_sql(depth: int, root: str) -> str:
    return f"""
    WITH r AS ({hours_rows(depth)})
    SELECT coalesce(unit, '{root}') AS org_unit, grouping(unit) = 1 AS is_total, {_SHARES}
    FROM r GROUP BY GROUPING SETS ((unit), ())
    ORDER BY is_total, org_unit"""


def onsite_share(employee_periods: pa.Table | EngineRows, context: ReportContext) -> Report:
    employee_periods = within(employee_periods, context.org_unit)
    depth = group_depth(context.org_unit, employee_periods)
    root = root_label(context.org_unit, employee_periods).replace("'", "''")
    by_unit = query(_by_unit_sql(depth, root), ev=employee_periods)
    weekly = query(
        f"""
        WITH r AS ({hours_rows(depth)})
        SELECT coalesce(unit, '{root}') AS org_unit, grouping(unit) = 1 AS is_total,
               any_value(period_label) AS week, period_start AS week_start,
               max(period_end) - period_start < 6 AS partial, {_SHARES}
        FROM r GROUP BY GROUPING SETS ((unit, period_start), (period_start))
        ORDER BY is_total, org_unit, week_start""",
        ev=employee_periods,
    )
    return onsite_share_of(by_unit, weekly, context, root)


def onsite_share_of(
    by_unit: pa.Table, weekly: pa.Table, context: ReportContext, root: str
) -> Report:
    """The report from its two tables, however they were summed: per unit (``org_unit,
    is_total`` and the share columns) and per unit and week (also ``week, week_start,
    partial``), ordered by total last, unit and week; ``root``: the total row's code, as
    quoted for SQL. The snapshot's sums come here too (``snapshot_reports.py``)."""
    by_unit = with_names(by_unit, context, root)
    period = f"{context.start.isoformat()} to {context.end.isoformat()}"
    lines = [
        f"{u} {on:.1%} on site, {off:.1%} off site"
        for u, on, off in zip(
            by_unit.column("org_unit").to_pylist(),
            by_unit.column("share_on_site").to_pylist(),
            by_unit.column("share_off_site").to_pylist(),
            strict=True,
        )
        if on is not None and off is not None
    ]
    bars = charts.share_bars(
        by_unit.select(["org_unit", "share_on_site", "share_off_site"]).rename_columns(
            ["unit", "share_on_site", "share_off_site"]
        ),
        title=f"Share of hours worked on site and off site, {period}",
        description="Stacked bars per org unit. " + "; ".join(lines) + ".",
    )
    markers = _markers(context)
    trend = charts.weekly_lines(
        weekly.select(["org_unit", "week_start", "share_on_site"]).rename_columns(
            ["unit", "week_start", "share_on_site"]
        ),
        value="share_on_site",
        value_title="share of hours on site",
        title="Weekly share of hours worked on site",
        description=(
            "One line per org unit, one point per week, from 0 to 100 % on site"
            + "".join(f"; dashed line: {text} ({day.isoformat()})" for day, text in markers)
            + ". The table below gives every value."
        ),
        markers=markers,
    )
    partial = weekly.filter(weekly.column("partial")).column("week").unique().to_pylist()
    unit_cols = [UNIT, NAME, EMPLOYEES, WORKED, ON_SITE, OFF_SITE, TELEWORK, REMOTE, TOTAL]
    week_cols = [
        UNIT,
        WEEK,
        WEEK_START,
        EMPLOYEES,
        WORKED,
        ON_SITE,
        OFF_SITE,
        TELEWORK,
        REMOTE,
        TOTAL,
    ]
    notes = [
        "On site counts hours at the duty station, field work and official travel; off site "
        "counts telework, remote work and hours at an office that does not count. Leave and "
        "holidays are neither. The two shares add up to 100 %.",
        "The department memo of January 2025 cited 28.9 %, 24.4 % and 39.7 % for three "
        "components; news reports read them both as on-site and as off-site shares, so both "
        "are shown side by side.",
    ]
    return Report(
        kind="onsite-share",
        title="Share of hours worked on site and off site",
        subtitle=f"Per org unit, {period}, with the weekly trend",
        period_start=context.start,
        period_end=context.end,
        as_of=context.as_of,
        sections=(
            section(
                "by-unit",
                "Share of hours worked on and off site, per org unit",
                unit_cols,
                by_unit,
                notes=notes,
                chart=bars,
            ),
            section(
                "weekly",
                "Weekly share of hours worked on site",
                week_cols,
                weekly,
                chart=trend,
                notes=[f"Partial weeks (cut by the period): {', '.join(partial)}."]
                if partial
                else [],
            ),
        ),
        primary="by-unit",
        notes=context.notes,
        parameters=context.parameters,
    )
