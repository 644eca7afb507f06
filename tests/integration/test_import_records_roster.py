"""Importing the roster into the effective-dated history, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from test_import_records_builders import (
    load_organisation,
    person,
    roster_csv,
    row_counts,
    settings_for,
)

import dutystation.store.roster_writes as roster_writes
from dutystation.errors import ImportHeld, ImportRejected, InputFileError
from dutystation.services.import_records import import_roster
from dutystation.store import assignment_as_of, assignment_history, reference_data
from dutystation.store.schema import Employee, EmployeeHome

JAN, FEB, MAR = "2025-01-06", "2025-02-03", "2025-03-03"


@pytest.fixture
def org(engine: Engine, tmp_path: Path) -> Engine:
    """The database with the standard organisation loaded."""
    load_organisation(engine, tmp_path)
    return engine


def roster(
    engine: Engine,
    tmp_path: Path,
    rows: list[dict[str, Any]],
    name: str = "roster.csv",
    **options: Any,
) -> Any:
    return import_roster(
        engine, [roster_csv(tmp_path, rows, name)], settings=settings_for(tmp_path), **options
    )


def team(n: int, **fields: Any) -> list[dict[str, Any]]:
    return [person(f"E{i:03d}", **fields) for i in range(n)]


def employee_state(engine: Engine, employee_id: str) -> tuple[bool, date | None]:
    with engine.connect() as conn:
        query = select(Employee.active, Employee.separated_on)
        found = conn.execute(query.where(Employee.employee_id == employee_id)).one()
    return bool(found[0]), found[1]


def test_a_first_roster_creates_employees_history_and_badges(org: Engine, tmp_path: Path) -> None:
    summary = roster(org, tmp_path, [person("E1", badge_id="B1"), person("E2", supervisor_id="E1")])
    assert (summary.rows_read, summary.rows_stored, summary.duplicates) == (2, 2, 0)
    assert summary.stored and summary.rejections == [] and summary.quarantine_file is None
    assert "2 new employees" in summary.notes
    counts = row_counts(org)
    assert (counts["employee"], counts["employee_assignment"], counts["badge_assignment"]) == (
        2,
        2,
        1,
    )


def test_reimporting_the_same_roster_adds_no_history(org: Engine, tmp_path: Path) -> None:
    rows = [*team(5), person("E900", effective_date=FEB, org_unit="COMP-B", duty_station="FIELD-1")]
    roster(org, tmp_path, rows)
    before = row_counts(org)
    for _ in range(2):
        again = roster(org, tmp_path, list(reversed(rows)), "again.csv")
        assert (again.rows_stored, again.duplicates) == (0, 6)
    after = row_counts(org)
    assert after.pop("import_batch") == before.pop("import_batch") + 2
    assert after.pop("audit_record") == before.pop("audit_record") + 2  # one per batch
    assert after == before


def test_a_snapshot_adds_a_version_only_for_employees_whose_values_changed(
    org: Engine, tmp_path: Path
) -> None:
    roster(org, tmp_path, team(4))
    changed = team(4, effective_date=FEB)
    changed[1]["arrangement"] = "onsite"
    summary = roster(org, tmp_path, changed, "feb.csv", snapshot=True)
    assert (summary.rows_stored, summary.duplicates) == (1, 3)
    assert row_counts(org)["employee_assignment"] == 5
    with Session(org) as session:
        history = assignment_history(session, "E001")
        untouched = assignment_history(session, "E000")
    assert [(h.effective_from, h.effective_to) for h in history] == [
        (date(2025, 1, 6), date(2025, 2, 3)),
        (date(2025, 2, 3), None),
    ]
    assert len(untouched) == 1


def test_a_back_dated_snapshot_keeps_versions_that_start_after_it(
    org: Engine, tmp_path: Path
) -> None:
    roster(org, tmp_path, [person("E1"), person("E1", effective_date=MAR, org_unit="DIV-A1")])
    roster(
        org,
        tmp_path,
        [person("E1", effective_date=FEB, org_unit="COMP-B")],
        "feb.csv",
        snapshot=True,
        confirm=True,
    )  # one employee moved is 100 %: confirmation needed
    with Session(org) as session:
        history = assignment_history(session, "E1")
    assert [(h.effective_from.isoformat(), h.values.org_unit) for h in history] == [
        (JAN, "COMP-A"),
        (FEB, "COMP-B"),
        (MAR, "DIV-A1"),
    ]
    assert history[1].effective_to == date(2025, 3, 3)


def test_a_snapshot_separates_employees_missing_from_it(org: Engine, tmp_path: Path) -> None:
    roster(org, tmp_path, [*team(10), person("LEAVER", badge_id="B-L")])
    summary = roster(org, tmp_path, team(10, effective_date=FEB), "feb.csv", snapshot=True)
    assert any("1 employees separated as of 2025-02-03" in n for n in summary.notes)
    assert employee_state(org, "LEAVER") == (False, date(2025, 2, 3))
    assert employee_state(org, "E000") == (True, None)
    with Session(org) as session:
        assert assignment_as_of(session, "LEAVER", date(2025, 2, 2)) is not None
        assert assignment_as_of(session, "LEAVER", date(2025, 2, 3)) is None
        badge = reference_data(session).badges.to_pylist()[0]
    assert badge["valid_to"] == date(2025, 2, 3)


def test_a_snapshot_missing_too_many_employees_is_held_until_confirmed(
    org: Engine, tmp_path: Path
) -> None:
    roster(org, tmp_path, team(10))
    before = row_counts(org)
    truncated = team(10, effective_date=FEB)[:7]  # 30 % missing
    with pytest.raises(ImportHeld, match=r"separate 3 of 10 active employees \(30%\)"):
        roster(org, tmp_path, truncated, "feb.csv", snapshot=True)
    assert row_counts(org) == before
    roster(org, tmp_path, truncated, "feb.csv", snapshot=True, confirm=True)
    assert employee_state(org, "E009") == (False, date(2025, 2, 3))


def test_a_snapshot_moving_too_many_employees_between_org_units_is_held(
    org: Engine, tmp_path: Path
) -> None:
    roster(org, tmp_path, team(10))
    moved = team(10, effective_date=FEB)
    for row in moved[:4]:  # 40 % change org unit
        row["org_unit"] = "COMP-B"
    with pytest.raises(ImportHeld, match=r"move 4 \(40%\)"):
        roster(org, tmp_path, moved, "feb.csv", snapshot=True)
    for row in moved[:2]:  # 20 % is within the default threshold
        row["org_unit"] = "COMP-A"
    assert roster(org, tmp_path, moved, "feb2.csv", snapshot=True).rows_stored == 2


def test_an_empty_roster_snapshot_is_refused(org: Engine, tmp_path: Path) -> None:
    roster(org, tmp_path, team(3))
    with pytest.raises(InputFileError, match="no rows"):
        roster(org, tmp_path, [], "empty.csv", snapshot=True)
    assert employee_state(org, "E000") == (True, None)
    assert roster(org, tmp_path, [], "empty.csv").rows_read == 0  # not a snapshot: a no-op


def test_a_snapshot_with_two_effective_dates_is_refused(org: Engine, tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="one effective_date") as err:
        roster(org, tmp_path, [person("E1"), person("E2", effective_date=FEB)], snapshot=True)
    assert (err.value.where.line, err.value.where.column) == (3, "effective_date")


@pytest.mark.parametrize(
    ("fields", "reason", "column"),
    [
        ({"org_unit": "GHOST"}, "unknown_org_unit", "org_unit"),
        ({"duty_station": "NOWHERE"}, "unknown_office", "duty_station"),
        ({"supervisor_id": "NOBODY"}, "unknown_supervisor", "supervisor_id"),
        ({"arrangement": "hybrid"}, "invalid_arrangement", "arrangement"),
        ({"schedule": "9/80"}, "invalid_schedule", "schedule"),
        ({"effective_date": "2025-02-30"}, "invalid_date", "effective_date"),
        ({"telework_eligible": "sometimes"}, "invalid_boolean", "telework_eligible"),
        ({"employee_id": "E\u04212"}, "invalid_id", "employee_id"),
        ({"employee_id": "1.23457E+11"}, "excel_mangled_id", "employee_id"),
        ({"name": "Smith\x00"}, "nul_byte", "name"),
        ({"home_latitude": "95", "home_longitude": "1"}, "invalid_latitude", "home_latitude"),
    ],
)
def test_each_kind_of_bad_roster_row_is_rejected_and_nothing_is_stored(
    org: Engine, tmp_path: Path, fields: dict[str, str], reason: str, column: str
) -> None:
    before = row_counts(org)
    with pytest.raises(ImportRejected) as err:
        roster(org, tmp_path, [person("E1"), {**person("E2"), **fields}, person("E3")])
    message = str(err.value)
    assert message.startswith("roster import stored nothing: 1 of 3 rows rejected")
    assert f"{reason} x1" in message and f"line 3, column {column!r}" in message
    assert row_counts(org) == before
    quarantine = err.value.quarantine_file
    assert quarantine is not None and quarantine.name.endswith("-roster.csv")
    header = quarantine.read_text(encoding="utf-8-sig").splitlines()[0]
    assert header == "file,line,column,reason,message"
    assert quarantine.stat().st_mode & 0o077 == 0  # personal-data folder: owner only


def test_a_supervisor_loop_refuses_the_whole_file(org: Engine, tmp_path: Path) -> None:
    rows = [
        person("A", supervisor_id="B"),
        person("B", supervisor_id="C"),
        person("C", supervisor_id="A"),
        person("D"),
    ]
    with pytest.raises(InputFileError, match=r"supervisor chain loops.*lines 2, 3, 4"):
        roster(org, tmp_path, rows)
    assert row_counts(org)["employee"] == 0


def test_a_supervisor_loop_through_stored_employees_is_refused(org: Engine, tmp_path: Path) -> None:
    roster(org, tmp_path, [person("A"), person("B", supervisor_id="A")])
    with pytest.raises(InputFileError, match="supervisor chain loops"):
        roster(org, tmp_path, [person("A", supervisor_id="B", effective_date=FEB)], "x.csv")


def test_the_same_employee_and_day_twice_with_different_data_rejects_both(
    org: Engine, tmp_path: Path
) -> None:
    rows = [
        person("E1"),
        person("E1", org_unit="COMP-B", duty_station="FIELD-1"),
        person("E2"),
        person("E3"),
        person("E3"),
    ]
    summary = roster(org, tmp_path, rows, accept_partial=True)
    [rejection] = summary.rejections
    assert (rejection.reason, rejection.count, rejection.first_line) == (
        "conflicting_duplicate",
        2,
        2,
    )
    assert (summary.rows_stored, summary.duplicates) == (2, 1)  # E3's identical copy collapsed
    assert row_counts(org)["employee"] == 2


def test_a_partial_snapshot_never_separates_employees_whose_rows_were_rejected(
    org: Engine, tmp_path: Path
) -> None:
    roster(org, tmp_path, team(10))
    feb = team(10, effective_date=FEB)
    feb[3]["arrangement"] = "sometimes"  # rejected while parsing
    feb[5]["org_unit"] = "GHOST"  # rejected against the stored org units
    summary = roster(org, tmp_path, feb, "feb.csv", snapshot=True, accept_partial=True)
    assert summary.rows_rejected == 2 and summary.quarantine_file is not None
    assert employee_state(org, "E003") == (True, None)
    assert employee_state(org, "E005") == (True, None)


def test_one_bad_row_stores_nothing_in_any_table(org: Engine, tmp_path: Path) -> None:
    before = row_counts(org)
    rows = [*team(50, badge_id=None, home_zip="20500"), person("BAD", org_unit="GHOST")]
    with pytest.raises(ImportRejected):
        roster(org, tmp_path, rows)
    assert row_counts(org) == before


def test_a_failure_in_the_middle_of_writing_stores_nothing(
    org: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = row_counts(org)

    def crash(*_args: Any) -> None:  # employees, history and badges are written by now
        raise RuntimeError("disk full")

    monkeypatch.setattr(roster_writes, "_save_homes", crash)
    with pytest.raises(RuntimeError):
        roster(org, tmp_path, team(20, home_zip="20500", badge_id=None))
    assert row_counts(org) == before


def test_home_locations_never_reach_messages_summaries_or_quarantine(
    org: Engine, tmp_path: Path
) -> None:
    canary = {"home_zip": "04619", "home_latitude": "44.90731", "home_longitude": "-66.98711"}
    rows = [person("E1", **canary), person("E2", org_unit="GHOST", **canary)]
    with pytest.raises(ImportRejected) as err:
        roster(org, tmp_path, rows)
    quarantine = err.value.quarantine_file
    assert quarantine is not None
    summary = roster(org, tmp_path, rows, "partial.csv", accept_partial=True)
    bad = [person("E3", home_zip="0461X"), person("E4", home_latitude="44.90731")]
    bad_summary = roster(org, tmp_path, bad, "bad.csv", accept_partial=True)
    texts = [str(err.value), repr(summary), repr(bad_summary), quarantine.read_text("utf-8-sig")]
    texts += [
        s.quarantine_file.read_text("utf-8-sig")
        for s in (summary, bad_summary)
        if s.quarantine_file
    ]
    for value in (*canary.values(), "0461X"):
        assert all(value not in t for t in texts), value
    with org.connect() as conn:
        stored = conn.execute(select(EmployeeHome.zip, EmployeeHome.latitude)).one()
    assert stored == ("04619", 44.90731)


def test_a_new_home_zip_starts_a_new_home_version(org: Engine, tmp_path: Path) -> None:
    roster(org, tmp_path, [person("E1", home_zip="20500")])
    roster(org, tmp_path, [person("E1", home_zip="20500", effective_date=FEB)], "same.csv")
    roster(org, tmp_path, [person("E1", home_zip="22030", effective_date=MAR)], "moved.csv")
    with org.connect() as conn:
        home = EmployeeHome
        homes = conn.execute(
            select(home.effective_from, home.zip).order_by(home.effective_from)
        ).all()
    assert [tuple(h) for h in homes] == [(date(2025, 1, 6), "20500"), (date(2025, 3, 3), "22030")]


def test_a_separated_employee_who_returns_is_active_again(org: Engine, tmp_path: Path) -> None:
    roster(org, tmp_path, team(10))
    roster(org, tmp_path, team(10, effective_date=FEB)[:9], "feb.csv", snapshot=True)
    assert employee_state(org, "E009") == (False, date(2025, 2, 3))
    roster(org, tmp_path, [person("E009", effective_date=MAR)], "back.csv")
    assert employee_state(org, "E009") == (True, None)


def test_two_imports_of_one_file_at_once_store_it_once(org: Engine, tmp_path: Path) -> None:
    path = roster_csv(tmp_path, team(200, home_zip="20500"))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            import_roster(org, [path], settings=settings_for(tmp_path))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    counts = row_counts(org)
    assert (counts["employee"], counts["employee_assignment"], counts["employee_home"]) == (
        200,
        200,
        200,
    )
    assert counts["import_batch"] == 2 + 2  # org units + offices, then both roster runs
