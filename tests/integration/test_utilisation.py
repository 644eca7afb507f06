"""Office occupancy from badge taps against seats: averages over business days, peaks over
every day, offices of an org unit, and offices without seats."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from test_presence_service_builders import (
    import_badges,
    load_organisation,
    runtime_for,
    staff,
    tap,
)

from dutystation.bootstrap import Runtime
from dutystation.services.presence import UTILISATION_SCHEMA, utilisation

MONDAY, FRIDAY = date(2025, 2, 3), date(2025, 2, 7)


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    found = runtime_for(tmp_path)
    load_organisation(found, tmp_path, staff("E1", "E2", "E3", "E4"), seats={"HQ": 2})
    return found


def day_at(employee_id: str, day: str, site: str = "HQ") -> list[list[str]]:
    return [
        tap(employee_id, f"{day}T09:00:00", "IN", site),
        tap(employee_id, f"{day}T16:00:00", "OUT", site),
    ]


def offices(runtime: Runtime, start: date = MONDAY, end: date = FRIDAY, **kw: Any) -> Any:
    table = utilisation(runtime, start, end, **kw)
    assert table.schema == UTILISATION_SCHEMA
    return {r["site_id"]: r for r in table.to_pylist()}


def test_occupancy_is_distinct_people_per_day_against_seats(
    runtime: Runtime, tmp_path: Path
) -> None:
    taps = [
        *day_at("E1", "2025-02-03"),
        *day_at("E1", "2025-02-03"),  # back in the afternoon: still one person
        *day_at("E2", "2025-02-03"),
        *day_at("E3", "2025-02-03"),
        *day_at("E1", "2025-02-04"),
    ]
    import_badges(runtime, tmp_path, taps)
    hq = offices(runtime)["HQ"]
    assert (hq["seats"], hq["days"]) == (2, 5)
    assert hq["avg_daily_occupancy"] == pytest.approx(4 / 5)  # 3, 1, 0, 0, 0
    assert (hq["peak_daily_occupancy"], hq["peak_date"]) == (3, MONDAY)
    assert hq["avg_utilisation"] == pytest.approx(0.4)
    assert hq["peak_utilisation"] == pytest.approx(1.5)
    assert hq["over_capacity_days"] == 1


def test_weekends_and_holidays_leave_the_average_but_can_hold_the_peak(
    runtime: Runtime, tmp_path: Path
) -> None:
    taps = [
        *day_at("E1", "2025-02-13"),
        *[t for e in ("E1", "E2", "E3", "E4") for t in day_at(e, "2025-02-15")],  # Saturday
        *day_at("E2", "2025-02-17"),  # Washington's Birthday
    ]
    import_badges(runtime, tmp_path, taps)
    hq = offices(runtime, date(2025, 2, 10), date(2025, 2, 21))["HQ"]
    assert hq["days"] == 9  # ten weekdays less the holiday
    assert hq["avg_daily_occupancy"] == pytest.approx(1 / 9)
    assert (hq["peak_daily_occupancy"], hq["peak_date"]) == (4, date(2025, 2, 15))
    assert hq["over_capacity_days"] == 1


def test_an_office_without_seats_has_no_utilisation_and_an_empty_one_no_peak_day(
    runtime: Runtime, tmp_path: Path
) -> None:
    import_badges(runtime, tmp_path, day_at("E1", "2025-02-03", "SPARE"))
    found = offices(runtime)
    assert found["SPARE"]["peak_daily_occupancy"] == 1
    assert found["SPARE"]["avg_utilisation"] is None
    assert found["SPARE"]["over_capacity_days"] == 1  # anyone at all is over 0 seats
    assert found["FIELD-1"]["peak_date"] is None
    assert found["FIELD-1"]["avg_daily_occupancy"] == 0.0


def test_an_org_unit_sees_the_offices_it_owns_with_everyone_who_came(
    runtime: Runtime, tmp_path: Path
) -> None:
    # E1 belongs to COMP-A but works a day at COMP-B's office: seats are physical.
    import_badges(runtime, tmp_path, day_at("E1", "2025-02-03", "FIELD-1"))
    assert list(offices(runtime, org_unit="COMP-B")) == ["FIELD-1"]
    assert offices(runtime, org_unit="COMP-B")["FIELD-1"]["peak_daily_occupancy"] == 1
    assert list(offices(runtime, org_unit="COMP-A")) == ["HQ"]


def test_an_employee_at_two_offices_in_a_day_counts_at_both(
    runtime: Runtime, tmp_path: Path
) -> None:
    taps = [tap("E1", "2025-02-03T09:00:00", "IN"), tap("E1", "2025-02-03T14:00:00", "IN", "SPARE")]
    import_badges(runtime, tmp_path, taps)
    found = offices(runtime)
    assert found["HQ"]["peak_daily_occupancy"] == found["SPARE"]["peak_daily_occupancy"] == 1
