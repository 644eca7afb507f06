"""The ``compliance-plan`` report: per component, where compliance stands, where it is
going, when it will be full, and what stands in the way (what OPM asked each agency to
submit: the date of full compliance, and whether enough working space exists).

- **Compliance rate** of a week: of the employees bound by a directive that week, the
  share that is compliant, exempt or covered by an agreement (excused counts as in
  compliance: that is what the directive allows). Pending requests, ``not_yet_due`` and
  ``non_compliant`` count against. Only whole weeks are used.
- **Trend and expected date.** A least-squares line through the rates of the last four
  whole weeks from the latest full-compliance deadline on (earlier weeks judge only part
  of their days), by DuckDB ``regr_slope``/``regr_intercept``, extended to 100 %. No date
  when the rate is flat or falling, or the date is more than two years away.
- **Seats.** The people needed at an office at full compliance: with the capacity model
  (``capacity``, what the service passes; docs/capacity.md), the people expected on site on
  the office's busiest day of the last whole week, from each person's schedule and
  requirement, less exemptions and field staff, everyone at the office whatever their
  unit (seats are physical); without it, the headcount of the last whole week's staff with
  the office as duty station, except the exempt, field staff and teleworkers and remote
  workers no directive binds (an upper bound). When they exceed the seats at any office a
  component's staff report to, full compliance is not possible until seats are added (or
  staff moved): no date is given, and ``limits`` names the offices and their shortfall.
- **Other limits** stated: pending exemption requests, and people not on site who have no
  agency office as duty station (remote staff to be designated to one)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from dutystation.reports import charts
from dutystation.reports.model import Column, ColumnKind, Report
from dutystation.services.reporting.plan_sql import FIT_WEEKS, plan_sql, weeks_sql
from dutystation.services.reporting.tables import (
    TOTAL,
    UNIT,
    ReportContext,
    group_depth,
    names_column,
    query,
    root_label,
    section,
    unit_name,
    within,
)

_K = ColumnKind


NAME = unit_name(6)
BOUND = Column(
    "bound",
    "In scope",
    _K.INTEGER,
    short="Scope",
    priority=2,
    description="Employees bound by a directive in the last whole week",
)
RATE = Column(
    "compliance_rate",
    "Compliance rate",
    _K.SHARE,
    short="Rate",
    priority=0,
    description="Compliant, exempt or covered by agreement, of those in scope",
)
CHANGE = Column(
    "change_per_week",
    "Change per week",
    _K.SHARE,
    short="+/wk",
    priority=1,
    description="Slope of the fitted trend, in percentage points per week",
)
EXPECTED = Column(
    "expected_full_compliance",
    "Expected full compliance",
    _K.DATE,
    short="Full by",
    priority=0,
    description="Where the trend reaches 100 %; empty when seats or the trend prevent it",
)
TREND = Column(
    "trend_full_compliance",
    "Trend reaches 100 %",
    _K.DATE,
    short="Trend 100%",
    priority=3,
    description="Where the fitted trend reaches 100 %, whatever the seats",
)
LIMITS = Column(
    "limits",
    "What limits it",
    short="Limits",
    priority=1,
    wrap=True,
    description="What prevents or slows full compliance: seats, the trend, pending requests, "
    "people with no office",
)
WEEK_COLUMNS = [
    UNIT,
    Column("week", "Week", priority=0, description="ISO week, e.g. 2025-W07"),
    Column(
        "week_start",
        "Week start",
        _K.DATE,
        short="From",
        priority=3,
        description="First day of the week",
    ),
    Column(
        "bound",
        "In scope",
        _K.INTEGER,
        short="Scope",
        priority=2,
        description="Employees bound by a directive that week",
    ),
    Column(
        "in_compliance",
        "In compliance",
        _K.INTEGER,
        short="In comp.",
        priority=2,
        description="Compliant, exempt or covered by agreement",
    ),
    RATE,
    Column("exempt", "Exempt", _K.INTEGER, priority=4, description="Exempt that week"),
    Column(
        "covered_by_agreement",
        "Covered by agreement",
        _K.INTEGER,
        short="CBA",
        priority=4,
        description="Covered by a bargaining agreement that week",
    ),
    Column(
        "pending_exemption",
        "Exemption pending",
        _K.INTEGER,
        short="Pending",
        priority=4,
        description="With an exemption request pending",
    ),
    Column(
        "non_compliant",
        "Non compliant",
        _K.INTEGER,
        short="Non-c.",
        priority=3,
        description="Non compliant or not yet meeting the requirement before the deadline",
    ),
    TOTAL,
]
OFFICE_COLUMNS = [
    Column("site_id", "Office", priority=0, description="Office (site) id"),
    Column("name", "Name", priority=5, wrap=True, description="Office name"),
    Column("seats", "Seats", _K.INTEGER, priority=0, description="Seat capacity"),
    Column(
        "demand",
        "Needed at full compliance",
        _K.INTEGER,
        short="Needed",
        priority=0,
        description="People needed on site on the busiest day at full compliance (see the notes)",
    ),
    Column(
        "shortfall",
        "Short by",
        _K.INTEGER,
        short="Short",
        priority=1,
        description="Demand minus seats, when positive",
    ),
    Column(
        "units",
        "Org units",
        short="Units",
        priority=2,
        wrap=True,
        description="Org units whose staff report there",
    ),
]


def compliance_plan(
    employee_periods: pa.Table,
    offices: pa.Table,
    context: ReportContext,
    *,
    capacity: pa.Table | None = None,
) -> Report:
    """``offices``: ``site_id, name, seats`` of every office. ``capacity``: ``site_id,
    expected`` per office, the people expected on its busiest day of the last whole week
    (``services.reporting.seats_inputs.plan_capacity``); None: seats are weighed against
    headcount (module docstring)."""
    employee_periods = within(employee_periods, context.org_unit)
    depth = group_depth(context.org_unit, employee_periods)
    root = root_label(context.org_unit, employee_periods).replace("'", "''")
    tables = {"ev": employee_periods, "offices": offices}
    expected = capacity is not None
    if capacity is not None:
        tables["cap"] = capacity.select(["site_id", "expected"])
    dues = [d.deadlines.full_compliance or d.effective for d in context.directives]
    fit_from = max(dues, default=context.start)
    plan = query(plan_sql(depth, root, fit_from, expected=expected), **tables)
    plan = plan.append_column("name", names_column(plan.column("org_unit"), context))
    weeks = query(
        f"WITH {weeks_sql(depth, root)} SELECT *, round(rate, 4) AS compliance_rate "
        "FROM rates WHERE whole AND bound > 0 ORDER BY is_total, org_unit, week_start",
        **tables,
    )
    # The dashed segment runs from the last observed rate to where the trend reaches
    # 100 %, whatever the seats (the table says what blocks it); beyond half a year it
    # would squash the observed weeks, and the table gives the date anyway.
    projected = query(
        """WITH last AS (SELECT org_unit, max(week_start) AS week_start FROM w GROUP BY org_unit),
           shown AS (SELECT p.org_unit, p.trend_full_compliance FROM p JOIN last USING (org_unit)
                     WHERE p.trend_full_compliance <= last.week_start + 182)
           SELECT org_unit AS unit, week_start, compliance_rate, 'observed' AS trend FROM w
           UNION ALL
           SELECT w.org_unit, w.week_start, w.compliance_rate, 'trend to 100 %'
           FROM shown JOIN last USING (org_unit)
           JOIN w ON w.org_unit = last.org_unit AND w.week_start = last.week_start
           UNION ALL
           SELECT org_unit, trend_full_compliance, 1.0, 'trend to 100 %' FROM shown
           ORDER BY 1, 4, 2""",
        w=weeks,
        p=plan,
    )
    offices_table = query(
        f"WITH {weeks_sql(depth, root, expected=expected)} "
        "SELECT site_id, coalesce(name, site_id) AS name, "
        "seats, demand, greatest(shortfall, 0) AS shortfall, units FROM offices_short "
        "ORDER BY shortfall DESC NULLS LAST, demand DESC, site_id",
        **tables,
    )
    return _report(context, plan, weeks, projected, offices_table, expected=expected)


def _report(
    context: ReportContext,
    plan: pa.Table,
    weeks: pa.Table,
    projected: pa.Table,
    offices: pa.Table,
    *,
    expected: bool,
) -> Report:
    rows = plan.to_pylist()
    described = "; ".join(
        f"{r['org_unit']} {r['compliance_rate']:.0%}"
        + (
            f", full by {r['expected_full_compliance'].isoformat()}"
            if r["expected_full_compliance"]
            else ""
        )
        for r in rows
        if r["compliance_rate"] is not None
    )
    due = sorted(
        {d.deadlines.full_compliance for d in context.directives if d.deadlines.full_compliance}
    )
    trajectory = charts.weekly_lines(
        projected,
        value="compliance_rate",
        value_title="compliance rate",
        title="Compliance rate per week, with the projected trend",
        description=f"Solid lines: observed weekly rates; dashed: the fitted trend to 100 %. "
        f"Latest: {described}.",
        markers=[(d, "full compliance due") for d in due],
        dash="trend",
    )
    top = offices.slice(0, 15)
    seats_chart = charts.capacity_bars(
        top.select(["site_id", "seats", "demand"]).rename_columns(["office", "seats", "demand"]),
        measures=[("demand", "needed at full compliance")],
        title="Seats against people needed at full compliance",
        description=(
            f"The {top.num_rows} offices with the largest shortfall: bars are the people "
            "who must be on site at full compliance, black ticks the seats."
        ),
    )
    short = offices.filter(pc.greater(offices.column("shortfall"), 0)).num_rows
    notes = [
        "Compliance rate: compliant, exempt or covered by agreement, of the employees bound "
        "by a directive; pending requests and shortfalls count against.",
        f"Expected date: a least-squares line through the last {FIT_WEEKS} whole weeks' "
        "rates, extended to 100 %; none when the trend is flat or falling, when it is more "
        "than two years away, or when an office the unit's staff report to lacks seats.",
    ]
    return Report(
        kind="compliance-plan",
        title="Compliance plan",
        subtitle="Per org unit: compliance now, the trend, the expected date of full "
        "compliance and what limits it",
        period_start=context.start,
        period_end=context.end,
        as_of=context.as_of,
        sections=(
            section(
                "plan",
                "Compliance plan per org unit",
                [UNIT, NAME, BOUND, RATE, CHANGE, EXPECTED, LIMITS, TREND, TOTAL],
                plan,
                notes=notes,
                chart=trajectory,
            ),
            section("trajectory", "Weekly compliance rate", WEEK_COLUMNS, weeks),
            section(
                "offices",
                "Seats at full compliance",
                OFFICE_COLUMNS,
                offices,
                notes=[_seats_note(short, expected)],
                chart=seats_chart,
            ),
        ),
        primary="plan",
        notes=context.notes,
        parameters=context.parameters,
    )


def _seats_note(short: int, expected: bool) -> str:
    if expected:
        return (
            f"{short} office(s) lack seats for the people expected on site at full "
            "compliance. Needed: the people expected on the office's busiest day of the "
            "last whole week, from each person's schedule and the directive's requirement "
            "(or their bargaining agreement's terms), less the exempt and field staff, "
            "everyone at the office whatever their unit (seats are physical); the capacity "
            "report has the detail (docs/capacity.md). Leave is not forecast."
        )
    return (
        f"{short} office(s) lack seats for everyone due on site at full "
        "compliance. Demand counts the last whole week's staff with the office "
        "as duty station, except the exempt, field staff and teleworkers or "
        "remote workers no directive binds; it is an upper bound for a day, "
        "since leave and compressed schedules lower it."
    )
