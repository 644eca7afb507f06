"""Builders for the authorisation and account tests: a small organisation written straight
into the store (no import files: these tests are about who may see whom), and cheap
password-hashing settings.

    DEPT > COMP-A > TEAM-A1, TEAM-A2
         > COMP-B > TEAM-B1

Supervisor chain (two levels under the director):

    DIR (COMP-A) ── MGR1 (TEAM-A1) ── W1 (TEAM-A1)
                 └─ MGR2 (TEAM-A2) ── W2 (TEAM-A2)
    BMGR (COMP-B) ── B1 (TEAM-B1)
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine, insert, select

from dutystation.settings import Settings
from dutystation.store.db import write_transaction
from dutystation.store.schema import Employee, EmployeeAssignment, OrgUnit

UNITS = [
    ("DEPT", None, "department"),
    ("COMP-A", "DEPT", "component"),
    ("COMP-B", "DEPT", "component"),
    ("TEAM-A1", "COMP-A", "division"),
    ("TEAM-A2", "COMP-A", "division"),
    ("TEAM-B1", "COMP-B", "division"),
]
# employee id, org unit, supervisor
PEOPLE = [
    ("DIR", "COMP-A", None),
    ("MGR1", "TEAM-A1", "DIR"),
    ("W1", "TEAM-A1", "MGR1"),
    ("MGR2", "TEAM-A2", "DIR"),
    ("W2", "TEAM-A2", "MGR2"),
    ("BMGR", "COMP-B", None),
    ("B1", "TEAM-B1", "BMGR"),
]
SINCE = date(2024, 1, 1)
MISSING_PK = 987_654


def build_organisation(engine: Engine) -> dict[str, int]:
    """Write the organisation; returns the store key of each employee by HR id."""
    with write_transaction(engine) as conn:
        unit_ids: dict[str, int] = {}
        for code, parent, kind in UNITS:
            unit_ids[code] = conn.execute(
                insert(OrgUnit)
                .values(code=code, name=code.title(), kind=kind, parent_id=unit_ids.get(parent))
                .returning(OrgUnit.id)
            ).scalar_one()
        pks: dict[str, int] = {}
        for employee_id, _unit, _boss in PEOPLE:
            pks[employee_id] = conn.execute(
                insert(Employee)
                .values(employee_id=employee_id, name=f"Person {employee_id}", active=True)
                .returning(Employee.id)
            ).scalar_one()
        for employee_id, unit, boss in PEOPLE:
            conn.execute(
                insert(EmployeeAssignment).values(
                    employee_pk=pks[employee_id],
                    effective_from=SINCE,
                    org_unit_id=unit_ids[unit],
                    arrangement="telework",
                    schedule="5x8",
                    supervisor_pk=pks[boss] if boss else None,
                )
            )
    return pks


def move(engine: Engine, employee_pk: int, unit: str, on: date, supervisor_pk: int | None) -> None:
    """Close the employee's open assignment the day before ``on`` and open one in ``unit``."""
    with write_transaction(engine) as conn:
        unit_id = conn.scalar(select(OrgUnit.id).where(OrgUnit.code == unit))
        conn.execute(
            EmployeeAssignment.__table__.update()
            .where(
                EmployeeAssignment.employee_pk == employee_pk,
                EmployeeAssignment.effective_to.is_(None),
            )
            .values(effective_to=on)
        )
        conn.execute(
            insert(EmployeeAssignment).values(
                employee_pk=employee_pk,
                effective_from=on,
                org_unit_id=unit_id,
                arrangement="telework",
                schedule="5x8",
                supervisor_pk=supervisor_pk,
            )
        )


def fast_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Real Argon2id with a small memory cost: the tests hash dozens of passwords, and the
    production cost (64 MiB, 3 passes) takes a third of a second each on CI's two cores."""
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "password_hash_memory_kib": 1024,
        "password_hash_time_cost": 1,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]
