"""Calendar properties (Hypothesis): pay periods tile time, schedules sum to their tour."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dutystation.domain.calendar import (
    FEDERAL,
    NO_HOLIDAYS,
    PAY_PERIOD_DAYS,
    Schedule,
    Weekday,
    iso_week_of,
    pay_period,
    pay_period_of,
    required_hours,
)
from dutystation.domain.vocabulary import ScheduleKind

days = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))
weekdays = st.sampled_from([w for w in Weekday if w.number < 5])


@given(days)
def test_every_day_belongs_to_exactly_one_pay_period(day: date) -> None:
    found = pay_period_of(day)
    assert found.start <= day <= found.end
    # The neighbouring periods do not hold it, and they are contiguous.
    before = pay_period_of(found.start - timedelta(days=1))
    after = pay_period_of(found.end + timedelta(days=1))
    assert day not in before and day not in after
    assert before.end + timedelta(days=1) == found.start
    assert found.end + timedelta(days=1) == after.start


@given(days)
def test_pay_periods_are_numbered_consecutively_within_a_leave_year(day: date) -> None:
    found = pay_period_of(day)
    assert pay_period(found.year, found.number) == found
    following = pay_period_of(found.end + timedelta(days=1))
    if following.year == found.year:
        assert following.number == found.number + 1
    else:
        assert following.number == 1 and following.year == found.year + 1
        assert found.number in (26, 27)


@given(days)
def test_a_pay_period_is_two_iso_weeks_from_sunday(day: date) -> None:
    found = pay_period_of(day)
    assert (found.end - found.start).days == PAY_PERIOD_DAYS - 1
    assert found.start.weekday() == 6 and found.end.weekday() == 5


@given(days)
def test_5x8_hours_in_a_week_without_holidays_are_40(day: date) -> None:
    week = iso_week_of(day)
    assert required_hours(Schedule(), week.start, week.end, NO_HOLIDAYS) == 40
    if not FEDERAL.between(week.start, week.end):
        # A 5x8 works every weekday, so no holiday moves into a holiday-free week.
        assert required_hours(Schedule(), week.start, week.end, FEDERAL) == 40


@given(days, weekdays)
def test_4x10_hours_per_week_are_40(day: date, day_off: Weekday) -> None:
    week = iso_week_of(day)
    schedule = Schedule(ScheduleKind.FOUR_TEN, day_off=day_off)
    assert required_hours(schedule, week.start, week.end, NO_HOLIDAYS) == 40


@given(days, weekdays, st.booleans())
def test_5_4_9_hours_per_pay_period_are_80(day: date, day_off: Weekday, first: bool) -> None:
    period = pay_period_of(day)
    schedule = Schedule(ScheduleKind.FIVE_FOUR_NINE, day_off=day_off, off_in_first_week=first)
    assert required_hours(schedule, period.start, period.end, NO_HOLIDAYS) == 80


@given(days, st.sampled_from(list(ScheduleKind.__members__.values())), weekdays)
def test_holidays_only_ever_remove_whole_workdays(
    day: date, kind: ScheduleKind, day_off: Weekday
) -> None:
    if kind is ScheduleKind.CUSTOM:
        schedule = Schedule(kind, weekday_hours=(8, 8, 0, 8, 8, 4, 0))
    else:
        schedule = Schedule(kind, day_off=day_off)
    period = pay_period_of(day)
    nominal = required_hours(schedule, period.start, period.end, NO_HOLIDAYS)
    actual = required_hours(schedule, period.start, period.end, FEDERAL)
    assert 0 <= actual <= nominal
