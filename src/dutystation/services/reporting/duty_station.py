"""The ``duty-station-test`` report: teleworkers who do not report to their official duty
station often enough to keep it.

A teleworker keeps their official worksite (and with it the locality pay of that place)
by reporting there at least twice each biweekly pay period on a regular and recurring
basis (5 CFR 531.605(d); a directive may set another minimum in
``duty_station_test.min_days_per_pay_period``). The evaluation marks each pay period that
lies wholly inside the report's period, for everyone who was a teleworker on its last
day (``duty_station_test_failed``); a day counts when T&A records on-site hours at that
day's duty station. Someone who fails most pay periods should have their official
worksite changed — that is what this report is for, per component.

Pay periods cut by the start or the end of the report's period are not judged: two days
in a fortnight cannot be asked of half a fortnight.
"""

from __future__ import annotations

import pyarrow as pa

from dutystation.reports.model import Column, ColumnKind, Report
from dutystation.services.reporting.returns import COMPONENT, EMPLOYEE, NAME
from dutystation.services.reporting.tables import ReportContext, query, section, within

_K = ColumnKind
# A regular and recurring failure, not one bad fortnight: the share of judged pay
# periods failed from which a person is listed as "change the official worksite".
RECURRING_SHARE = 0.5


def _count(name: str, label: str, short: str, what: str) -> Column:
    return Column(name, label, _K.INTEGER, short=short, priority=1, description=what)


COLUMNS_SUMMARY = [
    COMPONENT,
    _count("teleworkers", "Teleworkers judged", "Judged", "Teleworkers with a whole pay period"),
    _count("failed_any", "Failed a pay period", "Failed", "Failed the test in a pay period"),
    _count(
        "failed_recurring",
        "Failed half or more",
        "Recurring",
        "Failed in at least half of their judged pay periods",
    ),
    Column(
        "share_failed_recurring",
        "Share failing regularly",
        _K.SHARE,
        short="Share",
        priority=2,
        description="Failed half or more, of the teleworkers judged",
    ),
]

COLUMNS_PEOPLE = [
    COMPONENT,
    EMPLOYEE,
    NAME,
    Column(
        "duty_station",
        "Duty station",
        short="Station",
        priority=3,
        description="Official duty station (office id) at the end of the last pay period",
    ),
    Column(
        "pay_periods",
        "Pay periods judged",
        _K.INTEGER,
        short="PPs",
        priority=1,
        description="Whole pay periods in which the person was a teleworker",
    ),
    Column(
        "failed",
        "Pay periods failed",
        _K.INTEGER,
        short="Failed",
        priority=0,
        description="Pay periods with fewer days at the duty station than required",
    ),
    Column(
        "fewest_days",
        "Fewest days at station",
        _K.INTEGER,
        short="Min d.",
        priority=2,
        description="Fewest days with T&A on-site hours at the duty station in a pay period",
    ),
    Column(
        "failed_periods",
        "Failed pay periods",
        short="Which",
        priority=4,
        wrap=True,
        description="Labels of the failed pay periods (2025-PP05 ...)",
    ),
    Column(
        "recurring",
        "Change worksite?",
        _K.BOOLEAN,
        short="Change?",
        priority=0,
        description="Failed in at least half of the judged pay periods",
    ),
]

_JUDGED = """
WITH j AS (
    SELECT * FROM ev
    WHERE period_kind = 'pay_period' AND duty_station_test_failed IS NOT NULL
),
p AS (
    SELECT employee_id,
           arg_max(name, period_start) AS name,
           arg_max(component, period_start) AS component,
           arg_max(duty_station, period_start) AS duty_station,
           count(*) AS pay_periods,
           count(*) FILTER (WHERE duty_station_test_failed) AS failed,
           min(days_at_duty_station) AS fewest_days,
           string_agg(CAST(period_label AS VARCHAR), ' ' ORDER BY period_start)
               FILTER (WHERE duty_station_test_failed) AS failed_periods
    FROM j GROUP BY employee_id
)"""


def duty_station_test(employee_periods: pa.Table, context: ReportContext) -> Report:
    employee_periods = within(employee_periods, context.org_unit)
    recurring = f"failed >= {RECURRING_SHARE} * pay_periods"
    people = query(
        f"""{_JUDGED}
        SELECT component, employee_id, name, duty_station, pay_periods, failed, fewest_days,
               failed_periods, {recurring} AS recurring
        FROM p WHERE failed > 0
        ORDER BY component, recurring DESC, failed DESC, employee_id""",
        ev=employee_periods,
    )
    summary = query(
        f"""{_JUDGED}
        SELECT component, count(*) AS teleworkers,
               count(*) FILTER (WHERE failed > 0) AS failed_any,
               count(*) FILTER (WHERE {recurring}) AS failed_recurring,
               round(count(*) FILTER (WHERE {recurring}) / count(*), 4)
                   AS share_failed_recurring
        FROM p GROUP BY component ORDER BY component""",
        ev=employee_periods,
    )
    minimums = sorted(
        {
            f"{d.ref}: {d.duty_station_test.min_days_per_pay_period if d.duty_station_test else 2}"
            for d in context.directives
        }
    )
    notes = [
        "A teleworker keeps their official duty station (and its locality pay) by reporting "
        "there at least twice each biweekly pay period on a regular and recurring basis "
        "(5 CFR 531.605(d)); otherwise the official worksite should change.",
        "Judged: whole pay periods inside the report's period, for people who were "
        "teleworkers on the pay period's last day. A day counts when T&A records on-site "
        "hours at that day's duty station.",
        f"'Change worksite?' is true when a person failed at least "
        f"{RECURRING_SHARE:.0%} of their judged pay periods.",
    ]
    if minimums:
        notes.append("Days required per pay period: " + "; ".join(minimums) + ".")
    return Report(
        kind="duty-station-test",
        title="Duty-station test: teleworkers not reporting to their duty station",
        subtitle="Per component: teleworkers with fewer than the required days at their "
        "official duty station in a biweekly pay period",
        period_start=context.start,
        period_end=context.end,
        as_of=context.as_of,
        sections=(
            section("summary", "Duty-station test, per component", COLUMNS_SUMMARY, summary),
            section("people", "Teleworkers failing the test", COLUMNS_PEOPLE, people, notes=notes),
        ),
        primary="people",
        notes=context.notes,
        parameters=context.parameters,
    )
