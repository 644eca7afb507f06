"""The operational store on SQLite and PostgreSQL: schema, engines, as-of lookups, org
subtrees and the Arrow tables handed to ingest and analytics."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from test_import_records_builders import (
    load_organisation,
    person,
    roster_csv,
    settings_for,
)

from dutystation.domain.vocabulary import Arrangement
from dutystation.errors import NotFound, StoreError
from dutystation.services.import_records import import_roster
from dutystation.store import (
    ROSTER_SCHEMA,
    assignment_as_of,
    assignment_history,
    delete_office,
    is_current,
    make_engine,
    migrate,
    org_subtree,
    reference_data,
    roster_as_of,
    session_factory,
)
from dutystation.store import db as store_db
from dutystation.store.db import write_transaction
from dutystation.store.schema import Base, Employee


def test_migrations_create_exactly_the_tables_the_models_describe(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_a_fresh_database_is_not_current_until_migrated(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert not is_current(engine)
        migrate(engine)
        assert is_current(engine)
        migrate(engine)  # running it again is harmless
        assert is_current(engine)
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys_enforced(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'db.sqlite3'}")
    migrate(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    engine.dispose()


def test_a_writer_waiting_too_long_for_another_import_is_told_the_database_is_busy(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_db, "WRITER_WAIT_SECONDS", 0.3)
    first, second = make_engine(db_url), make_engine(db_url)
    try:
        migrate(first)
        with write_transaction(first), pytest.raises(StoreError, match="busy"):
            write_transaction(second).__enter__()
        with write_transaction(second):  # free again once the first one ended
            pass
    finally:
        first.dispose()
        second.dispose()


def test_the_database_refuses_an_assignment_pointing_at_no_employee(engine: Engine) -> None:
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO employee_assignment (employee_pk, effective_from, org_unit_id, "
                "arrangement, schedule) VALUES (999, '2025-01-01', 999, 'onsite', '5x8')"
            )
        )


def test_as_of_lookups_before_at_and_after_a_change(engine: Engine, tmp_path: Path) -> None:
    load_organisation(engine, tmp_path)
    rows = [
        person("E1", effective_date="2025-01-06", arrangement="telework"),
        person("E1", effective_date="2025-03-03", arrangement="onsite", org_unit="DIV-A1"),
    ]
    import_roster(engine, [roster_csv(tmp_path, rows)], settings=settings_for(tmp_path))
    with Session(engine) as session:
        assert assignment_as_of(session, "E1", date(2025, 1, 5)) is None
        before = assignment_as_of(session, "E1", date(2025, 3, 2))
        at = assignment_as_of(session, "E1", date(2025, 3, 3))
        after = assignment_as_of(session, "E1", date(2026, 1, 1))
        history = assignment_history(session, "E1")
    assert before is not None and before.values.arrangement is Arrangement.TELEWORK
    assert before.effective_to == date(2025, 3, 3)
    assert at is not None and at.values.arrangement is Arrangement.ONSITE
    assert at.values.org_unit == "DIV-A1"
    assert after == at
    assert [h.effective_from for h in history] == [date(2025, 1, 6), date(2025, 3, 3)]


def test_looking_up_an_unknown_employee_says_so(engine: Engine) -> None:
    with Session(engine) as session, pytest.raises(NotFound):
        assignment_as_of(session, "NOBODY", date(2025, 1, 1))


def test_an_org_subtree_reaches_every_level_of_a_deep_tree(engine: Engine, tmp_path: Path) -> None:
    load_organisation(engine, tmp_path)
    with Session(engine) as session:
        assert org_subtree(session, "DEPT") == [
            "DEPT",
            "COMP-A",
            "COMP-B",
            "DIV-A1",
            "BR-A1X",
            "TEAM-A1X1",
        ]
        assert org_subtree(session, "DIV-A1") == ["DIV-A1", "BR-A1X", "TEAM-A1X1"]
        with pytest.raises(NotFound):
            org_subtree(session, "NOPE")


def test_the_roster_as_of_a_day_carries_each_org_units_ancestor_chain(
    engine: Engine, tmp_path: Path
) -> None:
    load_organisation(engine, tmp_path)
    rows = [
        person("E1", org_unit="TEAM-A1X1", supervisor_id="E2"),
        person("E2", org_unit="COMP-B", duty_station="FIELD-1"),
        person("E3", org_unit="COMP-A", arrangement="remote", duty_station=""),
    ]
    settings = settings_for(tmp_path)
    import_roster(engine, [roster_csv(tmp_path, rows)], settings=settings)
    import_roster(
        engine,
        [roster_csv(tmp_path, rows[:2], "snap.csv")],
        snapshot=True,
        confirm=True,
        settings=settings,
    )  # E3 is separated
    with session_factory(engine)() as session:
        table = roster_as_of(session, date(2025, 2, 1))
        earlier = roster_as_of(session, date(2025, 1, 1))
    assert table.schema == ROSTER_SCHEMA
    assert earlier.num_rows == 0
    by_id = {r["employee_id"]: r for r in table.to_pylist()}
    assert set(by_id) == {"E1", "E2"}
    assert by_id["E1"]["org_path"] == ["DEPT", "COMP-A", "DIV-A1", "BR-A1X", "TEAM-A1X1"]
    assert by_id["E1"]["supervisor_id"] == "E2"
    assert by_id["E2"]["duty_station"] == "FIELD-1"
    assert not any(name.startswith("home") for name in table.column_names)


def test_reference_data_holds_employees_effective_dated_badges_and_site_zones(
    engine: Engine, tmp_path: Path
) -> None:
    load_organisation(engine, tmp_path)
    settings = settings_for(tmp_path)
    first = [person("E1", badge_id="B-100"), person("E2", badge_id="B-200")]
    import_roster(engine, [roster_csv(tmp_path, first)], settings=settings)
    # Badge B-100 is reissued to E2 on 3 March (E2 lost theirs).
    later = [person("E2", badge_id="B-100", effective_date="2025-03-03")]
    import_roster(engine, [roster_csv(tmp_path, later, "later.csv")], settings=settings)
    with Session(engine) as session:
        reference = reference_data(session)
    assert reference.employees.column("employee_id").to_pylist() == ["E1", "E2"]
    badges = sorted(
        (b["badge_id"], b["employee_id"], b["valid_from"], b["valid_to"])
        for b in reference.badges.to_pylist()
    )
    assert badges == [
        ("B-100", "E1", date(2025, 1, 6), date(2025, 3, 3)),
        ("B-100", "E2", date(2025, 3, 3), None),
        ("B-200", "E2", date(2025, 1, 6), date(2025, 3, 3)),
    ]
    zones = dict(zip(*reference.sites.to_pydict().values(), strict=True))
    assert zones == {
        "FIELD-1": "America/Denver",
        "HQ": "America/New_York",
        "SPARE": "America/Chicago",
    }


def test_an_empty_store_gives_empty_reference_tables(engine: Engine) -> None:
    with Session(engine) as session:
        reference = reference_data(session)
        roster = roster_as_of(session, date(2025, 1, 1))
    assert reference.employees.num_rows == reference.badges.num_rows == 0
    assert roster.num_rows == 0 and roster.schema == ROSTER_SCHEMA


def test_an_office_that_is_someones_duty_station_cannot_be_deleted(
    engine: Engine, tmp_path: Path
) -> None:
    load_organisation(engine, tmp_path)
    import_roster(engine, [roster_csv(tmp_path, [person("E1")])], settings=settings_for(tmp_path))
    with Session(engine) as session, session.begin():
        with pytest.raises(StoreError, match="duty station"):
            delete_office(session, "HQ")
        delete_office(session, "SPARE")
    with Session(engine) as session:
        assert reference_data(session).sites.column("site_id").to_pylist() == ["FIELD-1", "HQ"]


def test_home_locations_live_only_in_their_own_table(engine: Engine) -> None:
    columns = {
        table: {c["name"] for c in inspect(engine).get_columns(table)}
        for table in inspect(engine).get_table_names()
    }
    with_home = {t for t, cols in columns.items() if {"latitude", "zip"} & cols}
    assert with_home == {"employee_home", "office"}
    assert "zip" not in columns["employee"]


def test_employee_ids_keep_leading_zeros_in_the_store(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(Employee), {"employee_id": "000123", "name": "Z", "active": True})
    with engine.connect() as conn:
        assert conn.scalar(select(Employee.employee_id)) == "000123"
