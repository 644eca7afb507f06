"""Calendar: pay periods, ISO weeks, federal holidays and the hours each schedule requires."""

from __future__ import annotations

from datetime import date

import pytest

from dutystation.domain.calendar import (
    FEDERAL,
    NO_HOLIDAYS,
    HolidayCalendar,
    IsoWeek,
    Schedule,
    Weekday,
    inauguration_day,
    iso_week_of,
    leave_year_start,
    pay_period,
    pay_period_of,
    pay_periods_in_leave_year,
    required_hours,
    required_hours_by_day,
    schedule_holidays,
    workdays,
)
from dutystation.domain.vocabulary import ScheduleKind

FOUR_TEN = Schedule(ScheduleKind.FOUR_TEN)
COMPRESSED = Schedule(ScheduleKind.FIVE_FOUR_NINE)


@pytest.mark.parametrize(
    ("day", "start", "year", "number"),
    [
        (date(2025, 1, 12), date(2025, 1, 12), 2025, 1),  # the OPM anchor
        (date(2025, 1, 25), date(2025, 1, 12), 2025, 1),
        (date(2025, 1, 26), date(2025, 1, 26), 2025, 2),
        (date(2025, 1, 11), date(2024, 12, 29), 2024, 26),  # early January: last year's
        (date(2025, 1, 1), date(2024, 12, 29), 2024, 26),
        (date(2026, 1, 10), date(2025, 12, 28), 2025, 26),
        (date(2026, 1, 11), date(2026, 1, 11), 2026, 1),
        (date(2024, 1, 14), date(2024, 1, 14), 2024, 1),
        (date(2024, 1, 13), date(2023, 12, 31), 2023, 27),  # leave year 2023 had 27
        (date(2023, 1, 1), date(2023, 1, 1), 2023, 1),  # a pay period starting 1 January
        (date(2025, 2, 21), date(2025, 2, 9), 2025, 3),
    ],
)
def test_pay_period_of_a_day(day: date, start: date, year: int, number: int) -> None:
    found = pay_period_of(day)
    assert (found.start, found.year, found.number) == (start, year, number)
    assert (found.end - found.start).days == 13
    assert found.start.weekday() == 6  # Sunday
    assert day in found
    assert pay_period(year, number) == found


def test_pay_period_label_names_leave_year_and_number() -> None:
    assert pay_period_of(date(2025, 2, 21)).label == "2025-PP03"


def test_leave_years_start_with_the_first_pay_period_of_january() -> None:
    assert leave_year_start(2024) == date(2024, 1, 14)
    assert leave_year_start(2025) == date(2025, 1, 12)
    assert leave_year_start(2026) == date(2026, 1, 11)
    assert pay_periods_in_leave_year(2025) == 26
    assert pay_periods_in_leave_year(2023) == 27


def test_a_pay_period_number_beyond_the_leave_year_is_refused() -> None:
    with pytest.raises(ValueError, match="no pay period 27"):
        pay_period(2025, 27)


def test_iso_week_runs_monday_to_sunday() -> None:
    week = iso_week_of(date(2025, 1, 22))
    assert week == IsoWeek(2025, 4)
    assert (week.start, week.end) == (date(2025, 1, 20), date(2025, 1, 26))
    assert week.label == "2025-W04"
    assert len(week.days()) == 7
    # 2024-12-30 belongs to ISO week 1 of 2025.
    assert iso_week_of(date(2024, 12, 30)) == IsoWeek(2025, 1)


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2025, 1, 1), "New Year's Day"),
        (date(2025, 1, 20), "Birthday of Martin Luther King, Jr."),
        (date(2025, 1, 9), "National Day of Mourning for former President Jimmy Carter"),
        (date(2024, 12, 24), "Christmas Eve"),  # closed by executive order
        (date(2026, 7, 3), "Independence Day (observed)"),  # 4 July 2026 is a Saturday
        (date(2021, 12, 31), "New Year's Day (observed)"),  # observed in the previous year
    ],
)
def test_federal_holidays_on_their_observed_dates(day: date, name: str) -> None:
    assert FEDERAL.name(day) == name


def test_a_weekend_holiday_counts_only_on_its_observed_weekday() -> None:
    assert date(2026, 7, 4) not in FEDERAL
    assert date(2026, 7, 3) in FEDERAL


def test_inauguration_day_is_a_holiday_only_in_the_dc_area() -> None:
    assert date(2021, 1, 20) not in FEDERAL
    assert HolidayCalendar(dc_area=True).name(date(2021, 1, 20)) == "Inauguration Day"
    # 2025: it fell on Martin Luther King Jr. Day.
    both = HolidayCalendar(dc_area=True).name(date(2025, 1, 20))
    assert both == "Birthday of Martin Luther King, Jr.; Inauguration Day"


def test_inauguration_day_moves_to_monday_when_the_20th_is_a_sunday() -> None:
    assert inauguration_day(2013) == date(2013, 1, 21)
    assert inauguration_day(2024) is None


