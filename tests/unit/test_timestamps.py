"""Wall-clock time at an office → the instant it names: the zoneinfo reference, and the bulk
DuckDB conversion the badge importer uses, which must agree with it everywhere."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dutystation.domain.timestamps import (
    WallTimeKind,
    office_local_date,
    resolve_wall_time,
)
from dutystation.events.store import EventStore
from dutystation.ingest.badges import BadgeChecker, BadgeRules
from dutystation.ingest.reference import (
    BADGES_SCHEMA,
    EMPLOYEES_SCHEMA,
    SITES_SCHEMA,
    ReferenceData,
)

US_ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
    "Pacific/Guam",
]


def test_a_spring_forward_wall_time_does_not_exist() -> None:
    result = resolve_wall_time(datetime(2026, 3, 8, 2, 30), "America/New_York")
    assert result.kind is WallTimeKind.GAP
    assert result.utc is None


def test_a_fall_back_wall_time_is_ambiguous_and_not_guessed() -> None:
    result = resolve_wall_time(datetime(2026, 11, 1, 1, 30), "America/New_York")
    assert result.kind is WallTimeKind.FOLD
    assert result.utc is None


def test_an_ordinary_wall_time_names_one_instant_with_its_offset() -> None:
    result = resolve_wall_time(datetime(2026, 7, 1, 9, 0), "America/Chicago")
    assert result.kind is WallTimeKind.EXACT
    assert result.utc == datetime(2026, 7, 1, 14, 0, tzinfo=UTC)
    assert result.offset_minutes == -300


def test_phoenix_has_no_gap_on_the_day_the_rest_of_the_country_springs_forward() -> None:
    result = resolve_wall_time(datetime(2026, 3, 8, 2, 30), "America/Phoenix")
    assert result.kind is WallTimeKind.EXACT
    assert result.utc == datetime(2026, 3, 8, 9, 30, tzinfo=UTC)


def test_the_workday_is_the_date_on_the_office_clock() -> None:
    instant = datetime(2026, 3, 10, 3, 30, tzinfo=UTC)  # 23:30 on the 9th in New York
    assert office_local_date(instant, "America/New_York") == date(2026, 3, 9)
    assert office_local_date(instant, "Pacific/Guam") == date(2026, 3, 10)


def test_naive_and_aware_arguments_are_refused_where_they_make_no_sense() -> None:
    with pytest.raises(ValueError):
        resolve_wall_time(datetime(2026, 1, 1, tzinfo=UTC), "America/New_York")
    with pytest.raises(ValueError):
        office_local_date(datetime(2026, 1, 1), "America/New_York")


# --------------------------------------------------------------------------- DuckDB agrees

NOW = datetime(2031, 1, 1, tzinfo=UTC)


_CHECKERS: list[BadgeChecker] = []


def _checker() -> BadgeChecker:
    """One checker for all examples (building its zone table is the slow part)."""
    if _CHECKERS:
        _CHECKERS[0].con.execute("DELETE FROM staged")
        return _CHECKERS[0]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    sites = pa.table(
        {"site_id": [f"S{i}" for i in range(len(US_ZONES))], "timezone": US_ZONES},
        schema=SITES_SCHEMA,
    )
    reference = ReferenceData(
        # One employee per row, so a staged row tells which input line it came from.
        pa.table({"employee_id": [f"E{line}" for line in range(2, 200)]}, schema=EMPLOYEES_SCHEMA),
        BADGES_SCHEMA.empty_table(),
        sites,
    )
    rules = BadgeRules(date(2000, 1, 1), NOW, timedelta(minutes=5))
    _CHECKERS.append(BadgeChecker(con, reference, rules, EventStore(Path("/nonexistent"))))
    return _CHECKERS[0]


def _duckdb_conversion(
    rows: list[tuple[int, datetime]],
) -> dict[int, tuple[str | None, datetime | None, date | None]]:
    """line -> (rejection reason, UTC instant, office-local date) as the importer sees it."""
    checker = _checker()
    chunk = pa.table(
        {
            "employee_id": [f"E{line}" for line in range(2, len(rows) + 2)],
            "timestamp": [wall.isoformat(sep=" ") for _, wall in rows],
            "site_id": [f"S{zone}" for zone, _ in rows],
            "_line": pa.array(range(2, len(rows) + 2), pa.int64()),
        }
    )
    rejected = checker.check(chunk, 0)
    out: dict[int, tuple[str | None, datetime | None, date | None]] = {
        line: (reason, None, None)
        for line, reason in zip(
            rejected.column("_line").to_pylist(),
            rejected.column("_reason").to_pylist(),
            strict=True,
        )
    }
    staged = checker.con.execute(
        "SELECT substr(employee_id, 2)::INTEGER, utc_us, local_date FROM staged"
    ).fetchall()
    for line, utc_us, local in staged:
        out[line] = (None, datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=utc_us), local)
    return out


# Wall times near every US transition between 2007 and 2030, and anywhere else.
_near_transition = st.builds(
    lambda year, spring, minutes: (
        (
            datetime(year, 3, 8, 0, 0) + timedelta(days=(6 - date(year, 3, 8).weekday()) % 7)
            if spring
            else datetime(year, 11, 1, 0, 0) + timedelta(days=(6 - date(year, 11, 1).weekday()) % 7)
        )
        + timedelta(minutes=minutes)
    ),
    st.integers(2007, 2030),
    st.booleans(),
    st.integers(-180, 24 * 60 + 180),
)
_anywhere = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2030, 12, 31))
_wall_times = st.one_of(_near_transition, _anywhere).map(lambda d: d.replace(microsecond=0))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(US_ZONES) - 1), _wall_times), min_size=1, max_size=60))
def test_duckdb_and_the_zoneinfo_reference_agree_on_wall_times_in_us_zones(
    rows: list[tuple[int, datetime]],
) -> None:
    seen = _duckdb_conversion(rows)
    for line, (zone, wall) in enumerate(rows, start=2):
        expected = resolve_wall_time(wall, US_ZONES[zone])
        reason, utc, local = seen[line]
        if expected.kind is WallTimeKind.EXACT:
            assert reason is None, (wall, US_ZONES[zone], reason)
            assert utc == expected.utc
            assert expected.utc is not None
            assert local == office_local_date(expected.utc, US_ZONES[zone])
        else:
            assert reason == str(expected.kind), (wall, US_ZONES[zone])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(US_ZONES) - 1),
            st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2030, 12, 31)),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_duckdb_places_utc_instants_on_the_office_local_date_like_zoneinfo(
    rows: list[tuple[int, datetime]],
) -> None:
    checker = _checker()
    instants = [utc.replace(microsecond=0, tzinfo=UTC) for _, utc in rows]
    chunk = pa.table(
        {
            "employee_id": [f"E{line}" for line in range(2, len(rows) + 2)],
            "timestamp": [i.strftime("%Y-%m-%dT%H:%M:%SZ") for i in instants],
            "site_id": [f"S{zone}" for zone, _ in rows],
            "_line": pa.array(range(2, len(rows) + 2), pa.int64()),
        }
    )
    assert checker.check(chunk, 0).num_rows == 0
    staged = dict(
        checker.con.execute(
            "SELECT substr(employee_id, 2)::INTEGER, local_date FROM staged"
        ).fetchall()
    )
    for line, ((zone, _), instant) in enumerate(zip(rows, instants, strict=True), start=2):
        assert staged[line] == office_local_date(instant, US_ZONES[zone])
