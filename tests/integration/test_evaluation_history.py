"""The roster history as the evaluator reads it, on SQLite and PostgreSQL alike: every
version with its dates, org path and duty station, in one Arrow table."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dutystation.store.history import INTERVALS_SCHEMA, assignment_intervals, org_unit_chains
from dutystation.store.schema import Employee, EmployeeAssignment, Office, OrgUnit


def _store(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        root = OrgUnit(id=1, code="DEA", name="Department", kind="department")
        comp = OrgUnit(id=2, code="DEA-ECA", name="Component", kind="component", parent_id=1)
        office = Office(id=1, site_id="DC0001", name="HQ", timezone="America/New_York", seats=9)
        person = Employee(id=1, employee_id="0042", name="Ada", active=True)
        session.add_all([root, comp, office, person])
        session.flush()
        session.add_all(
            [
                EmployeeAssignment(
                    employee_pk=1,
                    effective_from=date(2024, 10, 1),
                    effective_to=date(2025, 2, 24),
                    org_unit_id=2,
                    duty_station_id=None,
                    arrangement="remote",
                    schedule="5x8",
                    bargaining_unit="EPA-C7",
                    telework_eligible=True,
                ),
                EmployeeAssignment(
                    employee_pk=1,
                    effective_from=date(2025, 2, 24),
                    org_unit_id=2,
                    duty_station_id=1,
                    arrangement="telework",
                    schedule="4x10",
                ),
            ]
        )


def test_every_version_comes_with_its_dates_org_path_and_duty_station(engine: Engine) -> None:
    _store(engine)
    with Session(engine) as session:
        table = assignment_intervals(session)
        chains = org_unit_chains(session)
    assert table.schema == INTERVALS_SCHEMA
    rows = sorted(table.to_pylist(), key=lambda r: r["effective_from"])
    assert [(r["effective_from"], r["effective_to"]) for r in rows] == [
        (date(2024, 10, 1), date(2025, 2, 24)),
        (date(2025, 2, 24), None),
    ]
    assert [r["duty_station"] for r in rows] == [None, "DC0001"]
    assert [r["arrangement"] for r in rows] == ["remote", "telework"]
    assert rows[0]["org_path"] == ["DEA", "DEA-ECA"]
    assert (rows[0]["employee_id"], rows[0]["bargaining_unit"]) == ("0042", "EPA-C7")
    assert [r["telework_eligible"] for r in rows] == [True, None]  # SQLite keeps 1 and NULL
    assert chains == {"DEA": ("DEA",), "DEA-ECA": ("DEA", "DEA-ECA")}


def test_an_empty_store_has_an_empty_history_of_the_right_shape(engine: Engine) -> None:
    with Session(engine) as session:
        table = assignment_intervals(session)
    assert table.num_rows == 0
    assert table.schema == INTERVALS_SCHEMA
