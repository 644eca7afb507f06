"""Expected attendance per office and day, for everyone at once, in DuckDB: the rules of
``domain/capacity.py`` (the specification; a test checks the two agree person by person).

Small tables decided in Python by the domain and only joined here:

- ``rates``: per requirement (a directive, an agreement's hybrid terms, or ``onsite``),
  schedule kind and workday, the share of workdays it puts a person on site
  (``domain.capacity.onsite_rate``; weeks and pay periods counted whole, even where the
  range cuts them); a day that is no workday of a schedule has no row (rate 0).
- ``bnd``/``dir``: which directive binds each org unit and arrangement on each day, and the
  exemption categories it allows (``analytics.bindings``, as the evaluation uses them).
- ``exe``: approved exemptions; ``agr``: agreements with hybrid terms, keyed to ``rates``;
  ``des``: applied designations (``employee_id, site_id, effective_from, effective_to``
  exclusive), which place a person at an office the roster does not show yet.
- ``iv``: the roster's assignment versions (``store.history.assignment_intervals``).

Employees with neither an exemption nor a designation in the range are counted in groups of
identical versions (same office, unit, arrangement, schedule, bargaining unit and dates), so
an office's hundred 5x8 teleworkers of one division are one row per day, not a hundred;
the others are expanded one row per day. A person's rate depends only on their profile
(unit, arrangement, schedule, bargaining unit, exemptions) and the day, so the joins that
decide it (bindings, agreements, rates) run on profiles x days, a small table, and the
groups meet it by two integers before one aggregation per office and day. Results:
``OFFICE_DAYS_SCHEMA`` and ``UNPLACED_DAYS_SCHEMA`` (people bound to come on site who have
no office).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from dutystation.analytics.calendar_table import schedule_for
from dutystation.domain.calendar import (
    FEDERAL,
    HolidayCalendar,
    iso_week_of,
    pay_period_of,
    required_hours_by_day,
)
from dutystation.domain.capacity import onsite_rate
from dutystation.domain.directive import Directive, Requirement
from dutystation.domain.inputs import Agreement
from dutystation.domain.vocabulary import ScheduleKind

ONSITE_KEY = "onsite"  # the requirement of on-site staff: every workday

RATES_SCHEMA = pa.schema(
    [
        ("req_key", pa.string()),
        ("schedule", pa.string()),
        ("day", pa.date32()),
        ("rate", pa.float64()),
    ]
)
AGREEMENT_KEYS_SCHEMA = pa.schema(
    [
        ("bargaining_unit", pa.string()),
        ("start_day", pa.date32()),
        ("end_day", pa.date32()),  # included; null: open
        ("req_key", pa.string()),
    ]
)
DESIGNATIONS_SCHEMA = pa.schema(
    [
        ("employee_id", pa.string()),
        ("site_id", pa.string()),
        ("effective_from", pa.date32()),
        ("effective_to", pa.date32()),  # exclusive; null: open
    ]
)
OFFICE_DAYS_SCHEMA = pa.schema(
    [
        ("site_id", pa.string()),
        ("day", pa.date32()),
        ("assigned", pa.int64()),  # the roster's duty station is the office that day
        ("onsite", pa.int64()),  # of them, by arrangement
        ("telework", pa.int64()),
        ("remote", pa.int64()),
        ("field", pa.int64()),
        ("designated", pa.int64()),  # designated there, the roster not showing it yet
        ("exempt", pa.int64()),  # placed there, with an exemption covering the day
        ("expected", pa.float64()),  # expected attendance (sum of rates)
    ]
)
UNPLACED_DAYS_SCHEMA = pa.schema(
    [
        ("org_unit", pa.string()),
        ("day", pa.date32()),
        ("people", pa.int64()),  # required on site some of the day's share, and no office
        ("expected", pa.float64()),
    ]
)


def _requirements(
    directives: Sequence[Directive], agreements: Sequence[Agreement]
) -> tuple[dict[str, Requirement], Any]:
    found = {d.ref: d.requirement for d in directives}
    keyed: dict[str, list[Any]] = {name: [] for name in AGREEMENT_KEYS_SCHEMA.names}
    for i, agreement in enumerate(agreements):
        if agreement.terms is None:
            continue  # without hybrid terms the directive applies in full
        key = f"agreement #{i}"
        found[key] = agreement.terms
        for name, value in (
            ("bargaining_unit", agreement.bargaining_unit),
            ("start_day", agreement.start),
            ("end_day", agreement.end),
            ("req_key", key),
        ):
            keyed[name].append(value)
    return found, pa.table(keyed, schema=AGREEMENT_KEYS_SCHEMA)


def rates_table(
    requirements: Mapping[str, Requirement],
    start: date,
    end: date,
    holidays: HolidayCalendar = FEDERAL,
) -> Any:
    """``RATES_SCHEMA`` for every requirement (plus ``onsite``), schedule kind and workday
    of ``start..end``. Workdays are counted over whole ISO weeks and pay periods."""
    first = min(pay_period_of(start).start, iso_week_of(start).start)
    last = max(pay_period_of(end).end, iso_week_of(end).end)
    rows: dict[str, list[Any]] = {name: [] for name in RATES_SCHEMA.names}
    for kind in ScheduleKind:
        hours = required_hours_by_day(schedule_for(kind), first, last, holidays)
        worked = [d for d, h in hours.items() if h > 0]
        per_week: dict[date, int] = {}
        per_pay_period: dict[date, int] = {}
        for day in worked:
            week, period = iso_week_of(day).start, pay_period_of(day).start
            per_week[week] = per_week.get(week, 0) + 1
            per_pay_period[period] = per_pay_period.get(period, 0) + 1
        for day in worked:
            if not start <= day <= end:
                continue
            in_week = per_week[iso_week_of(day).start]
            in_period = per_pay_period[pay_period_of(day).start]
            shares = {ONSITE_KEY: 1.0}
            shares.update({k: onsite_rate(r, in_week, in_period) for k, r in requirements.items()})
            for key, rate in shares.items():
                rows["req_key"].append(key)
                rows["schedule"].append(kind.value)
                rows["day"].append(day)
                rows["rate"].append(rate)
    return pa.table(rows, schema=RATES_SCHEMA)


def business_days(start: date, end: date, holidays: HolidayCalendar = FEDERAL) -> list[date]:
    """The days of ``start..end`` on which any schedule kind works (no weekend, no federal
    holiday): the days a capacity report has rows for."""
    worked: set[date] = set()
    for kind in ScheduleKind:
        hours = required_hours_by_day(schedule_for(kind), start, end, holidays)
        worked.update(d for d, h in hours.items() if h > 0)
    return sorted(worked)


def _day(value: date) -> str:
    return f"DATE '{value.isoformat()}'"


def register(
    con: duckdb.DuckDBPyConnection,
    *,
    intervals: Any,
    bindings: Any,
    directives_table: Any,
    exemptions: Any,
    designations: Any,
    directives: Sequence[Directive],
    agreements: Sequence[Agreement],
    days: Sequence[date],
    start: date,
    end: date,
) -> None:
    """Put the small tables of the module docstring on ``con`` and build ``spans_p``
    (groups of identical versions, and special people per day, with the office they count
    at) and ``prof_day`` (the rate of each profile on each day) for the queries below."""
    requirements, agreement_keys = _requirements(directives, agreements)
    con.register("iv_in", intervals)
    con.register("bnd", bindings)
    con.register("dir", directives_table)
    con.register("exe_in", exemptions)
    con.register("des_in", designations)
    con.register("agr", agreement_keys)
    con.register("rates", rates_table(requirements, start, end))
    con.register("days_in", pa.table({"day": pa.array(list(days), pa.date32())}))
    after = _day(end + timedelta(days=1))
    in_range = (
        f"effective_from <= {_day(end)} AND (effective_to IS NULL OR effective_to > {_day(start)})"
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE v AS
        SELECT employee_id, greatest(effective_from, {_day(start)}) AS v_from,
            least(coalesce(effective_to, {after}), {after}) AS v_to,
            org_unit, duty_station, arrangement, schedule,
            coalesce(bargaining_unit, '') AS bargaining_unit
        FROM iv_in WHERE {in_range};
        CREATE OR REPLACE TEMP TABLE exday AS
            SELECT x.employee_id, d.day, CAST(bit_or(x.bit) AS INTEGER) AS mask
            FROM exe_in AS x JOIN days_in AS d
                ON d.day >= x.start_day AND (x.end_day IS NULL OR d.day <= x.end_day)
            GROUP BY ALL;
        CREATE OR REPLACE TEMP TABLE special AS
            SELECT DISTINCT employee_id FROM exday
            UNION
            SELECT DISTINCT employee_id FROM des_in WHERE {in_range};
        -- Who is where: groups of identical versions over their days [v_from, v_to), and
        -- the special people one row per day, each with the office they count at.
        CREATE OR REPLACE TEMP TABLE spans AS
        WITH placed AS (
            -- a person designated to two offices at once (never, if designations are
            -- applied properly) counts at the later designation only
            SELECT v.employee_id, d.day, v.duty_station, v.org_unit, v.arrangement,
                v.schedule, v.bargaining_unit, x.site_id AS designated_to
            FROM v JOIN special USING (employee_id)
            JOIN days_in AS d ON d.day >= v.v_from AND d.day < v.v_to
            LEFT JOIN des_in AS x ON x.employee_id = v.employee_id
                AND d.day >= x.effective_from
                AND (x.effective_to IS NULL OR d.day < x.effective_to)
            QUALIFY row_number() OVER (
                PARTITION BY v.employee_id, d.day ORDER BY x.effective_from DESC) = 1
        )
        SELECT duty_station AS station, duty_station, false AS designated, org_unit,
            arrangement, schedule, bargaining_unit, 0 AS mask, v_from, v_to, count(*) AS n
        FROM v WHERE employee_id NOT IN (SELECT employee_id FROM special)
        GROUP BY ALL
        UNION ALL
        SELECT coalesce(p.designated_to, p.duty_station), p.duty_station,
            p.designated_to IS NOT NULL AND p.designated_to IS DISTINCT FROM p.duty_station,
            p.org_unit, p.arrangement, p.schedule, p.bargaining_unit, coalesce(e.mask, 0),
            p.day, p.day + 1, 1
        FROM placed AS p LEFT JOIN exday AS e USING (employee_id, day);
    """)
    # The rate depends on the person's unit, arrangement, schedule, bargaining unit and
    # exemptions only: decided once per such profile and day (a small table), then joined
    # to the spans by two integers.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE profiles AS
        SELECT CAST(row_number() OVER () AS INTEGER) AS prof, *
        FROM (SELECT DISTINCT org_unit, arrangement, schedule, bargaining_unit, mask FROM spans);
        CREATE OR REPLACE TEMP TABLE prof_day AS
        WITH judged AS (
            SELECT p.*, d.day, b.kind, b.directive_ref,
                coalesce(r.allowed_mask, 0) AS allowed, a.req_key AS agreement_key
            FROM profiles AS p CROSS JOIN days_in AS d
            LEFT JOIN bnd AS b ON b.org_unit = p.org_unit AND b.arrangement = p.arrangement
                AND d.day BETWEEN b.valid_from AND b.valid_to
            LEFT JOIN dir AS r ON r.directive_ref = b.directive_ref
            LEFT JOIN agr AS a ON a.bargaining_unit = p.bargaining_unit
                AND d.day >= a.start_day AND (a.end_day IS NULL OR d.day <= a.end_day)
        ),
        keyed AS (
            SELECT *, coalesce(kind = 'bound' AND (mask & allowed) <> 0, false) AS exempt
            FROM judged
        )
        SELECT k.prof, k.day, k.exempt, coalesce(t.rate, 0.0) AS rate
        FROM keyed AS k
        LEFT JOIN rates AS t ON t.schedule = k.schedule AND t.day = k.day AND t.req_key =
            CASE WHEN k.arrangement = 'field' OR k.exempt THEN NULL
                 WHEN k.arrangement = 'onsite' THEN 'onsite'
                 WHEN k.kind IS DISTINCT FROM 'bound' THEN NULL
                 ELSE coalesce(k.agreement_key, k.directive_ref) END;
        CREATE OR REPLACE TEMP TABLE spans_p AS
        SELECT s.station, s.duty_station, s.designated, s.org_unit, s.arrangement,
            s.v_from, s.v_to, s.n, p.prof
        FROM spans AS s JOIN profiles AS p USING
            (org_unit, arrangement, schedule, bargaining_unit, mask);
    """)


# People expected, summed exactly: a float sum depends on the order of its terms, and that
# order follows the roster's row order, which SQLite and PostgreSQL return differently (the
# capacity report differed in the last digit, and once in a rounded figure, between them).
# Each term is rounded to 1e-12 of a person first, then added as a decimal.
_EXPECTED = "CAST(sum(CAST(s.n * r.rate AS DECIMAL(38, 12))) AS DOUBLE)"
# Every span expanded to its days and rated, summed per office and day (where people count)
# and per roster duty station, arrangement and day (the headcount), in one pass.
_SPAN_DAYS = """
FROM spans_p AS s JOIN days_in AS d ON d.day >= s.v_from AND d.day < s.v_to
JOIN prof_day AS r ON r.prof = s.prof AND r.day = d.day
"""
OFFICE_DAYS_SQL = f"""
WITH agg AS (
    SELECT s.station, s.duty_station, s.arrangement, d.day,
        grouping(s.station) = 0 AS placed,
        sum(s.n) FILTER (WHERE s.designated) AS designated,
        sum(s.n) FILTER (WHERE r.exempt) AS exempt,
        {_EXPECTED} AS expected,
        sum(s.n) AS people
    {_SPAN_DAYS}
    GROUP BY GROUPING SETS ((s.station, d.day), (s.duty_station, s.arrangement, d.day))
),
placed AS (SELECT station AS site_id, day, designated, exempt, expected FROM agg WHERE placed),
assigned AS (
    SELECT duty_station AS site_id, day, sum(people) AS assigned,
        sum(people) FILTER (WHERE arrangement = 'onsite') AS onsite,
        sum(people) FILTER (WHERE arrangement = 'telework') AS telework,
        sum(people) FILTER (WHERE arrangement = 'remote') AS remote,
        sum(people) FILTER (WHERE arrangement = 'field') AS field
    FROM agg WHERE NOT placed GROUP BY ALL
)
SELECT o.site_id, d.day,
    CAST(coalesce(a.assigned, 0) AS BIGINT) AS assigned,
    CAST(coalesce(a.onsite, 0) AS BIGINT) AS onsite,
    CAST(coalesce(a.telework, 0) AS BIGINT) AS telework,
    CAST(coalesce(a.remote, 0) AS BIGINT) AS remote,
    CAST(coalesce(a.field, 0) AS BIGINT) AS field,
    CAST(coalesce(p.designated, 0) AS BIGINT) AS designated,
    CAST(coalesce(p.exempt, 0) AS BIGINT) AS exempt,
    coalesce(p.expected, 0.0) AS expected
