"""The generator's own promises: the same seed gives the same files, sizes stay within
bounds, and the vectorised helpers agree with the slow obvious way."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from dutystation.errors import DutystationError
from dutystation.synthetic import MAX_EMPLOYEES, MIN_EMPLOYEES, generate_demo
from dutystation.synthetic.generate import check_arguments
from dutystation.synthetic.offices import office_count
from dutystation.synthetic.people import allocate
from dutystation.synthetic.profiles import example_profile_path
from dutystation.synthetic.timeline import FULL_COMPLIANCE, WINDOW_END, WINDOW_START, Timeline
from dutystation.synthetic.writer import utc_strings

DETERMINISTIC = ("org-units", "roster", "timecards", "badges", "agreements")


def test_the_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    a = generate_demo(tmp_path / "a", employees=MIN_EMPLOYEES, seed=7)
    b = generate_demo(tmp_path / "b", employees=MIN_EMPLOYEES, seed=7)
    c = generate_demo(tmp_path / "c", employees=MIN_EMPLOYEES, seed=8)
    for key in DETERMINISTIC:
        assert a.files[key].read_bytes() == b.files[key].read_bytes(), key
    assert a.files["roster"].read_bytes() != c.files["roster"].read_bytes()
    assert a.files["timecards"].read_bytes() != c.files["timecards"].read_bytes()


@pytest.mark.parametrize("employees", [0, MIN_EMPLOYEES - 1, MAX_EMPLOYEES + 1, 300_000])
def test_an_employee_count_out_of_bounds_is_refused_in_one_sentence(
    employees: int, tmp_path: Path
) -> None:
    with pytest.raises(DutystationError, match="between 1,000 and 250,000 employees"):
        generate_demo(tmp_path, employees=employees)
    assert not any(tmp_path.iterdir())


def test_the_bounds_themselves_are_accepted() -> None:
    check_arguments(MIN_EMPLOYEES, 0)
    check_arguments(MAX_EMPLOYEES, 2025)


def test_a_negative_seed_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DutystationError, match="seed"):
        generate_demo(tmp_path, employees=MIN_EMPLOYEES, seed=-1)


def test_office_count_grows_with_the_department_within_50_to_300() -> None:
    assert office_count(MIN_EMPLOYEES) == 50
    assert 50 < office_count(20_000) < 300
    assert office_count(MAX_EMPLOYEES) == 300


def test_allocation_is_whole_proportional_and_respects_the_minimum() -> None:
    counts = allocate(100, [0.5, 0.3, 0.2, 0.0], minimum=2)
    assert counts.sum() == 100 and counts.min() >= 2
    assert list(allocate(10, [1, 1, 1])) in ([4, 3, 3], [3, 4, 3], [3, 3, 4])


def test_utc_strings_match_isoformat() -> None:
    stamps = np.array([0, 1_732_540_931, 1_741_500_000, 1_742_169_599], dtype=np.int64)
    expected = [datetime.fromtimestamp(int(s), UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for s in stamps]
    assert utc_strings(stamps).to_pylist() == expected


def test_the_window_is_eight_weeks_either_side_of_the_directive() -> None:
    timeline = Timeline()
    assert timeline.n_days == 16 * 7
    assert WINDOW_START.isoformat() == "2024-11-25" and WINDOW_END.isoformat() == "2025-03-16"
    assert FULL_COMPLIANCE.isoformat() == "2025-02-21"
    # Pay periods start on Sundays; leave year 2025 began on 2025-01-12.
    assert timeline.pay_period_day[timeline.index(datetime(2025, 1, 12).date())] == 0
    names = {name for name, _ in timeline.closures.values()}
    assert any("Christmas Day" in n for n in names) and any("Washington" in n for n in names)


def test_the_example_profiles_are_found_from_the_checkout() -> None:
    assert example_profile_path("access-control").name == "access-control.toml"
    with pytest.raises(DutystationError, match="not found"):
        example_profile_path("no-such-profile")
