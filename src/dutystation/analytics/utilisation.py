"""Office occupancy from badge taps against seat capacity: whether the space exists for the
people ordered back (the OMB/OPM plans of February 2025 asked exactly that).

Occupancy of an office on a day is the number of distinct employees with at least one tap
there on that office-local day (the presence rule of ``domain/presence.py``; an employee
who taps at two offices counts at both). Everyone who badged counts, whatever their org
unit: seats are physical.

Per office over the range:

- ``days``: business days (Monday to Friday, not a federal holiday) in the range;
- ``avg_daily_occupancy``: mean occupancy over those days (days with nobody count as 0;
  weekends and holidays are left out so that a closed Saturday does not halve the mean);
- ``peak_daily_occupancy`` / ``peak_date``: the highest occupancy on any day of the range,
  and the first day it was reached (no peak date when nobody came);
- ``avg_utilisation`` / ``peak_utilisation``: the same divided by ``seats`` (no value for an
  office with 0 seats);
- ``over_capacity_days``: days of the range with more people than seats.
"""

from __future__ import annotations

from datetime import date

from dutystation.analytics.presence import sql_date


def occupancy_sql(badges: str, days: tuple[date, date]) -> str:
    """Occupancy per office and office-local day of ``days`` (inclusive), days with
    nobody left out: ``site_id, day, occupancy`` (in parentheses, usable after ``FROM``).
    The capacity report compares it with expected attendance."""
    return f"""(
    SELECT site_id, local_date AS day, count(DISTINCT employee_id) AS occupancy
    FROM {badges}
    WHERE local_date BETWEEN {sql_date(days[0])} AND {sql_date(days[1])}
        AND employee_id IS NOT NULL
    GROUP BY site_id, local_date
)"""


def utilisation_sql(badges: str, offices: str, calendar: str, days: tuple[date, date]) -> str:
    """A DuckDB query (in parentheses, usable after ``FROM``).

    ``offices``: ``site_id, name, seats`` (the offices to report); ``calendar``: ``day,
    business_day`` for every day of ``days`` (inclusive)."""
    between = f"BETWEEN {sql_date(days[0])} AND {sql_date(days[1])}"
    return f"""(
WITH occupancy AS {occupancy_sql(badges, days)},
grid AS (
    SELECT o.site_id, c.day, c.business_day, coalesce(x.occupancy, 0) AS occupancy, o.seats
    FROM {offices} AS o
    CROSS JOIN (SELECT day, business_day FROM {calendar} WHERE day {between}) AS c
    LEFT JOIN occupancy AS x ON x.site_id = o.site_id AND x.day = c.day
),
per_office AS (
    SELECT site_id,
           count(*) FILTER (WHERE business_day) AS days,
           avg(occupancy) FILTER (WHERE business_day) AS avg_daily_occupancy,
           max(occupancy) AS peak_daily_occupancy,
           count(*) FILTER (WHERE occupancy > seats) AS over_capacity_days
    FROM grid
    GROUP BY site_id
),
peak_day AS (
    SELECT g.site_id, min(g.day) AS peak_date
    FROM grid AS g JOIN per_office AS p ON p.site_id = g.site_id
    WHERE g.occupancy = p.peak_daily_occupancy AND g.occupancy > 0
    GROUP BY g.site_id
)
SELECT o.site_id, o.name, o.seats, coalesce(p.days, 0) AS days,
       p.avg_daily_occupancy, coalesce(p.peak_daily_occupancy, 0) AS peak_daily_occupancy,
       k.peak_date,
       p.avg_daily_occupancy / nullif(o.seats, 0) AS avg_utilisation,
       p.peak_daily_occupancy / nullif(o.seats, 0) AS peak_utilisation,
       coalesce(p.over_capacity_days, 0) AS over_capacity_days
FROM {offices} AS o
LEFT JOIN per_office AS p ON p.site_id = o.site_id
LEFT JOIN peak_day AS k ON k.site_id = o.site_id
)"""
