"""The ``workforce`` report: who may work where (entirely on site, telework eligible,
remote) and where the telework-eligible actually work, in the shape of the federal figures
OMB published in May 2024 (DESIGN.md §7). Hours are counted as in ``hours.py``."""

from __future__ import annotations

import pyarrow as pa

from dutystation.reports import charts
from dutystation.reports.model import Column, ColumnKind, Report
from dutystation.services.reporting.hours import (
    EMPLOYEES,
    NAME,
    ON_SITE,
    WORKED,
    hours_rows,
    with_names,
)
from dutystation.services.reporting.tables import (
    TOTAL,
    UNIT,
    ReportContext,
    group_depth,
    query,
    root_label,
    section,
    within,
)

_K = ColumnKind
ONLY_ON_SITE = Column(
    "share_entirely_on_site",
    "Entirely on site",
    _K.SHARE,
    priority=0,
    description="Share of employees not telework-eligible",
)
ELIGIBLE = Column(
    "share_telework_eligible",
    "Telework eligible",
    _K.SHARE,
    short="Eligible",
    priority=0,
    description="Share of employees telework-eligible, remote included",
)
FULLY_REMOTE = Column(
    "share_remote",
    "Remote",
    _K.SHARE,
    priority=1,
    description="Share of employees under a remote-work arrangement",
)
IN_PERSON = Column(
    "eligible_share_in_person",
    "Eligible: hours in person",
    _K.SHARE,
    short="Elig. in person",
    priority=0,
    description="Share of the telework-eligible's hours worked at the duty station",
)
ARRANGEMENT = Column(
    "arrangement",
    "Arrangement",
    priority=0,
    description="onsite, field, telework or remote (as of the last day)",
)
SHARE_PEOPLE = Column(
    "share_of_employees",
    "Share of employees",
    _K.SHARE,
    short="Share",
    priority=0,
    description="Share of the root unit's employees",
)

# Each employee is classified once, as of their last assigned week of the period; hours are
# classified week by week (someone who became remote mid-period counts as remote from then).
_PEOPLE = """
    last AS (
        SELECT employee_id, arg_max(unit, period_end) AS unit,
               arg_max(arrangement, period_end) AS arrangement,
               arg_max(eligible, period_end) AS eligible
        FROM r GROUP BY employee_id
    )"""


def workforce(employee_periods: pa.Table, context: ReportContext) -> Report:
    employee_periods = within(employee_periods, context.org_unit)
    depth = group_depth(context.org_unit, employee_periods)
    root = root_label(context.org_unit, employee_periods).replace("'", "''")
    people = f"WITH r AS ({hours_rows(depth)}), {_PEOPLE}"
    counts = query(
        f"""{people},
        hours AS (
            SELECT unit, sum(at_station) FILTER (WHERE eligible) AS at_e,
                   sum(at_station + off_site) FILTER (WHERE eligible) AS worked_e
            FROM r GROUP BY GROUPING SETS ((unit), ())
        ),
        heads AS (
            SELECT unit, count(*) AS employees,
                   count(*) FILTER (WHERE NOT eligible AND arrangement <> 'remote') AS on_site,
                   count(*) FILTER (WHERE eligible OR arrangement = 'remote') AS eligible,
                   count(*) FILTER (WHERE arrangement = 'remote') AS remote,
                   grouping(unit) = 1 AS is_total
            FROM last GROUP BY GROUPING SETS ((unit), ())
        )
        SELECT coalesce(h.unit, '{root}') AS org_unit, h.is_total, h.employees,
               round(h.on_site / h.employees, 4) AS share_entirely_on_site,
               round(h.eligible / h.employees, 4) AS share_telework_eligible,
               round((h.eligible - h.remote) / h.employees, 4) AS share_eligible_not_remote,
               round(h.remote / h.employees, 4) AS share_remote,
               round(w.at_e / nullif(w.worked_e, 0), 4) AS eligible_share_in_person
        FROM heads AS h JOIN hours AS w ON w.unit IS NOT DISTINCT FROM h.unit
        ORDER BY h.is_total, org_unit""",
        ev=employee_periods,
    )
    counts = with_names(counts, context, root)
    arrangements = query(
        f"""{people},
        hours AS (SELECT employee_id, sum(at_station) AS at_s, sum(at_station + off_site) AS w
                  FROM r GROUP BY employee_id)
        SELECT l.arrangement, count(*) AS employees,
               round(count(*) / sum(count(*)) OVER (), 4) AS share_of_employees,
               round(sum(h.w), 2) AS hours_worked,
               round(sum(h.at_s) / nullif(sum(h.w), 0), 4) AS share_on_site
        FROM last AS l JOIN hours AS h USING (employee_id)
        GROUP BY l.arrangement ORDER BY l.arrangement""",
        ev=employee_periods,
    )
    stacked = counts.select(
        ["org_unit", "share_entirely_on_site", "share_eligible_not_remote", "share_remote"]
    ).rename_columns(["unit", "entirely on site", "telework eligible, not remote", "remote"])
    total = counts.filter(counts.column("is_total")).to_pylist()
    summary = ""
    if total:
        t = total[0]
        summary = (
            f"All of {t['org_unit']}: {t['share_entirely_on_site']:.0%} entirely on site, "
            f"{t['share_telework_eligible']:.0%} telework eligible "
            f"({t['share_remote']:.0%} remote)"
            + (
                f", the eligible working {t['eligible_share_in_person']:.0%} of hours in person."
                if t["eligible_share_in_person"] is not None
                else "."
            )
        )
    chart = charts.composition_bars(
        stacked,
        categories=["entirely on site", "telework eligible, not remote", "remote"],
        title="Workforce composition per org unit",
        description="Stacked bars of the share of employees per category. " + summary,
    )
    notes = [
        "Each employee is classified as of their last assigned week in the period: "
        "entirely on site (not telework-eligible), telework eligible (remote included), "
        "remote (a remote-work arrangement).",
        "The published federal figures (OMB, May 2024) for comparison: 54 % entirely on "
        "site, 46 % telework eligible working 60 % of their hours in person, about 10 % "
        "fully remote.",
    ]
    unit_cols = [UNIT, NAME, EMPLOYEES, ONLY_ON_SITE, ELIGIBLE, FULLY_REMOTE, IN_PERSON, TOTAL]
    return Report(
        kind="workforce",
        title="Workforce composition",
        subtitle=(
            f"Entirely on site, telework eligible and remote, {context.start.isoformat()} "
            f"to {context.end.isoformat()}"
        ),
        period_start=context.start,
        period_end=context.end,
        as_of=context.as_of,
        sections=(
            section(
                "composition",
                "Workforce composition per org unit",
                unit_cols,
                counts,
                notes=[summary, *notes] if summary else notes,
                chart=chart,
            ),
            section(
                "arrangements",
                "Workforce by arrangement",
                [ARRANGEMENT, EMPLOYEES, SHARE_PEOPLE, WORKED, ON_SITE],
                arrangements,
            ),
        ),
        primary="composition",
        notes=context.notes,
        parameters=context.parameters,
    )
