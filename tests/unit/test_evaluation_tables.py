"""The small tables the evaluation joins: calendar, schedule hours, directive bindings."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from dutystation.analytics.bindings import DAY_MARK, bindings_table, boundaries
from dutystation.analytics.calendar_table import calendar_days, schedule_hours
from dutystation.analytics.event_sources import months_between
from dutystation.policy_files import load_directives

POLICIES = Path(__file__).resolve().parents[2] / "policies"
CHAINS = {
    "DEA": ("DEA",),
    "DEA-OIG": ("DEA", "DEA-OIG"),
    "DEA-ECA": ("DEA", "DEA-ECA"),
}


def test_each_day_knows_its_iso_week_and_pay_period() -> None:
    table = calendar_days(date(2025, 1, 11), date(2025, 1, 12)).to_pylist()
    saturday, sunday = table
    assert (saturday["week_label"], saturday["pay_period_label"]) == ("2025-W02", "2024-PP26")
    assert (sunday["week_label"], sunday["pay_period_label"]) == ("2025-W02", "2025-PP01")
    assert sunday["pay_period_start"] == date(2025, 1, 12)


def test_epochs_change_on_the_days_a_directive_starts_or_falls_due() -> None:
    table = calendar_days(date(2025, 1, 18), date(2025, 1, 22), [date(2025, 1, 20)])
    assert [d["epoch"] for d in table.to_pylist()] == [0, 0, 1, 1, 1]


def test_a_holiday_on_a_compressed_schedules_day_off_moves_to_the_day_before() -> None:
    # Independence Day 2025 is a Friday: the 4x10 day off, so Thursday is the holiday.
    rows = schedule_hours(date(2025, 7, 3), date(2025, 7, 4)).to_pylist()
    by = {(r["schedule"], r["day"]): (r["hours_scheduled"], r["hours_holiday"]) for r in rows}
    assert by[("4x10", date(2025, 7, 3))] == (10.0, 10.0)
    assert by[("4x10", date(2025, 7, 4))] == (0.0, 0.0)
    assert by[("5x8", date(2025, 7, 4))] == (8.0, 8.0)
    assert by[("custom", date(2025, 7, 4))] == (8.0, 8.0)  # no stored tour: taken as 5x8


def test_the_inspector_general_is_bound_by_the_government_wide_order_not_the_memo() -> None:
    directives = load_directives(POLICIES)
    rows = bindings_table(directives, CHAINS, date(2025, 1, 13), date(2025, 2, 28)).to_pylist()

    def on(unit: str, day: date) -> dict[str, object]:
        return next(
            r
            for r in rows
            if r["org_unit"] == unit
            and r["arrangement"] == "telework"
            and r["valid_from"] <= day <= r["valid_to"]
        )

    assert on("DEA-ECA", date(2025, 2, 3))["directive_ref"] == "DEA-RTO-2025-01@1"
    assert on("DEA-OIG", date(2025, 2, 3))["directive_ref"] == "US-RTO-2025@1"
    before = on("DEA-ECA", date(2025, 1, 15))
    assert before["kind"] == "not_in_scope"
    assert before["binding_reason"] == f"no directive in force on {DAY_MARK} covers this org unit"


def test_boundaries_are_the_days_directives_start_expire_and_fall_due() -> None:
    assert boundaries(load_directives(POLICIES)) == [
        date(2025, 1, 20),
        date(2025, 1, 24),
        date(2025, 2, 21),
    ]


def test_the_event_months_of_a_range_span_year_ends() -> None:
    assert months_between(date(2024, 12, 30), date(2025, 2, 1)) == [
        "2024-12",
        "2025-01",
        "2025-02",
    ]
