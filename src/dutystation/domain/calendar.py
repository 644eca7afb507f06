"""Calendars: federal holidays, ISO weeks, federal biweekly pay periods, and the hours a tour
of duty (schedule) requires on each day. Pure: the holiday tables are computed by the
``holidays`` package, nothing is read from disk.

Conventions (docs/directives.md, "Calendar", says the same for users):

- Federal holidays are the government category of ``holidays.US``: the eleven holidays of
  5 U.S.C. 6103(a) on their Monday-Friday observed dates, plus days the President closed
  executive departments by executive order (e.g. 2024-12-24, 2025-01-09). A holiday that
  falls on a Saturday or Sunday is kept only as its observed Friday or Monday.
- Inauguration Day (5 U.S.C. 6103(c)) is a holiday only for employees whose duty station is
  in the Washington, DC area; ask for it with ``HolidayCalendar(dc_area=True)``.
- A holiday on a day a schedule does not work (the Friday off of a 4x10) moves to that
  schedule's workday immediately before it that is not itself a holiday: OPM's default
  "in lieu of" day for compressed schedules (5 U.S.C. 6103(d)). Agencies may designate
  another day; that choice is not modelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType

import holidays

from dutystation.domain.vocabulary import ScheduleKind

# 5 U.S.C. 6302(a): a leave year begins with the first full biweekly pay period of the
# calendar year. OPM's calendar: pay period 1 of leave year 2025 began Sunday 2025-01-12.
# Every pay period is 14 days, so this one date fixes the whole grid, past and future.
PAY_PERIOD_ANCHOR = date(2025, 1, 12)
PAY_PERIOD_DAYS = 14
# An "in lieu of" day is looked for at most a week before the holiday.
_IN_LIEU_LOOKBACK_DAYS = 7


def days_between(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end``, both included."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# --- periods -----------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class PayPeriod:
    """A federal biweekly pay period: Sunday ``start`` to Saturday ``end`` (13 days later),
    numbered from 1 within its leave ``year`` (26 pay periods, 27 in some years)."""

    start: date
    end: date
    year: int
    number: int

    def days(self) -> list[date]:
        return days_between(self.start, self.end)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    @property
    def label(self) -> str:
        return f"{self.year}-PP{self.number:02d}"


@dataclass(frozen=True, order=True)
class IsoWeek:
    """An ISO 8601 week, Monday to Sunday (``date.isocalendar()``)."""

    year: int
    week: int

    @property
    def start(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def end(self) -> date:
        return date.fromisocalendar(self.year, self.week, 7)

    def days(self) -> list[date]:
        return days_between(self.start, self.end)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"


def iso_week_of(day: date) -> IsoWeek:
    iso = day.isocalendar()
    return IsoWeek(iso.year, iso.week)


def _grid_start(day: date) -> date:
    """The Sunday that starts the pay period holding ``day``."""
    return day - timedelta(days=(day - PAY_PERIOD_ANCHOR).days % PAY_PERIOD_DAYS)


def leave_year_start(year: int) -> date:
    """First day of leave ``year``: the first pay period starting on or after 1 January."""
    jan1 = date(year, 1, 1)
    start = _grid_start(jan1)
    return start if start == jan1 else start + timedelta(days=PAY_PERIOD_DAYS)


def pay_periods_in_leave_year(year: int) -> int:
    return (leave_year_start(year + 1) - leave_year_start(year)).days // PAY_PERIOD_DAYS


def pay_period_of(day: date) -> PayPeriod:
    start = _grid_start(day)
    # A pay period starting in calendar year Y belongs to leave year Y: Y's leave year
    # starts with the first grid Sunday on or after 1 January of Y.
    year = start.year
    number = (start - leave_year_start(year)).days // PAY_PERIOD_DAYS + 1
    return PayPeriod(start, start + timedelta(days=PAY_PERIOD_DAYS - 1), year, number)


def pay_period(year: int, number: int) -> PayPeriod:
    """Pay period ``number`` of leave ``year``."""
    if not 1 <= number <= pay_periods_in_leave_year(year):
        raise ValueError(f"leave year {year} has no pay period {number}")
    return pay_period_of(leave_year_start(year) + timedelta(days=(number - 1) * PAY_PERIOD_DAYS))


# --- holidays ----------------------------------------------------------------------------


def inauguration_day(year: int) -> date | None:
    """20 January every fourth year since 1965; the 21st when the 20th is a Sunday
    (5 U.S.C. 6103(c))."""
    if year < 1965 or (year - 1965) % 4:
        return None
    day = date(year, 1, 20)
    return day + timedelta(days=1) if day.weekday() == 6 else day


@lru_cache(maxsize=256)
def _federal_year(year: int, dc_area: bool) -> Mapping[date, str]:
    # Built from the neighbouring years too: the observed Friday of a Saturday 1 January
    # falls in the previous calendar year (2021-12-31 for 2022-01-01).
    table = holidays.country_holidays(
        "US", years=(year - 1, year, year + 1), categories=("government",)
    )
    found: dict[date, list[str]] = {}
    for day, name in table.items():
        if day.year == year and day.weekday() < 5:
            found.setdefault(day, []).extend(name.split("; "))
    inauguration = inauguration_day(year)
    if dc_area and inauguration is not None and inauguration.weekday() < 5:
        found.setdefault(inauguration, []).append("Inauguration Day")
    return MappingProxyType({d: "; ".join(sorted(set(n))) for d, n in sorted(found.items())})


@dataclass(frozen=True)
class HolidayCalendar:
    """Days on which no hours are required. ``federal`` adds the federal holidays (see the
    module docstring), ``dc_area`` adds Inauguration Day, ``extra`` adds any other days
    (e.g. a closure for weather); tests use ``HolidayCalendar(federal=False)``."""

    federal: bool = True
    dc_area: bool = False
    extra: Mapping[date, str] | None = None

    def name(self, day: date) -> str | None:
        names = []
        if self.federal and (found := _federal_year(day.year, self.dc_area).get(day)):
            names.append(found)
        if self.extra and (other := self.extra.get(day)):
            names.append(other)
        return "; ".join(names) or None

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.name(day) is not None

    def between(self, start: date, end: date) -> dict[date, str]:
        return {d: n for d in days_between(start, end) if (n := self.name(d))}


FEDERAL = HolidayCalendar()
NO_HOLIDAYS = HolidayCalendar(federal=False)


# --- schedules ---------------------------------------------------------------------------


class Weekday(StrEnum):
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"

    @property
    def number(self) -> int:
        """0 for Monday ... 6 for Sunday, as ``date.weekday()``."""
        return list(Weekday).index(self)


@dataclass(frozen=True)
class Schedule:
    """A tour of duty. ``5x8``: Monday-Friday, 8 h. ``4x10``: four 10-h days, ``day_off``
    (default Friday) off. ``5-4/9``: the federal compressed schedule, per pay period eight
    9-h days, one 8-h day and one day off; the 8-h day and the day off are the same weekday
    (``day_off``, default Friday) in alternate weeks: 8 h in the first week of each pay
    period and off in the second, or the reverse when ``off_in_first_week``. ``custom``:
    ``weekday_hours`` gives the hours of each weekday, seven values, Monday first."""

    kind: ScheduleKind = ScheduleKind.FIVE_EIGHT
    day_off: Weekday = Weekday.FRIDAY
    off_in_first_week: bool = False
    weekday_hours: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.kind is ScheduleKind.CUSTOM:
            if len(self.weekday_hours) != 7:
                raise ValueError("a custom schedule needs seven weekday hours, Monday first")
            if any(not 0 <= h <= 24 for h in self.weekday_hours):
                raise ValueError("the hours of a day are between 0 and 24")
        elif self.weekday_hours:
            raise ValueError(f"weekday hours are given only for a custom schedule, not {self.kind}")
        if self.day_off.number > 4:
            raise ValueError("the day off of a compressed schedule is a weekday, Monday-Friday")

    def scheduled_hours(self, day: date) -> float:
        """Hours of the tour of duty on ``day``, holidays not considered."""
        weekday = day.weekday()
        if self.kind is ScheduleKind.CUSTOM:
            return self.weekday_hours[weekday]
        if weekday > 4:
            return 0.0
        if self.kind is ScheduleKind.FIVE_EIGHT:
            return 8.0
        if self.kind is ScheduleKind.FOUR_TEN:
            return 0.0 if weekday == self.day_off.number else 10.0
        if weekday != self.day_off.number:
            return 9.0
        first_week = (day - pay_period_of(day).start).days < 7
        return 0.0 if first_week == self.off_in_first_week else 8.0

    def works(self, day: date) -> bool:
        return self.scheduled_hours(day) > 0


def schedule_holidays(
    schedule: Schedule, start: date, end: date, calendar: HolidayCalendar = FEDERAL
) -> dict[date, str]:
    """The days in ``start..end`` this schedule has off as holidays, each with its name.

    A holiday on a workday is that day. A holiday on a day the schedule does not work is
    moved to the schedule's workday immediately before it that is neither a holiday nor
    already an "in lieu of" day (5 U.S.C. 6103(d); module docstring)."""
    lookback = timedelta(days=_IN_LIEU_LOOKBACK_DAYS)
    around = calendar.between(start - lookback, end + lookback)
    taken = {d for d in around if schedule.works(d)}
    found = {d: n for d, n in around.items() if d in taken}
    # Ascending order, so an earlier holiday claims its in-lieu day first.
    for day, name in around.items():
        if day < start or day in taken:
            continue
        for back in range(1, _IN_LIEU_LOOKBACK_DAYS + 1):
            candidate = day - timedelta(days=back)
            if schedule.works(candidate) and candidate not in taken:
                taken.add(candidate)
                found[candidate] = f"{name} (in lieu of {day.isoformat()})"
                break
    return {d: n for d, n in sorted(found.items()) if start <= d <= end}


def required_hours_by_day(
    schedule: Schedule, start: date, end: date, calendar: HolidayCalendar = FEDERAL
) -> dict[date, float]:
    """Hours the schedule requires on each day of ``start..end``: 0 on its holidays."""
    off = schedule_holidays(schedule, start, end, calendar)
    return {d: 0.0 if d in off else schedule.scheduled_hours(d) for d in days_between(start, end)}


def required_hours(
    schedule: Schedule, start: date, end: date, calendar: HolidayCalendar = FEDERAL
) -> float:
    """Total hours the schedule requires in ``start..end`` (leave not considered)."""
    return sum(required_hours_by_day(schedule, start, end, calendar).values())


def workdays(
    schedule: Schedule, start: date, end: date, calendar: HolidayCalendar = FEDERAL
) -> list[date]:
    """The days of ``start..end`` with required hours."""
    by_day = required_hours_by_day(schedule, start, end, calendar)
    return [d for d, hours in by_day.items() if hours > 0]
