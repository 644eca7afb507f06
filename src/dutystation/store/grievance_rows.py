"""Reading grievances and the org facts their rules need, from the tables in
``schema_agreements``; no authorisation here (``services/grievances.py`` does it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import cast

from sqlalchemy import Connection, Table, select

from dutystation.domain.grievances import GrievanceHistory, GrievanceStatus, GrievanceStep
from dutystation.store.schema import Employee, EmployeeAssignment, OrgUnit
from dutystation.store.schema_agreements import (
    AgreementRecord,
    Grievance,
    GrievanceStatusRecord,
    grievance_employee,
)

GRIEVANCE = cast(Table, Grievance.__table__)
STEP = cast(Table, GrievanceStatusRecord.__table__)
AFFECTED = grievance_employee


@dataclass(frozen=True)
class GrievanceView:
    id: int
    agreement: str  # the agreement's code
    union: str
    filed_on: date
    subject: str
    component: str  # org unit code
    history: GrievanceHistory
    outcome: str | None
    outcome_on: date | None
    employees: tuple[str, ...]  # HR ids of the employees it concerns

    @property
    def status(self) -> GrievanceStatus:
        return self.history.current.status


def read_grievances(conn: Connection, grievance_id: int | None = None) -> list[GrievanceView]:
    """Every grievance (or one), by id; no authorisation (callers filter)."""
    g = GRIEVANCE
    query = (
        select(g, AgreementRecord.code.label("agreement_code"), OrgUnit.code.label("unit"))
        .join(AgreementRecord, AgreementRecord.id == g.c.agreement_id)
        .join(OrgUnit, OrgUnit.id == g.c.component_id)
        .order_by(g.c.id)
    )
    if grievance_id is not None:
        query = query.where(g.c.id == grievance_id)
    rows = conn.execute(query).mappings().all()
    ids = [r["id"] for r in rows]
    if not ids:
        return []
    steps: dict[int, list[GrievanceStep]] = {}
    for step in conn.execute(
        select(STEP).where(STEP.c.grievance_id.in_(ids)).order_by(STEP.c.id)
    ).mappings():
        steps.setdefault(step["grievance_id"], []).append(
            GrievanceStep(GrievanceStatus(step["status"]), step["effective_on"], step["note"])
        )
    people: dict[int, list[str]] = {}
    for grievance, employee_id in conn.execute(
        select(AFFECTED.c.grievance_id, Employee.employee_id)
        .join(Employee, Employee.id == AFFECTED.c.employee_pk)
        .where(AFFECTED.c.grievance_id.in_(ids))
        .order_by(Employee.employee_id)
    ):
        people.setdefault(grievance, []).append(employee_id)
    return [
        GrievanceView(
            r["id"],
            r["agreement_code"],
            r["union_name"],
            r["filed_on"],
            r["subject"],
            r["unit"],
            GrievanceHistory(r["filed_on"], tuple(steps.get(r["id"], []))),
            r["outcome"],
            r["outcome_on"],
            tuple(people.get(r["id"], [])),
        )
        for r in rows
    ]


def ancestors(conn: Connection, code: str) -> set[str]:
    """The units above ``code`` (not itself)."""
    chain: set[str] = set()
    current = conn.execute(select(OrgUnit.code, OrgUnit.parent_id).where(OrgUnit.code == code))
    row = current.first()
    while row is not None and row.parent_id is not None and len(chain) < 64:
        row = conn.execute(
            select(OrgUnit.code, OrgUnit.parent_id).where(OrgUnit.id == row.parent_id)
        ).first()
        if row is not None:
            chain.add(row.code)
    return chain


def unit_on(conn: Connection, employee_pk: int, day: date) -> str | None:
    """The employee's org unit on ``day``; if not yet assigned then, their first one."""
    a = EmployeeAssignment
    base = (
        select(OrgUnit.code)
        .join(a, a.org_unit_id == OrgUnit.id)
        .where(a.employee_pk == employee_pk)
    )
    found = conn.scalar(
        base.where(a.effective_from <= day).order_by(a.effective_from.desc()).limit(1)
    )
    if found is None:
        found = conn.scalar(base.order_by(a.effective_from).limit(1))
    return found
