"""Office capacity: how many people a directive brings to an office on a day, against its
seats. Pure rules; ``analytics/capacity.py`` applies them to everyone at once in DuckDB and
the tests check it against ``expected_rate`` person by person. docs/capacity.md says the
same for users.

**Expected attendance.** Each person assigned (or designated) to an office adds, on each
workday of their schedule, the chance that the directive puts them on site that day, a
number from 0 to 1 (``expected_rate``); an office's expected attendance on a day is the sum
over its people. It assumes everyone complies (this is the question of the compliance plan:
is there room at full compliance?) and nobody is on leave.

- ``field`` staff: 0 (their duties are in the field; the plan does not count them either).
- An approved exemption covering the day, in a category the binding directive allows: 0.
- ``onsite`` staff: 1 on every workday, bound or not (their arrangement puts them there).
- ``telework`` and ``remote`` staff bound by a directive: its requirement as a share of
  workdays (``onsite_rate``), or the hybrid terms of a bargaining agreement in force for
  their unit (those terms stay binding until renegotiated).
- ``telework`` and ``remote`` staff no directive binds (not in scope, or in a unit named as
  not bound): 0; nothing requires them on site (badges show who comes anyway).

**Requirement as a share of workdays** (``onsite_rate``): a share of hours is taken as the
same share of days, which is exact when a schedule's workdays are equally long (5x8, 4x10)
and close for 5-4/9 (nine-hour days and one eight-hour day: within about a percentage
point). Days per week are divided by the schedule's workdays in that ISO week, days per
pay period by its workdays in the pay period (holidays leave both), capped at 1: three
days a week on a 4x10 is 0.75 a workday, on a week with a holiday and three workdays
left, 1.

**Shortfall**: the people expected beyond the seats, rounded up to whole people:
``max(0, ceil(expected - seats))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from dutystation.domain.directive import BindingKind, Requirement
from dutystation.domain.vocabulary import Arrangement

_EPSILON = 1e-9  # sums of shares: 0.1 + 0.2 people must not round up to a third person


def onsite_rate(
    requirement: Requirement, workdays_in_week: int, workdays_in_pay_period: int
) -> float:
    """The share of a person's workdays ``requirement`` puts them on site (module
    docstring): a share of hours as is; days per week or per pay period divided by the
    schedule's workdays in that week or pay period, capped at 1 (0 when it has none)."""
    if requirement.onsite_share_of_hours is not None:
        return requirement.onsite_share_of_hours
    if requirement.days_per_week is not None:
        return _days_rate(requirement.days_per_week, workdays_in_week)
    return _days_rate(requirement.days_per_pay_period or 0, workdays_in_pay_period)


def _days_rate(days: int, workdays: int) -> float:
    return min(days, workdays) / workdays if workdays > 0 else 0.0


@dataclass(frozen=True)
class PersonDay:
    """What decides one person's expected attendance on one day. ``requirement``: the
    hybrid terms of an agreement in force for their bargaining unit, else the binding
    directive's requirement (None when none binds them); ``exempt``: an approved exemption
    in a category the binding directive allows covers the day."""

    arrangement: Arrangement
    binding: BindingKind
    requirement: Requirement | None
    exempt: bool
    workday: bool  # the schedule has hours that day (holidays excluded)
    workdays_in_week: int
    workdays_in_pay_period: int


def expected_rate(person: PersonDay) -> float:
    """The chance, from 0 to 1, that ``person`` is on site that day at full compliance."""
    if not person.workday or person.arrangement is Arrangement.FIELD:
        return 0.0
    bound = person.binding is BindingKind.BOUND
    if bound and person.exempt:
        return 0.0
    if person.arrangement is Arrangement.ONSITE:
        return 1.0
    if not bound or person.requirement is None:
        return 0.0
    return onsite_rate(person.requirement, person.workdays_in_week, person.workdays_in_pay_period)


def shortfall(expected: float, seats: int) -> int:
    """People expected beyond the seats, in whole people (0 when they fit)."""
    return max(0, math.ceil(expected - seats - _EPSILON))


def people(expected: float) -> int:
    """Expected attendance in whole people (rounded up: a seat is needed for a part)."""
    return max(0, math.ceil(expected - _EPSILON))


def last_whole_week(start: date, end: date) -> tuple[date, date]:
    """The last ISO week (Monday to Sunday) inside ``start..end``; when none fits, the
    week holding ``end`` cut to the range (what the compliance plan calls its last week)."""
    monday = end - timedelta(days=end.weekday())
    sunday = monday + timedelta(days=6)
    if sunday > end:
        monday, sunday = monday - timedelta(days=7), sunday - timedelta(days=7)
    if monday >= start:
        return monday, sunday
    return max(start, end - timedelta(days=end.weekday())), end


# Where the map's albersUsa projection draws a point: the lower 48 states, Alaska and
# Hawaii. Offices elsewhere (Puerto Rico, Guam, the Virgin Islands, abroad) are listed in
# the tables but not drawn, and the map's notes count them. Boxes in degrees; generous at
# the borders (a point just over one is still drawn by the projection, near the edge).
_ON_MAP = (
    (24.0, 50.0, -125.5, -66.0),  # lower 48
    (51.0, 72.0, -180.0, -129.0),  # Alaska, Aleutians east of the antimeridian
    (18.5, 22.5, -161.0, -154.5),  # Hawaii
)


def on_us_map(latitude: float, longitude: float) -> bool:
    """Whether the albersUsa map draws a point at these coordinates."""
    return any(s <= latitude <= n and w <= longitude <= e for s, n, w, e in _ON_MAP)


def zip3(zip_code: str) -> str | None:
    """The three-digit ZIP prefix (the area of a sectional centre), or None when
    ``zip_code`` does not start with five digits."""
    text = zip_code.strip()
    return text[:3] if len(text) >= 5 and text[:5].isdigit() else None
