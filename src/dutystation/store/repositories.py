"""Read side of the operational store: as-of lookups, org subtrees, and the Arrow tables
handed to ingest (reference data) and analytics (the roster as of a day).

Arrow tables are built from one SELECT each, column-wise, never row objects per employee:
250,000 employees take well under a second. ``employee_home`` is deliberately not read
here; nothing in this module can leak a home location into a report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa
from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from dutystation.domain.org import ancestor_chains
from dutystation.domain.roster_rows import AssignmentValues
from dutystation.domain.vocabulary import Arrangement, ScheduleKind
from dutystation.errors import NotFound, StoreError
from dutystation.ingest.reference import (
    BADGES_SCHEMA,
    EMPLOYEES_SCHEMA,
    SITES_SCHEMA,
    ReferenceData,
)
from dutystation.store.schema import (
    BadgeAssignment,
    Employee,
    EmployeeAssignment,
    Office,
    OrgUnit,
)

# One row per employee assigned on the day. org_path: codes from the root to the unit.
ROSTER_SCHEMA = pa.schema(
    [
        ("employee_id", pa.string()),
        ("name", pa.string()),
        ("email", pa.string()),
        ("org_unit", pa.string()),
        ("org_path", pa.list_(pa.string())),
        ("duty_station", pa.string()),
        ("arrangement", pa.string()),
        ("schedule", pa.string()),
        ("supervisor_id", pa.string()),
        ("position", pa.string()),
        ("job_function", pa.string()),
        ("bargaining_unit", pa.string()),
        ("telework_eligible", pa.bool_()),
        ("effective_from", pa.date32()),
    ]
)


@dataclass(frozen=True)
class AssignmentRecord:
    employee_id: str
    effective_from: date
    effective_to: date | None  # exclusive
    values: AssignmentValues


def in_force(day: date) -> ColumnElement[bool]:
    a = EmployeeAssignment
    return and_(a.effective_from <= day, or_(a.effective_to.is_(None), a.effective_to > day))


def _assignment_query() -> Select[*tuple[Any, ...]]:
    a, supervisor = EmployeeAssignment, aliased(Employee)
    return (
        select(
            Employee.employee_id,
            a.effective_from,
            a.effective_to,
            OrgUnit.code,
            Office.site_id,
            a.arrangement,
            a.schedule,
            supervisor.employee_id,
            a.position,
            a.job_function,
            a.bargaining_unit,
            a.telework_eligible,
        )
        .join(Employee, Employee.id == a.employee_pk)
        .join(OrgUnit, OrgUnit.id == a.org_unit_id)
        .outerjoin(Office, Office.id == a.duty_station_id)
        .outerjoin(supervisor, supervisor.id == a.supervisor_pk)
    )


def _record(row: Sequence[Any]) -> AssignmentRecord:
    values = AssignmentValues(row[3], row[4], Arrangement(row[5]), ScheduleKind(row[6]), *row[7:12])
    return AssignmentRecord(row[0], row[1], row[2], values)


def _require_employee(session: Session, employee_id: str) -> None:
    found = session.scalar(select(Employee.id).where(Employee.employee_id == employee_id))
    if found is None:
        raise NotFound("no employee with that employee_id is stored")


def assignment_as_of(session: Session, employee_id: str, day: date) -> AssignmentRecord | None:
    """The history version in force on ``day``; None if the employee was not assigned then
    (before hire, after separation). Raises NotFound for an unknown employee."""
    query = _assignment_query().where(Employee.employee_id == employee_id, in_force(day))
    row = session.execute(query).first()
    if row is None:
        _require_employee(session, employee_id)
        return None
    return _record(row)


def assignment_history(session: Session, employee_id: str) -> list[AssignmentRecord]:
    query = (
        _assignment_query()
        .where(Employee.employee_id == employee_id)
        .order_by(EmployeeAssignment.effective_from)
    )
    rows = session.execute(query).all()
    if not rows:
        _require_employee(session, employee_id)
    return [_record(r) for r in rows]


def org_subtree(session: Session, code: str) -> list[str]:
    """Codes of the unit and every unit below it, at any depth, parents before children."""
    root = select(OrgUnit.id, OrgUnit.code, literal(0).label("depth")).where(OrgUnit.code == code)
    tree = root.cte("tree", recursive=True)
    child = aliased(OrgUnit)
    tree = tree.union_all(
        select(child.id, child.code, tree.c.depth + 1).where(child.parent_id == tree.c.id)
    )
    codes = list(session.scalars(select(tree.c.code).order_by(tree.c.depth, tree.c.code)))
    if not codes:
        raise NotFound("no org unit with that code is stored")
    return codes


def reference_data(session: Session) -> ReferenceData:
    """Employees, effective-dated badges and sites with their time zones, for validating
    badge and T&A imports. Separated employees are included: their old events are real."""
    ids = session.scalars(select(Employee.employee_id).order_by(Employee.employee_id)).all()
    badges = session.execute(
        select(
            BadgeAssignment.badge_id,
            Employee.employee_id,
            BadgeAssignment.valid_from,
            BadgeAssignment.valid_to,
        )
        .join(Employee, Employee.id == BadgeAssignment.employee_pk)
        .order_by(BadgeAssignment.badge_id, BadgeAssignment.valid_from)
    ).all()
    sites = session.execute(select(Office.site_id, Office.timezone).order_by(Office.site_id)).all()
    return ReferenceData(
        employees=pa.Table.from_arrays([pa.array(ids, pa.string())], schema=EMPLOYEES_SCHEMA),
        badges=_table(badges, BADGES_SCHEMA),
        sites=_table(sites, SITES_SCHEMA),
    )


def _table(rows: Sequence[Sequence[Any]], schema: Any) -> Any:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    arrays = [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)


def roster_as_of(session: Session, day: date) -> Any:
    """One row per employee with an assignment in force on ``day`` (see ROSTER_SCHEMA)."""
    units = session.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.parent_id)).all()
    code_of = {uid: code for uid, code, _ in units}
    chains = ancestor_chains(
        {code: code_of[parent] if parent is not None else None for _, code, parent in units}
    )
    a, supervisor = EmployeeAssignment, aliased(Employee)
    rows = session.execute(
        select(
            Employee.employee_id,
            Employee.name,
            Employee.email,
            OrgUnit.code,
            Office.site_id,
            a.arrangement,
            a.schedule,
            supervisor.employee_id,
            a.position,
            a.job_function,
            a.bargaining_unit,
            a.telework_eligible,
            a.effective_from,
        )
        .join(Employee, Employee.id == a.employee_pk)
        .join(OrgUnit, OrgUnit.id == a.org_unit_id)
        .outerjoin(Office, Office.id == a.duty_station_id)
        .outerjoin(supervisor, supervisor.id == a.supervisor_pk)
        .where(in_force(day))
        .order_by(Employee.employee_id)
    ).all()
    plain = ROSTER_SCHEMA.remove(ROSTER_SCHEMA.get_field_index("org_path"))
    table = _table(rows, plain)
    # Chains are built once per unit and gathered by index: no list per employee in Python.
    unit_codes = sorted(chains)
    position = {code: i for i, code in enumerate(unit_codes)}
    chain_array = pa.array([list(chains[c]) for c in unit_codes], pa.list_(pa.string()))
    indices = pa.array([position[c] for c in table.column("org_unit").to_pylist()], pa.int32())
    return table.add_column(
        ROSTER_SCHEMA.get_field_index("org_path"),
        ROSTER_SCHEMA.field("org_path"),
        chain_array.take(indices),
    )


def delete_office(session: Session, site_id: str) -> None:
    """Remove an office nobody is or was assigned to. History refers to duty stations, so
    an office that appears in any assignment version is refused."""
    office_pk = session.scalar(select(Office.id).where(Office.site_id == site_id))
    if office_pk is None:
        raise NotFound("no office with that site_id is stored")
    used = session.scalar(
        select(func.count()).where(EmployeeAssignment.duty_station_id == office_pk)
    )
    if used:
        raise StoreError(
            f"the office is the duty station in {used} assignment version(s) and cannot be "
            "deleted; reassign those employees first"
        )
    session.delete(session.get_one(Office, office_pk))
    session.flush()
