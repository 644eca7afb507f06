"""Presence from badge taps: the reference rules of domain/presence.py, one table each."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dutystation.domain.presence import (
    BadgeEvent,
    DirectionMode,
    HoursConvention,
    PresenceSettings,
    day_presence,
    debounce,
    presence_by_day,
)
from dutystation.domain.vocabulary import Direction

DAY = date(2025, 2, 24)
PAIRS = PresenceSettings(HoursConvention.PAIRS)
FIRST_LAST = PresenceSettings(HoursConvention.FIRST_LAST)
ALTERNATING = PresenceSettings(HoursConvention.PAIRS, DirectionMode.ALTERNATING)
ALTERNATING_SPAN = PresenceSettings(HoursConvention.FIRST_LAST, DirectionMode.ALTERNATING)


def tap(hhmm: str, direction: str | None = None, day: date = DAY) -> BadgeEvent:
    hour, minute = (int(x) for x in hhmm.split(":")[:2])
    second = int(hhmm.split(":")[2]) if hhmm.count(":") == 2 else 0
    when = datetime(day.year, day.month, day.day, hour, minute, second)
    return BadgeEvent(when, Direction(direction) if direction else None, "HQ")


CASES = [
    # (name, taps, settings, hours, present)
    ("one_in_one_out", [tap("08:00", "IN"), tap("17:00", "OUT")], PAIRS, 9.0, True),
    (
        "lunch_break_is_not_counted_by_pairs",
        [tap("08:00", "IN"), tap("12:00", "OUT"), tap("13:00", "IN"), tap("17:00", "OUT")],
        PAIRS,
        8.0,
        True,
    ),
    (
        "lunch_break_is_counted_by_first_last",
        [tap("08:00", "IN"), tap("12:00", "OUT"), tap("13:00", "IN"), tap("17:00", "OUT")],
        FIRST_LAST,
        9.0,
        True,
    ),
    ("missing_out_adds_nothing_for_pairs", [tap("08:00", "IN")], PAIRS, 0.0, True),
    ("missing_out_gives_first_last_zero_but_present", [tap("08:00", "IN")], FIRST_LAST, 0.0, True),
    (
        "last_in_without_out_pairs_count_up_to_that_in",
        [tap("08:00", "IN"), tap("12:00", "OUT"), tap("13:00", "IN")],
        PAIRS,
        4.0,
        True,
    ),
    (
        "last_in_without_out_first_last_uses_the_last_out",
        [tap("08:00", "IN"), tap("12:00", "OUT"), tap("13:00", "IN")],
        FIRST_LAST,
        4.0,
        True,
    ),
    (
        "out_before_any_in_is_ignored_by_pairs",
        [tap("07:00", "OUT"), tap("08:00", "IN"), tap("16:00", "OUT")],
        PAIRS,
        8.0,
        True,
    ),
    (
        "out_before_any_in_first_last_starts_at_the_first_in",
        [tap("07:00", "OUT"), tap("08:00", "IN"), tap("16:00", "OUT")],
        FIRST_LAST,
        8.0,
        True,
    ),
    (
        "only_an_out_before_the_in_gives_zero_hours_never_negative",
        [tap("07:00", "OUT"), tap("08:00", "IN")],
        FIRST_LAST,
        0.0,
        True,
    ),
    (
        "a_second_in_replaces_the_open_one",
        [tap("08:00", "IN"), tap("13:00", "IN"), tap("17:00", "OUT")],
        PAIRS,
        4.0,
        True,
    ),
    (
        "a_second_out_without_an_in_is_ignored",
        [tap("08:00", "IN"), tap("12:00", "OUT"), tap("17:00", "OUT")],
        PAIRS,
        4.0,
        True,
    ),
    (
        "first_last_spans_to_the_last_out_even_unpaired",
        [tap("08:00", "IN"), tap("12:00", "OUT"), tap("17:00", "OUT")],
        FIRST_LAST,
        9.0,
        True,
    ),
    ("a_tap_without_direction_is_presence_only_in_reader_mode", [tap("09:00")], PAIRS, 0.0, True),
    (
        "alternating_ignores_recorded_directions",
        [tap("08:00", "OUT"), tap("12:00", "OUT"), tap("13:00"), tap("17:00", "IN")],
        ALTERNATING,
        8.0,
        True,
    ),
    (
        "alternating_first_last",
        [tap("08:00"), tap("12:00"), tap("13:00")],
        ALTERNATING_SPAN,
        4.0,
        True,
    ),
    ("no_taps_is_absent", [], PAIRS, 0.0, False),
    (
        "a_pair_longer_than_max_pair_hours_is_not_a_pair",
        [tap("05:00", "IN"), tap("22:00", "OUT")],
        PAIRS,
        0.0,
        True,
    ),
]


@pytest.mark.parametrize(
    ("taps", "settings", "hours", "present"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_hours_and_presence(
    taps: list[BadgeEvent], settings: PresenceSettings, hours: float, present: bool
) -> None:
    found = day_presence(taps, DAY, settings)
    assert found.hours_on_site == pytest.approx(hours)
    assert found.present is present
    assert found.day == DAY


def test_events_out_of_order_are_sorted_first() -> None:
    taps = [tap("17:00", "OUT"), tap("08:00", "IN")]
    found = day_presence(taps, DAY, PAIRS)
    assert found.hours_on_site == 9.0
    assert found.first_in == datetime(2025, 2, 24, 8)
    assert found.last_out == datetime(2025, 2, 24, 17)


def test_duplicates_at_one_timestamp_collapse_even_without_debounce() -> None:
    taps = [tap("08:00", "IN"), tap("08:00", "IN"), tap("17:00", "OUT"), tap("17:00", "OUT")]
    found = day_presence(taps, DAY, PresenceSettings(debounce_seconds=0))
    assert found.taps == 2
    assert found.hours_on_site == 9.0


def test_taps_within_the_debounce_window_collapse_into_the_kept_tap() -> None:
    taps = [tap("08:00:00", "IN"), tap("08:00:30", "OUT"), tap("08:01:01", "IN")]
    kept = debounce(taps, 60)
    assert [e.at.second for e in kept] == [0, 1]
    assert [e.direction for e in kept] == [Direction.IN, Direction.IN]


def test_debounce_windows_run_from_the_kept_tap_and_do_not_chain() -> None:
    taps = [tap("08:00:00"), tap("08:00:50"), tap("08:01:40")]
    assert len(debounce(taps, 60)) == 2


def test_a_tap_exactly_at_the_end_of_the_window_collapses() -> None:
    assert len(debounce([tap("08:00:00"), tap("08:01:00")], 60)) == 1


def test_at_one_instant_in_is_kept_before_out_before_no_direction() -> None:
    kept = debounce([tap("08:00"), tap("08:00", "OUT"), tap("08:00", "IN")], 0)
    assert [e.direction for e in kept] == [Direction.IN]


NEXT = date(2025, 2, 25)


def test_a_tap_just_after_midnight_is_kept_on_its_own_day() -> None:
    # Debounce stays within a day: the employee's record shows a tap on Tuesday, so
    # Tuesday is present by badge (0 hours: an OUT with no IN), and Monday keeps its hours.
    taps = [tap("20:00", "IN"), tap("23:59:30", "OUT"), tap("00:00:10", "OUT", NEXT)]
    assert len(debounce(taps, 60)) == 3
    by_day = presence_by_day(taps, PAIRS)
    assert by_day[NEXT].present and by_day[NEXT].taps == 1
    assert by_day[NEXT].hours_on_site == 0.0
    assert by_day[DAY].hours_on_site == pytest.approx(3 + 59.5 / 60)


def test_debounce_runs_from_the_kept_tap_of_the_same_day_when_offices_interleave() -> None:
    # Two offices' clocks: the Chicago tap (still Monday there) sits between two New York
    # taps of Tuesday 20 s apart; the second New York tap collapses into the first.
    new_york, chicago = ZoneInfo("America/New_York"), ZoneInfo("America/Chicago")
    first = datetime(2025, 2, 25, 0, 0, 10, tzinfo=new_york)
    taps = [
        BadgeEvent(first, Direction.IN, "NYC"),
        BadgeEvent((first + timedelta(seconds=10)).astimezone(chicago), Direction.OUT, "CHI"),
        BadgeEvent(first + timedelta(seconds=20), Direction.IN, "NYC"),
    ]
    kept = debounce(taps, 60)
    assert [(e.site, e.at.date()) for e in kept] == [("NYC", NEXT), ("CHI", DAY)]


def test_a_pair_crossing_midnight_is_cut_at_midnight() -> None:
    night = [tap("22:00", "IN"), tap("06:00", "OUT", NEXT)]
    by_day = presence_by_day(night, PAIRS)
    assert by_day[DAY].hours_on_site == 2.0
    assert by_day[NEXT].hours_on_site == 6.0
    assert by_day[DAY].present and by_day[NEXT].present


def test_first_last_around_midnight_runs_to_and_from_midnight() -> None:
    night = [tap("18:00", "IN"), tap("20:00", "OUT"), tap("22:00", "IN"), tap("06:00", "OUT", NEXT)]
    by_day = presence_by_day(night, FIRST_LAST)
    assert by_day[DAY].hours_on_site == 6.0  # 18:00 to midnight
    assert by_day[NEXT].hours_on_site == 6.0  # midnight to 06:00
    assert by_day[NEXT].first_in is None


def test_one_days_events_alone_cannot_see_the_other_half_of_a_night_shift() -> None:
    assert day_presence([tap("22:00", "IN")], DAY, PAIRS).hours_on_site == 0.0
    assert day_presence([tap("06:00", "OUT", NEXT)], NEXT, PAIRS).hours_on_site == 0.0


def test_alternating_restarts_each_day_so_a_night_shift_is_two_days() -> None:
    night = [tap("22:00"), tap("06:00", day=NEXT)]
    by_day = presence_by_day(night, ALTERNATING)
    assert by_day[DAY].hours_on_site == 0.0 and by_day[NEXT].hours_on_site == 0.0


def test_a_forgotten_out_is_not_paired_with_the_next_days_out() -> None:
    taps = [tap("08:00", "IN"), tap("09:00", "OUT", NEXT)]  # 25 h later
    by_day = presence_by_day(taps, PAIRS)
    assert by_day[DAY].hours_on_site == 0.0 and by_day[NEXT].hours_on_site == 0.0


def test_aware_times_count_real_hours_across_the_fall_back_night() -> None:
    zone = ZoneInfo("America/New_York")
    taps = [
        BadgeEvent(datetime(2024, 11, 3, 0, 0, tzinfo=zone), Direction.IN),
        BadgeEvent(datetime(2024, 11, 3, 4, 0, tzinfo=zone), Direction.OUT),
    ]
    assert day_presence(taps, date(2024, 11, 3), PAIRS).hours_on_site == 5.0


def test_aware_times_sort_by_instant_inside_the_repeated_hour() -> None:
    zone = ZoneInfo("America/New_York")
    first = datetime(2024, 11, 3, 1, 30, tzinfo=zone)  # EDT
    second = datetime(2024, 11, 3, 1, 10, fold=1, tzinfo=zone)  # EST, 40 min later
    taps = [BadgeEvent(second, Direction.OUT), BadgeEvent(first, Direction.IN)]
    found = day_presence(taps, date(2024, 11, 3), PAIRS)
    assert found.hours_on_site == pytest.approx(40 / 60)


def test_naive_and_aware_times_cannot_be_mixed() -> None:
    zone = ZoneInfo("America/New_York")
    taps = [tap("08:00", "IN"), BadgeEvent(datetime(2025, 2, 24, 9, tzinfo=zone))]
    with pytest.raises(ValueError, match="all naive"):
        day_presence(taps, DAY)


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [({"debounce_seconds": -1}, "negative"), ({"max_pair_hours": 25}, "at most 24")],
)
def test_impossible_settings_are_refused(kwargs: dict[str, float], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        PresenceSettings(**kwargs)  # type: ignore[arg-type]
