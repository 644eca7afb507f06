"""Conflicts between the two kinds of evidence (DESIGN.md §2): T&A hours by location code,
the official record, and badge taps, the physical one. Both are kept and neither is
corrected: the report lists each conflict so that a supervisor can ask.

Kinds, one row per employee, day and T&A category in conflict:

- ``onsite_hours_without_badge``: T&A records on-site hours and the employee has no tap
  anywhere that day (forgotten badge, tailgating, or hours coded on site that were not).
- ``badge_on_telework_day`` / ``badge_on_remote_day`` / ``badge_on_leave_day``: taps on a
  day whose T&A records telework (routine or situational), remote or leave hours and no
  hours on site or in the field. A split day (half on site, half telework) explains its
  taps, and so does field work that starts at the office (a vehicle or equipment pick-up).

``badge_taps`` are the raw taps stored for the day (before debounce: the evidence as the
readers recorded it), on the office-local day; T&A days are the timecard's date.
``site_id`` is where the evidence points: the office of the day's first tap, or for
on-site hours without a tap the office the timecard names, else the duty station that day.
Holidays with taps are not a conflict the directives care about and are not listed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from dutystation.analytics.presence import in_scope, sql_date
from dutystation.domain.vocabulary import HoursCategory

KIND_OF_CATEGORY: dict[HoursCategory, str] = {
    HoursCategory.TELEWORK_ROUTINE: "badge_on_telework_day",
    HoursCategory.TELEWORK_SITUATIONAL: "badge_on_telework_day",
    HoursCategory.REMOTE: "badge_on_remote_day",
    HoursCategory.LEAVE: "badge_on_leave_day",
}
ONSITE_WITHOUT_BADGE = "onsite_hours_without_badge"
KINDS = (ONSITE_WITHOUT_BADGE, *sorted(set(KIND_OF_CATEGORY.values())))
# Hours in these categories put the employee at an office or out in the field that day.
_EXPLAINS_TAPS = (HoursCategory.ONSITE, HoursCategory.FIELD_TRAVEL)


def _quoted(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def discrepancies_sql(
    badges: str,
    timecards: str,
    assignments: str,
    days: tuple[date, date],
    scope: str | None = None,
) -> str:
    """A DuckDB query (in parentheses, usable after ``FROM``) with ``employee_id, date,
    kind, ta_category, ta_hours, badge_taps, site_id`` for the days ``days`` (inclusive).

    ``timecards`` must be the rows in force (``analytics.event_sources``); its rows of one
    day and category (several pay codes) are summed. ``assignments`` (``employee_id,
    valid_from, valid_to, duty_station``) names the office where on-site hours were due
    when the timecard names none (T&A systems record a location only when it differs from
    the official worksite). ``scope``: see ``analytics.presence.in_scope``."""
    between = f"BETWEEN {sql_date(days[0])} AND {sql_date(days[1])}"
    kind_case = " ".join(f"WHEN '{c.value}' THEN '{k}'" for c, k in KIND_OF_CATEGORY.items())
    return f"""(
WITH ta AS (
    SELECT employee_id, date, category, sum(hours) AS hours, min(site_id) AS site_id
    FROM {timecards}
    WHERE date {between} AND hours > 0
    GROUP BY employee_id, date, category
),
ta_day AS (
    SELECT employee_id, date,
           sum(hours) FILTER (WHERE category IN ({_quoted(c.value for c in _EXPLAINS_TAPS)}))
               AS explained_hours
    FROM ta
    GROUP BY employee_id, date
),
badge_day AS (
    SELECT employee_id, local_date AS date, count(*) AS taps,
           arg_min(site_id, ts_utc) AS site_id
    FROM {badges}
    WHERE local_date {between} AND employee_id IS NOT NULL
    GROUP BY employee_id, local_date
),
found AS (
    SELECT t.employee_id, t.date, '{ONSITE_WITHOUT_BADGE}' AS kind, t.category AS ta_category,
           t.hours AS ta_hours, 0::BIGINT AS badge_taps,
           coalesce(t.site_id, a.duty_station) AS site_id
    FROM ta AS t
    ANTI JOIN badge_day AS b ON b.employee_id = t.employee_id AND b.date = t.date
    -- assignment versions of one employee never overlap: one match at most
    LEFT JOIN {assignments} AS a ON a.employee_id = t.employee_id AND a.valid_from <= t.date
        AND (a.valid_to IS NULL OR a.valid_to > t.date)
    WHERE t.category = '{HoursCategory.ONSITE.value}'
    UNION ALL
    SELECT t.employee_id, t.date, CASE t.category {kind_case} END, t.category, t.hours,
           b.taps, b.site_id
    FROM ta AS t
    JOIN badge_day AS b ON b.employee_id = t.employee_id AND b.date = t.date
    JOIN ta_day AS d ON d.employee_id = t.employee_id AND d.date = t.date
    WHERE t.category IN ({_quoted(c.value for c in KIND_OF_CATEGORY)})
      AND coalesce(d.explained_hours, 0) = 0
)
SELECT * FROM found AS f WHERE {in_scope(scope, "f.employee_id", "f.date")}
)"""