FROM offices AS o CROSS JOIN days_in AS d
LEFT JOIN placed AS p ON p.site_id = o.site_id AND p.day = d.day
LEFT JOIN assigned AS a ON a.site_id = o.site_id AND a.day = d.day
"""

UNPLACED_DAYS_SQL = f"""
SELECT s.org_unit, d.day, CAST(sum(s.n) AS BIGINT) AS people, {_EXPECTED} AS expected
{_SPAN_DAYS}
WHERE s.station IS NULL AND r.rate > 0
GROUP BY ALL
"""


def office_days(con: duckdb.DuckDBPyConnection, offices: Any) -> Any:
    """``OFFICE_DAYS_SCHEMA`` for every office of ``offices`` (``site_id``) and day, after
    ``register``; sorted by office and day."""
    con.register("offices", offices.select(["site_id"]))
    query = f"SELECT * FROM ({OFFICE_DAYS_SQL}) ORDER BY site_id, day"
    return con.sql(query).to_arrow_table().cast(OFFICE_DAYS_SCHEMA)


def unplaced_days(con: duckdb.DuckDBPyConnection) -> Any:
    """``UNPLACED_DAYS_SCHEMA`` after ``register``, sorted by org unit and day."""
    query = f"SELECT * FROM ({UNPLACED_DAYS_SQL}) ORDER BY org_unit, day"
    return con.sql(query).to_arrow_table().cast(UNPLACED_DAYS_SCHEMA)
