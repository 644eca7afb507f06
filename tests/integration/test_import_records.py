"""Importing org units and offices, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from test_import_records_builders import (
    OFFICES,
    UNITS,
    load_organisation,
    offices_csv,
    org_units_csv,
    row_counts,
    settings_for,
)

from dutystation.errors import ImportRejected, InputFileError
from dutystation.services.import_records import import_offices, import_org_units
from dutystation.store import org_subtree
from dutystation.store.schema import Office, OrgUnit, office_job_function, office_org_unit


def test_an_org_tree_of_any_depth_loads_even_when_children_come_first(
    engine: Engine, tmp_path: Path
) -> None:
    summary = import_org_units(
        engine, [org_units_csv(tmp_path, list(reversed(UNITS)))], settings=settings_for(tmp_path)
    )
    assert (summary.rows_read, summary.rows_stored, summary.stored) == (6, 6, True)
    with Session(engine) as session:
        assert org_subtree(session, "COMP-A") == ["COMP-A", "DIV-A1", "BR-A1X", "TEAM-A1X1"]


def test_reimporting_org_units_and_offices_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    load_organisation(engine, tmp_path)
    before = row_counts(engine)
    settings = settings_for(tmp_path)
    units = import_org_units(engine, [org_units_csv(tmp_path)], settings=settings)
    offices = import_offices(engine, [offices_csv(tmp_path)], settings=settings)
    assert (units.rows_stored, units.duplicates) == (0, 6)
    assert (offices.rows_stored, offices.duplicates) == (0, 3)
    after = row_counts(engine)
    assert after.pop("import_batch") == before.pop("import_batch") + 2
    assert after.pop("audit_record") == before.pop("audit_record") + 2  # one per batch
    assert after == before


def test_a_renamed_and_moved_unit_is_updated_in_place(engine: Engine, tmp_path: Path) -> None:
    load_organisation(engine, tmp_path)
    moved = [("BR-A1X", "Branch A1X (moved)", "COMP-B", "other")]
    summary = import_org_units(
        engine, [org_units_csv(tmp_path, moved, "move.csv")], settings=settings_for(tmp_path)
    )
    assert summary.rows_stored == 1
    with Session(engine) as session:
        assert org_subtree(session, "COMP-B") == ["COMP-B", "BR-A1X", "TEAM-A1X1"]
        assert session.scalar(select(OrgUnit.name).where(OrgUnit.code == "BR-A1X")) == (
            "Branch A1X (moved)"
        )


def test_a_loop_in_the_org_tree_refuses_the_whole_file(engine: Engine, tmp_path: Path) -> None:
    loop = [("LOOP-1", "Loop 1", "LOOP-2", "other"), ("LOOP-2", "Loop 2", "LOOP-1", "other")]
    units = [*UNITS, *loop]
    path = org_units_csv(tmp_path, units)
    with pytest.raises(InputFileError, match="loops back") as err:
        import_org_units(engine, [path], settings=settings_for(tmp_path))
    assert err.value.where.column == "parent" and err.value.where.line in (8, 9)
    assert row_counts(engine)["org_unit"] == 0


def test_a_loop_through_stored_units_is_caught_too(engine: Engine, tmp_path: Path) -> None:
    load_organisation(engine, tmp_path)
    # DEPT under TEAM-A1X1 closes a loop DEPT > ... > TEAM-A1X1 > DEPT.
    path = org_units_csv(tmp_path, [("DEPT", "Department", "TEAM-A1X1", "department")], "x.csv")
    with pytest.raises(InputFileError, match="loops back"):
        import_org_units(engine, [path], settings=settings_for(tmp_path))


def test_a_unit_under_an_unknown_parent_is_rejected_and_so_are_its_children(
    engine: Engine, tmp_path: Path
) -> None:
    lost = [("ORPHAN", "Orphan", "GHOST", "other"), ("CHILD", "Child", "ORPHAN", "other")]
    units = [*UNITS, *lost]
    settings = settings_for(tmp_path)
    with pytest.raises(ImportRejected) as err:
        import_org_units(engine, [org_units_csv(tmp_path, units)], settings=settings)
    assert "unknown_org_unit x2" in str(err.value) and "column 'parent'" in str(err.value)
    assert row_counts(engine)["org_unit"] == 0
    summary = import_org_units(
        engine, [org_units_csv(tmp_path, units)], accept_partial=True, settings=settings
    )
    assert (summary.rows_stored, summary.rows_rejected) == (6, 2)
    assert summary.rejections[0].first_line == 8


def test_conflicting_duplicate_units_are_all_rejected(engine: Engine, tmp_path: Path) -> None:
    units = [*UNITS, ("COMP-B", "Component B, renamed", "DEPT", "component")]
    summary = import_org_units(
        engine,
        [org_units_csv(tmp_path, units)],
        accept_partial=True,
        settings=settings_for(tmp_path),
    )
    assert [(r.reason, r.count, r.first_line) for r in summary.rejections] == [
        ("conflicting_duplicate", 2, 4)
    ]
    assert summary.rows_stored == 5


def test_offices_load_with_owners_and_job_functions(engine: Engine, tmp_path: Path) -> None:
    load_organisation(engine, tmp_path)
    with engine.connect() as conn:
        hq = conn.execute(select(Office).where(Office.site_id == "HQ")).one()
        owners = (
            conn.execute(
                select(OrgUnit.code)
                .join(office_org_unit, office_org_unit.c.org_unit_id == OrgUnit.id)
                .where(office_org_unit.c.office_id == hq.id)
                .order_by(OrgUnit.code)
            )
            .scalars()
            .all()
        )
        job = office_job_function.c
        jobs = conn.execute(select(job.job_function).where(job.office_id == hq.id)).scalars().all()
    assert (hq.timezone, hq.seats, hq.zip, hq.latitude) == ("America/New_York", 300, "20001", 38.9)
    assert owners == ["COMP-A", "DEPT"] and sorted(jobs) == ["analysis", "legal"]


def test_changing_an_offices_owners_replaces_them(engine: Engine, tmp_path: Path) -> None:
    load_organisation(engine, tmp_path)
    changed = [(*OFFICES[0][:8], "COMP-B", "legal")]
    summary = import_offices(
        engine, [offices_csv(tmp_path, changed, "o2.csv")], settings=settings_for(tmp_path)
    )
    assert summary.rows_stored == 1
    with engine.connect() as conn:
        assert conn.execute(select(office_org_unit)).all().__len__() == 3  # HQ 1, FIELD 1, SPARE 1
        assert sorted(conn.execute(select(office_job_function.c.job_function)).scalars()) == [
            "inspection",
            "legal",
        ]


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("timezone", "Eastern", "invalid_timezone"),
        ("latitude", "123.4", "invalid_latitude"),
        ("seats", "-3", "invalid_seats"),
        ("seats", "2.5", "invalid_seats"),
        ("org_unit", "DEPT;GHOST", "unknown_org_unit"),
        ("site_id", "HQ\u0415", "invalid_id"),
    ],
)
def test_each_bad_office_value_rejects_the_row_and_stores_nothing(
    engine: Engine, tmp_path: Path, column: str, value: str, reason: str
) -> None:
    settings = settings_for(tmp_path)
    import_org_units(engine, [org_units_csv(tmp_path)], settings=settings)
    index = [
        "site_id",
        "name",
        "address",
        "zip",
        "latitude",
        "longitude",
        "timezone",
        "seats",
        "org_unit",
        "job_functions",
    ].index(column)
    bad = list(OFFICES[1])
    bad[index] = value
    path = offices_csv(tmp_path, [OFFICES[0], tuple(bad)])
    with pytest.raises(ImportRejected) as err:
        import_offices(engine, [path], settings=settings)
    message = str(err.value)
    assert f"{reason} x1" in message and f"line 3, column {column!r}" in message
    assert row_counts(engine)["office"] == 0
    quarantine = err.value.quarantine_file
    assert quarantine is not None and quarantine.parent == settings.quarantine_dir
    with quarantine.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert rows == [
        {
            "file": str(path),
            "line": "3",
            "column": column,
            "reason": reason,
            "message": rows[0]["message"],
        }
    ]
    # The file path may contain anything (pytest names tmp dirs after the test); the other
    # cells must not carry the rejected value.
    assert all(value not in cell for row in rows for k, cell in row.items() if k != "file")


def test_a_partial_office_import_stores_the_good_rows_and_lists_the_rest(
    engine: Engine, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path)
    import_org_units(engine, [org_units_csv(tmp_path)], settings=settings)
    bad = (*OFFICES[1][:6], "Nowhere/City", *OFFICES[1][7:])
    summary = import_offices(
        engine, [offices_csv(tmp_path, [OFFICES[0], bad])], accept_partial=True, settings=settings
    )
    assert (summary.rows_read, summary.rows_stored, summary.rows_rejected) == (2, 1, 1)
    assert summary.quarantine_file is not None and summary.quarantine_file.exists()
    assert summary.quarantine_file.name == f"{summary.batch_id}-offices.csv"
    assert row_counts(engine)["office"] == 1


def test_a_file_missing_a_required_column_is_refused_before_any_row(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "units.csv"
    path.write_text("org_unit,parent\nDEPT,\n")
    with pytest.raises(InputFileError, match="name"):
        import_org_units(engine, [path], settings=settings_for(tmp_path))
