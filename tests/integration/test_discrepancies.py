"""T&A against badges: each kind of conflict from timecards and taps imported through the
real importers, and the days that look like conflicts but are not."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from test_presence_service_builders import (
    import_badges,
    import_timecards,
    load_organisation,
    runtime_for,
    staff,
    tap,
    timecard,
)

from dutystation.bootstrap import Runtime, bootstrap
from dutystation.services.demo import run_demo
from dutystation.services.presence import DISCREPANCIES_SCHEMA, daily_presence, discrepancies
from dutystation.settings import Settings

MONDAY, FRIDAY = date(2025, 2, 3), date(2025, 2, 7)


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    found = runtime_for(tmp_path)
    people = [
        *staff("E1", "E2", "E3"),
        *staff("F1", org_unit="COMP-B", duty_station="FIELD-1"),
    ]
    load_organisation(found, tmp_path, people)
    return found


def visit(employee_id: str, day: str, site: str = "HQ") -> list[list[str]]:
    return [
        tap(employee_id, f"{day}T10:00:00", "IN", site),
        tap(employee_id, f"{day}T12:00:00", "OUT", site),
    ]


def found(runtime: Runtime, **kwargs: str) -> list[tuple[object, ...]]:
    table = discrepancies(runtime, MONDAY, FRIDAY, **kwargs)
    assert table.schema == DISCREPANCIES_SCHEMA
    return [tuple(r.values()) for r in table.to_pylist()]


def test_on_site_hours_with_no_tap_name_the_office_they_were_due_at(
    runtime: Runtime, tmp_path: Path
) -> None:
    import_timecards(
        runtime,
        tmp_path,
        [
            timecard("E1", "2025-02-03", "onsite", 8),  # no office named: the duty station
            timecard("E2", "2025-02-03", "onsite", 8, "FIELD-1"),  # worked at another office
            timecard("E3", "2025-02-03", "onsite", 8),  # badged: no conflict
        ],
    )
    import_badges(runtime, tmp_path, visit("E3", "2025-02-03"))
    assert found(runtime) == [
        ("E1", MONDAY, "onsite_hours_without_badge", "onsite", 8.0, 0, "HQ"),
        ("E2", MONDAY, "onsite_hours_without_badge", "onsite", 8.0, 0, "FIELD-1"),
    ]


def test_taps_on_telework_remote_and_leave_days_are_each_their_own_kind(
    runtime: Runtime, tmp_path: Path
) -> None:
    import_timecards(
        runtime,
        tmp_path,
        [
            timecard("E1", "2025-02-03", "telework_routine", 8),
            timecard("E1", "2025-02-04", "telework_situational", 8),
            timecard("E2", "2025-02-04", "remote", 8),
            timecard("E3", "2025-02-05", "leave", 8),
        ],
    )
    reread = [tap("E1", "2025-02-03T10:00:01", "IN")]  # raw taps are counted: 3, not 2
    import_badges(
        runtime,
        tmp_path,
        visit("E1", "2025-02-03") + reread + visit("E1", "2025-02-04")
        + visit("E2", "2025-02-04") + visit("E3", "2025-02-05", "FIELD-1"),
    )  # fmt: skip
    assert found(runtime) == [
        ("E1", MONDAY, "badge_on_telework_day", "telework_routine", 8.0, 3, "HQ"),
        ("E1", date(2025, 2, 4), "badge_on_telework_day", "telework_situational", 8.0, 2, "HQ"),
        ("E2", date(2025, 2, 4), "badge_on_remote_day", "remote", 8.0, 2, "HQ"),
        ("E3", date(2025, 2, 5), "badge_on_leave_day", "leave", 8.0, 2, "FIELD-1"),
    ]


def test_split_days_field_days_and_holidays_explain_their_taps(
    runtime: Runtime, tmp_path: Path
) -> None:
    import_timecards(
        runtime,
        tmp_path,
        [
            timecard("E1", "2025-02-03", "onsite", 4),
            timecard("E1", "2025-02-03", "telework_routine", 4),  # half a day at home
            timecard("E2", "2025-02-03", "field_travel", 4),  # picked up a vehicle first
            timecard("E2", "2025-02-03", "leave", 4),
            timecard("E3", "2025-02-17", "holiday", 8),  # Washington's Birthday
            timecard("E3", "2025-02-04", "telework_routine", 0),  # no hours: nothing coded
        ],
    )
    import_badges(
        runtime,
        tmp_path,
        visit("E1", "2025-02-03") + visit("E2", "2025-02-03") + visit("E3", "2025-02-17")
        + visit("E3", "2025-02-04"),
    )  # fmt: skip
    assert discrepancies(runtime, MONDAY, date(2025, 2, 21)).num_rows == 0


def test_a_corrected_timecard_replaces_the_one_it_corrects(
    runtime: Runtime, tmp_path: Path
) -> None:
    import_badges(runtime, tmp_path, visit("E1", "2025-02-03"))
    import_timecards(runtime, tmp_path, [timecard("E1", "2025-02-03", "telework_routine", 8)])
    assert [r[2] for r in found(runtime)] == ["badge_on_telework_day"]
    corrected = [
        timecard("E1", "2025-02-03", "telework_routine", 0),
        timecard("E1", "2025-02-03", "onsite", 8),
    ]
    import_timecards(runtime, tmp_path, corrected)
    assert found(runtime) == []


def test_an_org_unit_sees_the_conflicts_of_its_own_members(
    runtime: Runtime, tmp_path: Path
) -> None:
    import_timecards(
        runtime,
        tmp_path,
        [timecard("E1", "2025-02-03", "onsite", 8), timecard("F1", "2025-02-03", "onsite", 8)],
    )
    assert [r[0] for r in found(runtime, org_unit="COMP-B")] == ["F1"]
    assert [r[0] for r in found(runtime, org_unit="DEPT")] == ["E1", "F1"]


@pytest.mark.slow
def test_the_demos_planted_conflicts_are_found_and_each_is_a_real_one(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    settings = Settings(data_dir=tmp_path_factory.mktemp("discrepancies") / "data")
    run_demo(settings, employees=1_000)
    runtime = bootstrap(settings)
    start, end = date(2025, 2, 1), date(2025, 3, 14)
    table = discrepancies(runtime, start, end)
    kinds = table.column("kind").to_pylist()
    # The demo forgets a badge on 2 % of on-site days and visits on 0.6 % of telework days.
    assert kinds.count("onsite_hours_without_badge") > 100
    assert kinds.count("badge_on_telework_day") > 5
    present = daily_presence(runtime, start, end)
    badged = set(
        zip(
            present.column("employee_id").to_pylist(),
            present.column("date").to_pylist(),
            strict=True,
        )
    )
    for row in table.to_pylist():
        with_badge = (row["employee_id"], row["date"]) in badged
        assert with_badge is (row["kind"] != "onsite_hours_without_badge")
        assert row["site_id"] is not None
