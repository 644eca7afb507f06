"""Daily presence from the stored badge events, as users get it from ``services.presence``:
taps imported through the real importer, read back from the event store, paired in DuckDB.
The pairing rules themselves are proved against the specification in
tests/unit/test_presence_sql.py; here: the store, the offices' zones, the settings, the org
unit filter, the chunking, and the demo's messy evidence against the specification."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from test_presence_service_builders import (
    import_badges,
    load_organisation,
    runtime_for,
    staff,
    tap,
)

from dutystation.analytics.engine import connect
from dutystation.analytics.presence import presence_sql
from dutystation.bootstrap import Runtime, bootstrap
from dutystation.domain.presence import (
    BadgeEvent,
    DirectionMode,
    HoursConvention,
    PresenceSettings,
    presence_by_day,
)
from dutystation.domain.vocabulary import Direction
from dutystation.errors import ConfigError, DutystationError, NotFound
from dutystation.services import presence as presence_service
from dutystation.services.demo import run_demo
from dutystation.services.presence import (
    PRESENCE_SCHEMA,
    daily_presence,
    parse_direction_mode,
    parse_hours_convention,
    presence_settings_from,
    register_inputs,
)
from dutystation.settings import Settings

MONDAY, FRIDAY = date(2025, 2, 3), date(2025, 2, 7)
PAIRS = PresenceSettings(HoursConvention.PAIRS, DirectionMode.READER)
FIRST_LAST = PresenceSettings(HoursConvention.FIRST_LAST, DirectionMode.READER)
LUNCH_DAY = [
    tap("E1", "2025-02-03T08:00:00", "IN"),
    tap("E1", "2025-02-03T08:00:02", "IN"),  # the reader fired twice
    tap("E1", "2025-02-03T12:00:00", "OUT"),
    tap("E1", "2025-02-03T13:00:00", "IN"),
    tap("E1", "2025-02-03T17:00:00", "OUT"),
]


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    found = runtime_for(tmp_path)
    load_organisation(found, tmp_path, staff("E1", "E2"))
    return found


def rows(table: pa.Table) -> dict[tuple[str, date], dict[str, object]]:
    return {(r["employee_id"], r["date"]): r for r in table.to_pylist()}


def test_hours_follow_the_chosen_convention_and_local_times_are_the_offices(
    runtime: Runtime, tmp_path: Path
) -> None:
    import_badges(runtime, tmp_path, LUNCH_DAY)
    pairs = daily_presence(runtime, MONDAY, FRIDAY, settings=PAIRS)
    span = daily_presence(runtime, MONDAY, FRIDAY, settings=FIRST_LAST)
    assert pairs.schema == PRESENCE_SCHEMA
    day = rows(pairs)["E1", MONDAY]
    assert day["hours_on_site"] == 8.0  # the lunch hour out is not counted
    assert rows(span)["E1", MONDAY]["hours_on_site"] == 9.0
    assert day["first_in"] == datetime(2025, 2, 3, 8, 0)  # New York wall time, not UTC
    assert day["last_out"] == datetime(2025, 2, 3, 17, 0)
    assert (day["taps"], day["site_id"], day["source"]) == (4, "HQ", "badge")


def test_a_night_shift_is_cut_at_the_offices_own_midnight(runtime: Runtime, tmp_path: Path) -> None:
    import_badges(
        runtime,
        tmp_path,
        [
            tap("E2", "2025-02-04T22:00:00", "IN", "FIELD-1"),  # Denver
            tap("E2", "2025-02-05T06:00:00", "OUT", "FIELD-1"),
        ],
    )
    found = rows(daily_presence(runtime, MONDAY, FRIDAY, settings=PAIRS))
    assert found["E2", date(2025, 2, 4)]["hours_on_site"] == 2.0
    assert found["E2", date(2025, 2, 5)]["hours_on_site"] == 6.0


def test_a_pair_over_the_ranges_edge_still_counts_its_part_inside(
    runtime: Runtime, tmp_path: Path
) -> None:
    import_badges(
        runtime,
        tmp_path,
        [tap("E1", "2025-02-02T20:00:00", "IN"), tap("E1", "2025-02-03T04:00:00", "OUT")],
    )
    found = daily_presence(runtime, MONDAY, FRIDAY, settings=PAIRS)
    assert [(r["date"], r["hours_on_site"]) for r in found.to_pylist()] == [(MONDAY, 4.0)]


def test_readers_without_direction_count_hours_only_when_alternating(
    runtime: Runtime, tmp_path: Path
) -> None:
    undirected = [tap("E1", "2025-02-03T08:00:00"), tap("E1", "2025-02-03T16:30:00")]
    import_badges(runtime, tmp_path, undirected)
    trusted = daily_presence(runtime, MONDAY, FRIDAY, settings=PAIRS)
    alternating = PresenceSettings(HoursConvention.PAIRS, DirectionMode.ALTERNATING)
    assert rows(trusted)["E1", MONDAY]["hours_on_site"] == 0.0  # present, no hours
    counted = daily_presence(runtime, MONDAY, FRIDAY, settings=alternating)
    assert rows(counted)["E1", MONDAY]["hours_on_site"] == 8.5


def test_an_org_unit_sees_its_members_only_on_the_days_they_belong_to_it(
    tmp_path: Path,
) -> None:
    runtime = runtime_for(tmp_path)
    mover = [
        *staff("E1", org_unit="COMP-B", duty_station="FIELD-1"),
        *staff("E1", org_unit="DIV-A1", effective_date="2025-02-05"),  # moves to A's division
        *staff("E2", org_unit="COMP-B", duty_station="FIELD-1"),
    ]
    load_organisation(runtime, tmp_path, mover)
    taps = [
        tap(e, f"2025-02-0{d}T{h}:00:00", io)
        for e in ("E1", "E2")
        for d in range(3, 8)
        for h, io in (("08", "IN"), ("16", "OUT"))
    ]
    import_badges(runtime, tmp_path, taps)
    found = daily_presence(runtime, MONDAY, FRIDAY, org_unit="COMP-A", settings=PAIRS)
    assert [(r["employee_id"], r["date"].day) for r in found.to_pylist()] == [
        ("E1", 5),
        ("E1", 6),
        ("E1", 7),
    ]
    with pytest.raises(NotFound):
        daily_presence(runtime, MONDAY, FRIDAY, org_unit="NOPE")


def test_an_empty_store_gives_no_rows_but_every_column(runtime: Runtime) -> None:
    found = daily_presence(runtime, MONDAY, FRIDAY)
    assert found.num_rows == 0 and found.schema == PRESENCE_SCHEMA


def test_a_period_ending_before_it_starts_is_one_clear_error(runtime: Runtime) -> None:
    with pytest.raises(DutystationError, match=r"ends .* before it starts"):
        daily_presence(runtime, FRIDAY, MONDAY)


def test_the_defaults_are_first_last_reader_60_seconds_and_16_hours() -> None:
    configured = presence_settings_from(Settings())
    assert configured == PresenceSettings(HoursConvention.FIRST_LAST, DirectionMode.READER, 60, 16)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("first-last", HoursConvention.FIRST_LAST), ("pairs", HoursConvention.PAIRS)],
)
def test_the_hours_convention_is_spelled_as_on_the_command_line(
    text: str, expected: HoursConvention
) -> None:
    assert parse_hours_convention(text) is expected


def test_an_unknown_convention_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="first-last or pairs"):
        parse_hours_convention("span")
    with pytest.raises(ConfigError, match="reader or alternating"):
        parse_direction_mode("guess")


# ----------------------------------------------------------------- the demo's evidence

START, END = date(2025, 2, 1), date(2025, 3, 14)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    settings = Settings(data_dir=tmp_path_factory.mktemp("presence") / "data")
    run_demo(settings, employees=1_000)
    return bootstrap(settings)


def _stored_taps(runtime: Runtime, employees: list[str]) -> dict[str, list[BadgeEvent]]:
    """The employees' stored events as the specification takes them: aware local times."""
    con = connect(runtime.settings)
    try:
        inputs = register_inputs(con, runtime, START, END)
        listed = ", ".join(f"'{e}'" for e in employees)
        found = con.sql(
            f"SELECT b.employee_id, epoch_us(b.ts_utc), b.direction, b.site_id, s.timezone "
            f"FROM {inputs.badges} AS b JOIN {inputs.sites} AS s USING (site_id) "
            f"WHERE b.employee_id IN ({listed})"
        ).fetchall()
    finally:
        con.close()
    taps: dict[str, list[BadgeEvent]] = defaultdict(list)
    for employee, micros, direction, site, zone in found:
        at = (EPOCH + timedelta(microseconds=micros)).astimezone(ZoneInfo(zone))
        taps[employee].append(BadgeEvent(at, Direction(direction) if direction else None, site))
    return taps


