"""Reads and writes of the designation area: the offices and staff a plan works from, homes
(the only reader of ``employee_home``: nothing else may join it into a report), seats in
use, and the ``designation_plan`` / ``designation`` tables.

Everything is read column-wise with one SELECT per table (250,000 staff: well under a
second per query); callers turn the columns into numpy arrays.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, delete, func, insert, or_, select, update

from dutystation.store.bulk import insert_rows
from dutystation.store.schema import (
    Employee,
    EmployeeAssignment,
    EmployeeHome,
    ImportBatch,
    Office,
    OrgUnit,
    office_job_function,
    office_org_unit,
)
from dutystation.store.schema_designation import Designation, DesignationPlan

ON_SITE_ARRANGEMENTS = ("onsite", "telework")  # who takes a seat at their duty station
_DESIGNATION = cast(Table, Designation.__table__)


def _in_force(day: date) -> Any:
    a = EmployeeAssignment
    return and_(a.effective_from <= day, or_(a.effective_to.is_(None), a.effective_to > day))


def _designation_in_force(day: date) -> Any:
    d = Designation
    return and_(
        d.applied_at.is_not(None),
        d.effective_from <= day,
        or_(d.effective_to.is_(None), d.effective_to > day),
    )


@dataclass(frozen=True)
class OfficeColumns:
    pk: list[int]
    site_id: list[str]
    name: list[str]
    latitude: list[float | None]
    longitude: list[float | None]
    seats: list[int]
    org_units: list[tuple[str, ...]]  # owning org-unit codes
    job_functions: list[tuple[str, ...]]


def offices(conn: Connection) -> OfficeColumns:
    rows = conn.execute(
        select(
            Office.id, Office.site_id, Office.name, Office.latitude, Office.longitude, Office.seats
        ).order_by(Office.site_id)
    ).all()
    units: dict[int, list[str]] = defaultdict(list)
    for office_pk, code in conn.execute(
        select(office_org_unit.c.office_id, OrgUnit.code).join(
            OrgUnit, OrgUnit.id == office_org_unit.c.org_unit_id
        )
    ):
        units[office_pk].append(code)
    functions: dict[int, list[str]] = defaultdict(list)
    for office_pk, name in conn.execute(
        select(office_job_function.c.office_id, office_job_function.c.job_function)
    ):
        functions[office_pk].append(name)
    pks = [r[0] for r in rows]
    return OfficeColumns(
        pk=pks,
        site_id=[r[1] for r in rows],
        name=[r[2] for r in rows],
        latitude=[r[3] for r in rows],
        longitude=[r[4] for r in rows],
        seats=[r[5] for r in rows],
        org_units=[tuple(sorted(units[p])) for p in pks],
        job_functions=[tuple(sorted(functions[p])) for p in pks],
    )


@dataclass(frozen=True)
class StaffColumns:
    """Everyone with an assignment in force on the day, ordered by employee_id."""

    pk: list[int]
    employee_id: list[str]
    name: list[str]
    org_unit: list[str]
    arrangement: list[str]
    duty_station_pk: list[int | None]
    job_function: list[str | None]


def staff_as_of(conn: Connection, day: date) -> StaffColumns:
    a = EmployeeAssignment
    rows = conn.execute(
        select(
            Employee.id,
            Employee.employee_id,
            Employee.name,
            OrgUnit.code,
            a.arrangement,
            a.duty_station_id,
            a.job_function,
        )
        .join(Employee, Employee.id == a.employee_pk)
        .join(OrgUnit, OrgUnit.id == a.org_unit_id)
        .where(_in_force(day))
        .order_by(Employee.employee_id)
    ).all()
    columns = list(zip(*rows, strict=True)) if rows else [()] * 7
    return StaffColumns(*(list(c) for c in columns))


@dataclass(frozen=True)
class HomeColumns:
    """Sensitive. The home in force on the day per employee (latest ``effective_from`` on or
    before it); employees without one are absent."""

    employee_pk: list[int]
    zip: list[str | None]
    latitude: list[float | None]
    longitude: list[float | None]


def homes_as_of(conn: Connection, day: date) -> HomeColumns:
    h = EmployeeHome
    latest = (
        select(h.employee_pk, func.max(h.effective_from).label("since"))
        .where(h.effective_from <= day)
        .group_by(h.employee_pk)
        .subquery()
    )
    rows = conn.execute(
        select(h.employee_pk, h.zip, h.latitude, h.longitude).join(
            latest,
            and_(h.employee_pk == latest.c.employee_pk, h.effective_from == latest.c.since),
        )
    ).all()
    columns = list(zip(*rows, strict=True)) if rows else [()] * 4
    return HomeColumns(*(list(c) for c in columns))


def onsite_headcount(conn: Connection, day: date) -> dict[int, int]:
    """Office pk -> people whose duty station it is on the day and who work on site
    (``onsite`` or ``telework``; field and remote staff take no seat there)."""
    a = EmployeeAssignment
    rows = conn.execute(
        select(a.duty_station_id, func.count())
        .where(
            _in_force(day),
            a.duty_station_id.is_not(None),
            a.arrangement.in_(ON_SITE_ARRANGEMENTS),
        )
        .group_by(a.duty_station_id)
    ).all()
    return {int(office or 0): int(n) for office, n in rows}


def designated_headcount(conn: Connection, day: date) -> dict[int, int]:
    """Office pk -> applied designations in force on the day."""
    d = Designation
    rows = conn.execute(
        select(d.office_id, func.count()).where(_designation_in_force(day)).group_by(d.office_id)
    ).all()
    return {int(office): int(n) for office, n in rows}


def designated_not_seated(conn: Connection, day: date) -> dict[int, int]:
    """Office pk -> applied designations in force whose employee the roster does not (yet)
    count on site at that office: they need a seat on top of ``onsite_headcount``."""
    d, a = Designation, EmployeeAssignment
    seated = (
        select(a.employee_pk)
        .where(
            _in_force(day),
            a.employee_pk == d.employee_pk,
            a.duty_station_id == d.office_id,
            a.arrangement.in_(ON_SITE_ARRANGEMENTS),
        )
        .exists()
    )
    rows = conn.execute(
        select(d.office_id, func.count())
        .where(_designation_in_force(day), ~seated)
        .group_by(d.office_id)
    ).all()
    return {int(office): int(n) for office, n in rows}


@dataclass(frozen=True)
class InForce:
    employee_pk: int
    office_pk: int
    effective_from: date
    plan_id: int | None


def designations_in_force(conn: Connection, day: date) -> list[InForce]:
    d = Designation
    rows = conn.execute(
        select(d.employee_pk, d.office_id, d.effective_from, d.plan_id).where(
            _designation_in_force(day)
        )
    ).all()
    return [InForce(int(r[0]), int(r[1]), r[2], r[3]) for r in rows]


# --- plans --------------------------------------------------------------------------------


def insert_plan(
    conn: Connection,
    *,
    created_at: datetime,
    created_by: str,
    parameters: dict[str, Any],
    total_distance_m: float,
    placed: int,
    unplaced: int,
) -> int:
    result = conn.execute(
        insert(DesignationPlan)
        .values(
            created_at=created_at,
            created_by=created_by,
            parameters=parameters,
            total_distance_m=total_distance_m,
            placed=placed,
            unplaced=unplaced,
            status="proposed",
        )
        .returning(DesignationPlan.id)
    )
    return int(result.scalar_one())


def insert_proposals(
    conn: Connection,
    plan_id: int,
    effective_from: date,
    rows: Sequence[tuple[int, int, float, str]],
) -> None:
    """(employee_pk, office_pk, distance_m, rule) per proposed designation."""
    columns = ("plan_id", "employee_pk", "office_id", "effective_from", "distance_m", "rule")
    insert_rows(
        conn,
        _DESIGNATION,
        columns,
        ((plan_id, e, o, effective_from, float(m), rule) for e, o, m, rule in rows),
    )


def plan_row(conn: Connection, plan_id: int) -> dict[str, Any] | None:
    p = DesignationPlan
    row = conn.execute(
        select(
            p.id, p.created_at, p.created_by, p.parameters, p.status, p.placed, p.unplaced
        ).where(p.id == plan_id)
    ).first()
    return None if row is None else dict(row._mapping)


def set_plan_status(conn: Connection, plan_id: int, status: str) -> None:
    conn.execute(update(DesignationPlan).where(DesignationPlan.id == plan_id).values(status=status))


def imports_since(conn: Connection, moment: datetime) -> int:
    return int(conn.scalar(select(func.count()).where(ImportBatch.created_at > moment)) or 0)


def plans_applied_since(conn: Connection, moment: datetime) -> list[int]:
    d = Designation
    rows = conn.execute(
        select(d.plan_id).where(d.applied_at > moment, d.plan_id.is_not(None)).distinct()
    ).all()
    return sorted(int(r[0] or 0) for r in rows)


def apply_plan(conn: Connection, plan_id: int, applied_by: str, applied_at: datetime) -> int:
    """Stamp the plan's proposals and close each employee's earlier open designation the
    day the new one starts. Returns the number stamped. The caller checked for conflicts."""
    d = Designation
    mine = select(d.employee_pk).where(d.plan_id == plan_id).scalar_subquery()
    starts = select(d.effective_from).where(d.plan_id == plan_id).limit(1).scalar_subquery()
    conn.execute(
        update(d)
        .where(
            d.employee_pk.in_(mine),
            d.applied_at.is_not(None),
            d.effective_to.is_(None),
            or_(d.plan_id.is_(None), d.plan_id != plan_id),
        )
        .values(effective_to=starts)
    )
    result = conn.execute(
        update(d).where(d.plan_id == plan_id).values(applied_by=applied_by, applied_at=applied_at)
    )
    set_plan_status(conn, plan_id, "applied")
    return int(result.rowcount or 0)


def later_designations(conn: Connection, plan_id: int) -> int:
    """Applied designations of the plan's employees that start on or after the plan's
    start: applying over them would leave two in force."""
    d = Designation
    mine = select(d.employee_pk, d.effective_from).where(d.plan_id == plan_id).subquery()
    return int(
        conn.scalar(
            select(func.count())
            .select_from(d)
            .join(mine, mine.c.employee_pk == d.employee_pk)
            .where(d.applied_at.is_not(None), d.effective_from >= mine.c.effective_from)
        )
        or 0
    )


def discard_plan(conn: Connection, plan_id: int) -> int:
    """Delete the plan's proposals (never applied ones) and mark it discarded."""
    d = Designation
    result = conn.execute(delete(d).where(d.plan_id == plan_id))
    set_plan_status(conn, plan_id, "discarded")
    return int(result.rowcount or 0)


def proposal_rows(conn: Connection, plan_id: int) -> list[tuple[int, int, date, float]]:
    d = Designation
    rows = conn.execute(
        select(d.employee_pk, d.office_id, d.effective_from, d.distance_m).where(
            d.plan_id == plan_id
        )
    ).all()
    return [(int(r[0]), int(r[1]), r[2], float(r[3])) for r in rows]
