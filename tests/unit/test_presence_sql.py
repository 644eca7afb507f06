"""The DuckDB presence query agrees with the specification (domain/presence.py).

Random badge streams for several employees over three days (one of them a DST change in
America/New_York, with a second office in Denver so an employee can cross zones) go through
``presence_by_day`` and ``presence_sql`` under every hours convention and direction mode and
several debounce windows and pair limits; first IN, last OUT, hours, taps and presence must
be identical. Streams are built to contain what real exports contain: duplicates at one
timestamp, re-reads seconds apart, taps straddling the debounce window by a microsecond,
OUTs before any IN, missing OUTs and shifts over midnight.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dutystation.analytics.presence import day_chunks, presence_sql
from dutystation.domain.calendar import days_between
from dutystation.domain.presence import (
    BadgeEvent,
    DirectionMode,
    HoursConvention,
    PresenceSettings,
    presence_by_day,
)
from dutystation.domain.vocabulary import Direction

ZONES = {"HQ": "America/New_York", "DEN": "America/Denver"}
# Local midnights starting three-day windows: spring forward (2025-03-09), fall back
# (2025-11-02), and an ordinary week.
STARTS = [
    datetime(2025, 3, 8, tzinfo=ZoneInfo(ZONES["HQ"])),
    datetime(2025, 11, 1, tzinfo=ZoneInfo(ZONES["HQ"])),
    datetime(2025, 2, 3, tzinfo=ZoneInfo(ZONES["HQ"])),
]
SPAN_SECONDS = 3 * 86400
# Steps after an earlier tap: a re-read, either side of each debounce window, each pair limit.
NEAR = [1, 2, 3, 29, 30, 31, 59, 60, 61, 90, 599, 600, 601, 1800, 3600, 8 * 3600, 16 * 3600, 86400]
WINDOWS = [0.0, 0.5, 30.0, 60.0, 600.0]
PAIR_LIMITS = [0.5, 8.0, 16.0, 24.0]


@dataclass(frozen=True)
class Tap:
    employee_id: str
    at_utc: datetime
    direction: Direction | None
    site: str

    def local(self) -> BadgeEvent:
        return BadgeEvent(
            self.at_utc.astimezone(ZoneInfo(ZONES[self.site])), self.direction, self.site
        )


@st.composite
def streams(draw: st.DrawFn) -> list[Tap]:
    start = draw(st.sampled_from(STARTS)).astimezone(UTC)
    offsets: list[timedelta] = []
    for _ in range(draw(st.integers(0, 24))):
        kind = draw(
            st.sampled_from(["fresh", "fresh", "same instant", "near"])
            if offsets
            else st.just("fresh")
        )
        if kind == "fresh":
            offsets.append(timedelta(seconds=draw(st.integers(0, SPAN_SECONDS))))
        elif kind == "same instant":
            offsets.append(draw(st.sampled_from(offsets)))
        else:
            step = timedelta(seconds=draw(st.sampled_from(NEAR)))
            step += timedelta(microseconds=draw(st.sampled_from([0, 0, 0, 1, -1, 500_000])))
            offsets.append(draw(st.sampled_from(offsets)) + step)
    return [
        Tap(
            draw(st.sampled_from(["E1", "E1", "E2", "E3"])),
            start + offset,
            draw(st.sampled_from([Direction.IN, Direction.OUT, None])),
            draw(st.sampled_from(["HQ", "HQ", "HQ", "DEN"])),
        )
        for offset in offsets
    ]


def badge_table(taps: list[Tap]) -> pa.Table:
    return pa.table(
        {
            "employee_id": pa.array([t.employee_id for t in taps], pa.string()),
            "ts_utc": pa.array([t.at_utc for t in taps], pa.timestamp("us", tz="UTC")),
            "site_id": pa.array([t.site for t in taps], pa.string()),
            "direction": pa.array([t.direction for t in taps], pa.string()),
            "local_date": pa.array([t.local().at.date() for t in taps], pa.date32()),
        }
    )


SITES = pa.table({"site_id": list(ZONES), "timezone": list(ZONES.values())})

Row = tuple[datetime | None, datetime | None, float, int]


def naive(at: datetime | None) -> datetime | None:
    return None if at is None else at.replace(tzinfo=None)


def by_specification(taps: list[Tap], config: PresenceSettings) -> dict[tuple[str, date], Row]:
    found: dict[tuple[str, date], Row] = {}
    for employee in sorted({t.employee_id for t in taps}):
        mine = [t.local() for t in taps if t.employee_id == employee]
        for day, p in presence_by_day(mine, config).items():
            assert p.present
            found[employee, day] = (naive(p.first_in), naive(p.last_out), p.hours_on_site, p.taps)
    return found


def by_sql(
    con: duckdb.DuckDBPyConnection, config: PresenceSettings, days: tuple[date, date] | None
) -> dict[tuple[str, date], Row]:
    rows = con.execute(f"SELECT * FROM {presence_sql('badges', 'sites', config, days)}").fetchall()
    found = {(r[0], r[1]): (r[2], r[3], r[4], r[5]) for r in rows}
    assert len(found) == len(rows), "one row per employee and day"
    return found


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute("SET threads = 1")  # a few rows per query: threads only add latency
    connection.register("sites", SITES)
    yield connection
    connection.close()


def assert_agree(expected: dict[tuple[str, date], Row], got: dict[tuple[str, date], Row]) -> None:
    assert set(got) == set(expected)
    for key, (first_in, last_out, hours, taps) in expected.items():
        g_first, g_last, g_hours, g_taps = got[key]
        assert (g_first, g_last, g_taps) == (first_in, last_out, taps), key
        assert g_hours == pytest.approx(hours, abs=1e-9), key
        assert g_hours >= 0


def tap(seconds: float, direction: Direction | None = None) -> Tap:
    """A tap of E1 at HQ, ``seconds`` after 09:00 on an ordinary Monday."""
    nine = STARTS[2].astimezone(UTC) + timedelta(hours=9)
    return Tap("E1", nine + timedelta(seconds=seconds), direction, "HQ")


IN, OUT = Direction.IN, Direction.OUT
NIGHT_SHIFT = [  # 22:00 Saturday to 08:00 EDT Sunday, over the spring-forward night
    Tap("E1", STARTS[0].astimezone(UTC) + timedelta(hours=22), IN, "HQ"),
    Tap("E1", STARTS[0].astimezone(UTC) + timedelta(hours=31), OUT, "HQ"),
]
STUCK_READER = [tap(30 * i) for i in range(12)]  # every 30 s: kept at 0, 90, 180 ...
PAIR_AT_THE_LIMIT = [tap(0, IN), tap(1800, OUT), tap(3600, IN), tap(5400.000001, OUT)]
DUPLICATE_LATE_IN_A_CLUSTER = [tap(0), tap(30), tap(61, IN), tap(61, OUT), tap(61, IN)]
IN_AND_OUT_AT_ONE_INSTANT = [tap(0, OUT), tap(0, IN), tap(0), tap(8 * 3600, OUT)]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    taps=streams(),
    window=st.sampled_from(WINDOWS),
    limit=st.sampled_from(PAIR_LIMITS),
)
@example(taps=NIGHT_SHIFT, window=60.0, limit=16.0)
@example(taps=STUCK_READER, window=60.0, limit=16.0)
@example(taps=PAIR_AT_THE_LIMIT, window=60.0, limit=0.5)
@example(taps=DUPLICATE_LATE_IN_A_CLUSTER, window=60.0, limit=16.0)
@example(taps=IN_AND_OUT_AT_ONE_INSTANT, window=0.0, limit=16.0)
def test_the_duckdb_query_gives_the_specifications_presence_for_every_convention(
    con: duckdb.DuckDBPyConnection, taps: list[Tap], window: float, limit: float
) -> None:
    con.register("badges", badge_table(taps))
    for convention in HoursConvention:
        for mode in DirectionMode:
            config = PresenceSettings(convention, mode, window, limit)
            assert_agree(by_specification(taps, config), by_sql(con, config, None))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(taps=streams(), convention=st.sampled_from(list(HoursConvention)))
def test_a_date_range_gives_the_same_days_as_the_whole_history(
    con: duckdb.DuckDBPyConnection, taps: list[Tap], convention: HoursConvention
) -> None:
    """The scan reaches a day beyond each end, so pairs over midnight at the range's edges
    still count (rule 6)."""
    con.register("badges", badge_table(taps))
    config = PresenceSettings(convention, DirectionMode.READER)
    whole = by_specification(taps, config)
    for day in sorted({d for _, d in whole}):
        expected = {k: v for k, v in whole.items() if k[1] == day}
        assert_agree(expected, by_sql(con, config, (day, day)))


def test_a_stuck_reader_keeps_a_tap_each_time_the_window_runs_out(
    con: duckdb.DuckDBPyConnection,
) -> None:
    con.register("badges", badge_table(STUCK_READER))
    found = by_sql(con, PresenceSettings(debounce_seconds=60), None)
    # Taps at 0, 30, 60, ... 330 s: kept at 0, 90, 180 and 270 (60 is not past the window).
    assert [row[3] for row in found.values()] == [4]


def test_a_night_shift_over_the_spring_forward_night_counts_real_hours(
    con: duckdb.DuckDBPyConnection,
) -> None:
    con.register("badges", badge_table(NIGHT_SHIFT))
    found = by_sql(con, PresenceSettings(HoursConvention.PAIRS), None)
    saturday, sunday = STARTS[0].date(), STARTS[0].date() + timedelta(days=1)
    assert found["E1", saturday][2] == pytest.approx(2.0)  # 22:00 to midnight
    # 31 h after Saturday's midnight is 08:00 EDT: 7 real hours since midnight, not 8.
    assert found["E1", sunday][2] == pytest.approx(7.0)


def test_chunks_cover_the_range_once_with_about_the_events_asked_and_a_week_at_least() -> None:
    january, february = {"2025-01": 31_000_000}, {"2025-02": 2_800_000}
    chunks = day_chunks((date(2025, 1, 1), date(2025, 3, 31)), january | february, 3_000_000)
    assert chunks[0] == (date(2025, 1, 1), date(2025, 1, 7))  # 1M a day, but a week at least
    assert chunks[-1] == (date(2025, 2, 5), date(2025, 3, 31))  # quiet months in one go
    days = [d for first, last in chunks for d in days_between(first, last)]
    assert days == days_between(date(2025, 1, 1), date(2025, 3, 31))
    assert day_chunks((date(2025, 1, 1), date(2025, 1, 3)), {}, 1) == [
        (date(2025, 1, 1), date(2025, 1, 3))
    ]
