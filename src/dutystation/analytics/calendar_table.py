"""The calendar of a date range as small Arrow tables, built in Python from
``domain/calendar.py`` (the specification) and handed to DuckDB.

Two tables, a few hundred rows each, so every calendar rule (federal holidays, the
"in lieu of" day of compressed schedules, the 5-4/9 alternation, pay-period numbering) is
decided once by the domain and only joined by SQL:

- ``calendar_days``: one row per day: ISO week and pay period (number, label, first and
  last day), the federal holiday's name, and ``epoch``, the index of the day among the
  ``boundaries`` (days on which a directive takes effect, expires or falls due), so that
  a query can group days that every directive treats alike.
- ``schedule_hours``: one row per day and schedule kind: ``hours_scheduled``, the tour of
  duty's hours ignoring holidays, and ``hours_holiday``, the part of them the schedule has
  off as a holiday (0 or all of them).

The roster stores a schedule's kind only, so each kind is taken with its defaults: 4x10
and 5-4/9 off on Fridays, 5-4/9 with the 8-hour Friday in the first week of each pay
period. A ``custom`` tour has no stored hours and is taken as 5x8. Inauguration Day is not
a holiday here (it depends on the duty station's location): T&A holiday hours recorded for
it leave the denominator all the same.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import date
from typing import Any

import pyarrow as pa

from dutystation.domain.calendar import (
    FEDERAL,
    HolidayCalendar,
    Schedule,
    days_between,
    iso_week_of,
    pay_period_of,
    schedule_holidays,
)
from dutystation.domain.vocabulary import ScheduleKind

CALENDAR_SCHEMA = pa.schema(
    [
        ("day", pa.date32()),
        ("week_no", pa.int32()),  # ISO year * 100 + week: sorts like the weeks
        ("week_label", pa.string()),  # 2025-W07
        ("week_start", pa.date32()),
        ("week_end", pa.date32()),
        ("pay_period_no", pa.int32()),  # leave year * 100 + number
        ("pay_period_label", pa.string()),  # 2025-PP05
        ("pay_period_start", pa.date32()),
        ("pay_period_end", pa.date32()),
        ("federal_holiday", pa.string()),
        ("epoch", pa.int32()),
    ]
)

SCHEDULE_HOURS_SCHEMA = pa.schema(
    [
        ("day", pa.date32()),
        ("schedule", pa.string()),
        ("hours_scheduled", pa.float64()),
        ("hours_holiday", pa.float64()),
    ]
)


def schedule_for(kind: ScheduleKind) -> Schedule:
    """The tour of duty assumed for a stored schedule kind (module docstring)."""
    return Schedule(ScheduleKind.FIVE_EIGHT if kind is ScheduleKind.CUSTOM else kind)


def calendar_days(
    start: date,
    end: date,
    boundaries: Sequence[date] = (),
    holidays: HolidayCalendar = FEDERAL,
) -> Any:
    """``CALENDAR_SCHEMA`` for ``start..end``; ``epoch`` counts the boundaries on or before
    each day, so days of one epoch are on the same side of every boundary."""
    days = days_between(start, end)
    cuts = sorted(set(boundaries))
    weeks = [iso_week_of(d) for d in days]
    periods = [pay_period_of(d) for d in days]
    columns = {
        "day": days,
        "week_no": [w.year * 100 + w.week for w in weeks],
        "week_label": [w.label for w in weeks],
        "week_start": [w.start for w in weeks],
        "week_end": [w.end for w in weeks],
        "pay_period_no": [p.year * 100 + p.number for p in periods],
        "pay_period_label": [p.label for p in periods],
        "pay_period_start": [p.start for p in periods],
        "pay_period_end": [p.end for p in periods],
        "federal_holiday": [holidays.name(d) for d in days],
        "epoch": [bisect.bisect_right(cuts, d) for d in days],
    }
    return pa.table(columns, schema=CALENDAR_SCHEMA)


def schedule_hours(start: date, end: date, holidays: HolidayCalendar = FEDERAL) -> Any:
    """``SCHEDULE_HOURS_SCHEMA`` for every schedule kind and day of ``start..end``."""
    days = days_between(start, end)
    rows: dict[str, list[Any]] = {name: [] for name in SCHEDULE_HOURS_SCHEMA.names}
    for kind in ScheduleKind:
        schedule = schedule_for(kind)
        off = schedule_holidays(schedule, start, end, holidays)
        for day in days:
            scheduled = schedule.scheduled_hours(day)
            rows["day"].append(day)
            rows["schedule"].append(kind.value)
            rows["hours_scheduled"].append(scheduled)
            rows["hours_holiday"].append(scheduled if day in off else 0.0)
    return pa.table(rows, schema=SCHEDULE_HOURS_SCHEMA)