@pytest.mark.slow
@pytest.mark.parametrize("hours", list(HoursConvention))
@pytest.mark.parametrize("mode", list(DirectionMode))
def test_the_demos_presence_equals_the_specification_for_its_employees(
    demo: Runtime, hours: HoursConvention, mode: DirectionMode
) -> None:
    config = PresenceSettings(hours, mode)
    table = daily_presence(demo, START, END, settings=config)
    employees = sorted(set(table.column("employee_id").to_pylist()))[:150]
    got = {k: v for k, v in rows(table).items() if k[0] in employees}
    expected = {}
    for employee, taps in _stored_taps(demo, employees).items():
        for day, p in presence_by_day(taps, config).items():
            if START <= day <= END:
                expected[employee, day] = p
    assert set(got) == set(expected)
    for key, p in expected.items():
        row = got[key]
        assert row["taps"] == p.taps
        assert row["hours_on_site"] == pytest.approx(p.hours_on_site, abs=1e-9)
        assert row["first_in"] == (p.first_in and p.first_in.replace(tzinfo=None))
        assert row["last_out"] == (p.last_out and p.last_out.replace(tzinfo=None))


@pytest.mark.slow
def test_chunks_sized_to_the_memory_limit_give_the_same_days_as_one_query(
    demo: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if each event needed a gigabyte: the shortest chunks, a week each.
    monkeypatch.setattr(presence_service, "BYTES_PER_EVENT", 10**9)
    chunked = daily_presence(demo, START, END, settings=PAIRS)
    con = connect(demo.settings)
    try:
        inputs = register_inputs(con, demo, START, END)
        whole = con.sql(
            f"SELECT * FROM {presence_sql(inputs.badges, inputs.sites, PAIRS, (START, END))} "
            "ORDER BY employee_id, date"
        ).fetchall()
    finally:
        con.close()
    assert [tuple(r.values())[:-1] for r in chunked.to_pylist()] == whole