def test_an_inauguration_day_on_a_saturday_gives_no_day_off() -> None:
    assert inauguration_day(2029) == date(2029, 1, 20)  # a Saturday
    assert (
        not HolidayCalendar(dc_area=True)
        .between(date(2029, 1, 19), date(2029, 1, 22))
        .get(date(2029, 1, 19))
    )


def test_extra_closures_join_the_calendar() -> None:
    snow = HolidayCalendar(federal=False, extra={date(2025, 2, 12): "Closed: snow"})
    assert snow.name(date(2025, 2, 12)) == "Closed: snow"
    assert date(2025, 1, 1) not in snow


@pytest.mark.parametrize(
    ("schedule", "hours"),
    [
        (Schedule(), [8, 8, 8, 8, 8, 0, 0]),
        (FOUR_TEN, [10, 10, 10, 10, 0, 0, 0]),
        (Schedule(ScheduleKind.FOUR_TEN, day_off=Weekday.MONDAY), [0, 10, 10, 10, 10, 0, 0]),
        (
            Schedule(ScheduleKind.CUSTOM, weekday_hours=(0, 0, 12, 12, 12, 4, 0)),
            [0, 0, 12, 12, 12, 4, 0],
        ),
    ],
)
def test_weekly_schedules_hours_by_weekday(schedule: Schedule, hours: list[float]) -> None:
    week = IsoWeek(2025, 10)  # 3-9 March 2025, no holiday
    by_day = required_hours_by_day(schedule, week.start, week.end, FEDERAL)
    assert list(by_day.values()) == hours


def test_compressed_5_4_9_has_the_8_hour_day_in_the_first_week_and_the_day_off_in_the_second() -> (
    None
):
    period = pay_period(2025, 6)  # 23 March - 5 April 2025
    by_day = required_hours_by_day(COMPRESSED, period.start, period.end, FEDERAL)
    assert list(by_day.values()) == [0, 9, 9, 9, 9, 8, 0, 0, 9, 9, 9, 9, 0, 0]
    assert sum(by_day.values()) == 80


def test_compressed_5_4_9_can_take_its_day_off_in_the_first_week() -> None:
    schedule = Schedule(ScheduleKind.FIVE_FOUR_NINE, day_off=Weekday.MONDAY, off_in_first_week=True)
    period = pay_period(2025, 6)
    by_day = required_hours_by_day(schedule, period.start, period.end, FEDERAL)
    assert list(by_day.values()) == [0, 0, 9, 9, 9, 9, 0, 0, 8, 9, 9, 9, 9, 0]


def test_a_holiday_requires_no_hours() -> None:
    week = iso_week_of(date(2025, 5, 26))  # Memorial Day
    assert required_hours(Schedule(), week.start, week.end, FEDERAL) == 32
    assert workdays(Schedule(), week.start, week.end, FEDERAL)[0] == date(2025, 5, 27)


def test_a_holiday_on_a_4x10_day_off_moves_to_the_workday_before() -> None:
    # Friday 4 July 2025 is the day off of a Monday-Thursday 4x10: Thursday is the holiday.
    week = iso_week_of(date(2025, 7, 4))
    assert schedule_holidays(FOUR_TEN, week.start, week.end, FEDERAL) == {
        date(2025, 7, 3): "Independence Day (in lieu of 2025-07-04)"
    }
    assert required_hours(FOUR_TEN, week.start, week.end, FEDERAL) == 30


def test_an_in_lieu_day_skips_days_that_are_holidays_already() -> None:
    # 24, 25 and 26 December 2025 are all closed; the 4x10 works Wed and Thu, not Fri.
    found = schedule_holidays(FOUR_TEN, date(2025, 12, 22), date(2025, 12, 28), FEDERAL)
    assert sorted(found) == [date(2025, 12, 23), date(2025, 12, 24), date(2025, 12, 25)]


def test_an_in_lieu_day_may_fall_before_the_period_asked_for() -> None:
    # Monday holiday, Monday-off 4x10: the in-lieu day is the Friday before.
    monday_off = Schedule(ScheduleKind.FOUR_TEN, day_off=Weekday.MONDAY)
    found = schedule_holidays(monday_off, date(2025, 5, 19), date(2025, 5, 25), FEDERAL)
    assert found == {date(2025, 5, 23): "Memorial Day (in lieu of 2025-05-26)"}


def test_no_holidays_calendar_requires_every_scheduled_hour() -> None:
    week = iso_week_of(date(2025, 5, 26))
    assert required_hours(Schedule(), week.start, week.end, NO_HOLIDAYS) == 40


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"kind": ScheduleKind.CUSTOM}, "seven weekday hours"),
        ({"kind": ScheduleKind.CUSTOM, "weekday_hours": (25, 0, 0, 0, 0, 0, 0)}, "between 0"),
        ({"weekday_hours": (8, 8, 8, 8, 8, 0, 0)}, "only for a custom schedule"),
        ({"kind": ScheduleKind.FOUR_TEN, "day_off": Weekday.SUNDAY}, "Monday-Friday"),
    ],
)
def test_impossible_schedules_are_refused(kwargs: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Schedule(**kwargs)  # type: ignore[arg-type]
