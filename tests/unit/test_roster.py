"""Roster row validation and the effective-dated history merge, with plain values."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dutystation.domain.roster import (
    BadgeSpan,
    BlastRadius,
    EmployeeState,
    RosterState,
    Version,
    apply_change,
    apply_roster,
    blast_radius,
)
from dutystation.domain.roster_rows import (
    AssignmentValues,
    HomeLocation,
    RosterRow,
    badge_conflicts,
    unknown_supervisors,
    validate_roster_row,
)
from dutystation.domain.values import Rejection
from dutystation.domain.vocabulary import Arrangement, ScheduleKind

JAN = date(2025, 1, 6)
FEB = date(2025, 2, 3)
MAR = date(2025, 3, 3)


def raw(**fields: Any) -> dict[str, str | None]:
    row: dict[str, str | None] = {
        "employee_id": "E1",
        "name": "Ann Example",
        "org_unit": "COMP-A",
        "duty_station": "HQ",
        "arrangement": "telework",
        "effective_date": "2025-01-06",
    }
    row.update(fields)
    return row


def values(org: str = "COMP-A", arrangement: Arrangement = Arrangement.ONSITE) -> AssignmentValues:
    return AssignmentValues(
        org, "HQ", arrangement, ScheduleKind.FIVE_EIGHT, None, None, None, None, None
    )


def row(employee: str, day: date, org: str = "COMP-A", **kw: Any) -> RosterRow:
    return RosterRow(employee, f"Name {employee}", None, day, values(org), kw.get("badge"), None)


def state(*employees: tuple[str, list[Version]]) -> RosterState:
    stored = {e: (f"Name {e}", None, True, None) for e, _ in employees}
    return RosterState(
        {
            e: EmployeeState(e, f"Name {e}", None, versions, key=i, stored=stored[e])
            for i, (e, versions) in enumerate(employees)
        },
        {},
        {},
    )


def spans(versions: list[Version]) -> list[tuple[date, date | None, str]]:
    return [(v.start, v.end, v.values.org_unit) for v in versions]


def test_a_complete_row_becomes_a_roster_row_with_defaults() -> None:
    result = validate_roster_row(raw(telework_eligible="Yes", home_zip="04619-1234"))
    assert isinstance(result, RosterRow)
    assert result.values.schedule is ScheduleKind.FIVE_EIGHT
    assert result.values.telework_eligible is True
    assert result.home == HomeLocation("04619", None, None)


@pytest.mark.parametrize(
    ("fields", "reason", "column"),
    [
        ({"arrangement": "hybrid"}, "invalid_arrangement", "arrangement"),
        ({"arrangement": None}, "missing_value", "arrangement"),
        ({"schedule": "9x80"}, "invalid_schedule", "schedule"),
        ({"effective_date": "03/04/2026"}, "invalid_date", "effective_date"),
        ({"effective_date": "2026-02-29"}, "invalid_date", "effective_date"),
        ({"effective_date": "20260101"}, "invalid_date", "effective_date"),
        ({"effective_date": "9999-12-31"}, "invalid_date", "effective_date"),
        ({"effective_date": None}, "missing_value", "effective_date"),
        ({"telework_eligible": "maybe"}, "invalid_boolean", "telework_eligible"),
        ({"supervisor_id": "E1"}, "self_supervision", "supervisor_id"),
        ({"duty_station": None}, "duty_station_required", "duty_station"),
        ({"employee_id": "E\u041e1"}, "invalid_id", "employee_id"),
        ({"org_unit": "COMP A"}, "invalid_id", "org_unit"),
        ({"name": "x" * 201}, "too_long", "name"),
        ({"email": "a\x00@b"}, "nul_byte", "email"),
        ({"home_zip": "ABCDE"}, "invalid_zip", "home_zip"),
        ({"home_latitude": "91"}, "invalid_latitude", "home_latitude"),
        ({"home_latitude": "40.1"}, "incomplete_coordinates", "home_longitude"),
    ],
)
def test_invalid_roster_values_reject_the_row_naming_the_column(
    fields: dict[str, str | None], reason: str, column: str
) -> None:
    assert validate_roster_row(raw(**fields)) == Rejection(reason, column)


def test_remote_and_field_staff_may_have_no_duty_station() -> None:
    for arrangement in ("remote", "field"):
        result = validate_roster_row(raw(arrangement=arrangement, duty_station=None))
        assert isinstance(result, RosterRow)


def test_a_profile_date_format_is_honoured() -> None:
    result = validate_roster_row(raw(effective_date="01/06/2025"), date_format="%m/%d/%Y")
    assert isinstance(result, RosterRow) and result.effective_date == JAN


def test_a_home_location_never_shows_in_a_repr() -> None:
    result = validate_roster_row(
        raw(home_zip="04619", home_latitude="44.5", home_longitude="-67.1")
    )
    assert isinstance(result, RosterRow)
    assert "04619" not in repr(result) and "44.5" not in repr(result.home)


def test_a_later_change_closes_the_previous_version_on_its_day() -> None:
    history = [Version(JAN, None, values("COMP-A"), key=1)]
    assert apply_change(history, FEB, values("COMP-B"))
    assert spans(history) == [(JAN, FEB, "COMP-A"), (FEB, None, "COMP-B")]
    assert history[0].dirty and history[1].key is None


def test_the_same_values_again_change_nothing() -> None:
    history = [Version(JAN, None, values("COMP-A"), key=1)]
    assert not apply_change(history, FEB, values("COMP-A"))
    assert spans(history) == [(JAN, None, "COMP-A")] and not history[0].dirty


def test_a_change_on_the_day_a_version_starts_replaces_its_values() -> None:
    history = [Version(JAN, None, values("COMP-A"), key=1)]
    assert apply_change(history, JAN, values("COMP-B"))
    assert spans(history) == [(JAN, None, "COMP-B")]


def test_a_back_dated_change_keeps_the_versions_that_start_later() -> None:
    history = [Version(JAN, MAR, values("COMP-A"), key=1), Version(MAR, None, values("DIV"), key=2)]
    assert apply_change(history, FEB, values("COMP-B"))
    assert spans(history) == [(JAN, FEB, "COMP-A"), (FEB, MAR, "COMP-B"), (MAR, None, "DIV")]


def test_a_row_before_all_history_runs_until_the_first_version() -> None:
    history = [Version(FEB, None, values("COMP-A"), key=1)]
    apply_change(history, JAN, values("COMP-B"))
    assert spans(history) == [(JAN, FEB, "COMP-B"), (FEB, None, "COMP-A")]


def test_a_snapshot_separates_absent_employees_on_its_day() -> None:
    s = state(
        ("E1", [Version(JAN, None, values(), key=1)]), ("E2", [Version(JAN, None, values(), key=2)])
    )
    outcome = apply_roster(s, [row("E1", FEB)], snapshot_day=FEB)
    assert outcome.separated == 1
    e2 = s.employees["E2"]
    assert spans(e2.versions) == [(JAN, FEB, "COMP-A")]
    assert not e2.active and e2.separated_on == FEB
    assert s.employees["E1"].active


def test_a_snapshot_does_not_separate_employees_whose_rows_were_rejected() -> None:
    s = state(
        ("E1", [Version(JAN, None, values(), key=1)]), ("E2", [Version(JAN, None, values(), key=2)])
    )
    outcome = apply_roster(s, [row("E1", FEB)], snapshot_day=FEB, protected={"E2"})
    assert outcome.separated == 0 and s.employees["E2"].active


def test_a_rehire_reopens_history_after_a_separation() -> None:
    s = state(("E1", [Version(JAN, FEB, values(), key=1)]))
    apply_roster(s, [row("E1", MAR, "COMP-B")])
    assert spans(s.employees["E1"].versions) == [(JAN, FEB, "COMP-A"), (MAR, None, "COMP-B")]
    assert s.employees["E1"].active


def test_a_reissued_badge_ends_the_previous_holders_span() -> None:
    s = state(("E1", [Version(JAN, None, values(), key=1)]))
    s = RosterState(s.employees, {"B-7": [BadgeSpan("E1", JAN, None, key=9)]}, {})
    apply_roster(s, [row("E2", FEB, badge="B-7")])
    held = [(b.employee_id, b.start, b.end) for b in s.badges["B-7"]]
    assert held == [("E1", JAN, FEB), ("E2", FEB, None)]


def test_a_new_badge_number_ends_the_employees_old_badge() -> None:
    s = state(("E1", [Version(JAN, None, values(), key=1)]))
    s = RosterState(s.employees, {"B-1": [BadgeSpan("E1", JAN, None, key=9)]}, {})
    apply_roster(s, [row("E1", FEB, badge="B-2")])
    assert (s.badges["B-1"][0].end, s.badges["B-2"][0].start) == (FEB, FEB)


def test_one_badge_given_to_two_people_on_one_day_rejects_both_rows() -> None:
    rows = [row("E1", JAN, badge="B"), row("E2", JAN, badge="B"), row("E3", JAN, badge="C")]
    assert badge_conflicts(rows) == [0, 1]


def test_rows_whose_supervisor_was_rejected_are_rejected_in_turn() -> None:
    def supervised(employee: str, boss: str | None) -> RosterRow:
        r = row(employee, JAN)
        return replace(r, values=replace(r.values, supervisor_id=boss))

    rows = [
        supervised("A", None),
        supervised("B", "A"),
        supervised("C", "B"),
        supervised("D", "STORED"),
        supervised("E", "NOBODY"),
    ]
    assert unknown_supervisors(rows, {"STORED"}) == {4}
    # Without A's own row, B's supervisor is unknown, which makes C's unknown too.
    assert unknown_supervisors(rows[1:3], set()) == {0, 1}


def test_blast_radius_counts_separations_and_org_moves_against_active_staff() -> None:
    s = state(*[(f"E{i}", [Version(JAN, None, values("COMP-A"), key=i)]) for i in range(10)])
    rows = [row(f"E{i}", FEB, "COMP-B" if i < 2 else "COMP-A") for i in range(9)]
    radius = blast_radius(s, rows, FEB, protected=set())
    assert radius == BlastRadius(FEB, 10, 1, 2)
    assert not radius.exceeds()  # exactly 10 % and 20 % are still allowed
    assert BlastRadius(FEB, 100, 11, 0).exceeds() and BlastRadius(FEB, 100, 0, 21).exceeds()
    assert not BlastRadius(FEB, 0, 0, 0).exceeds()


CHANGES = st.lists(
    st.tuples(st.integers(0, 60), st.sampled_from(["A", "B", "C"])), min_size=1, max_size=12
)


@given(CHANGES, st.randoms())
def test_history_stays_sorted_gap_free_and_reapplying_changes_nothing(
    changes: list[tuple[int, str]], rng: Any
) -> None:
    # One import: one row per day (duplicates resolved earlier), applied in date order.
    rows = sorted({JAN + timedelta(days=o): org for o, org in changes}.items())
    history: list[Version] = []
    for day, org in rows:
        apply_change(history, day, values(org))
    starts = [v.start for v in history]
    assert starts == sorted(set(starts))
    assert all(a.end == b.start for a, b in pairwise(history))
    assert history[-1].end is None
    for day, org in rows:  # every row's values hold from its day on
        assert next(v for v in history if v.covers(day)).values.org_unit == org
    rng.shuffle(rows)
    for day, org in rows:  # a re-import, in any order, is a no-op
        assert not apply_change(history, day, values(org))
