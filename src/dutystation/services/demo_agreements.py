"""The demo's agreements and grievance: ``dutystation demo`` imports its agreements file
(each hybrid clause disputed from OPM's memo of 2025-02-03) and files one grievance under
the first hybrid agreement, concerning a few of its members, as the system user. Running
the demo again changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, and_, or_, select
from sqlalchemy.orm import Session

from dutystation.domain.access import SYSTEM
from dutystation.domain.grievances import GrievanceStatus
from dutystation.services.agreements import ImportOutcome, import_agreements
from dutystation.services.grievances import (
    GrievanceView,
    change_status,
    file_grievance,
    read_grievances,
)
from dutystation.store.repositories import org_subtree
from dutystation.store.schema import Employee, EmployeeAssignment, OrgUnit

AGREEMENT = "EEU-L1-2023"
UNIT = "EEU-L1"
COMPONENT = "DEA-EMA"
FILED_ON = date(2025, 2, 10)
IN_PROGRESS_ON = date(2025, 2, 24)
SUBJECT = "Return-to-office order disregards the hybrid schedules of Art. 31 §4"
AFFECTED = 3


@dataclass(frozen=True)
class DemoAgreements:
    imported: ImportOutcome
    grievance: GrievanceView | None  # None when the roster holds no member to name


def load_demo_agreements(engine: Engine, agreements_file: Path) -> DemoAgreements:
    imported = import_agreements(engine, SYSTEM, agreements_file)
    with engine.connect() as conn:
        existing = [g for g in read_grievances(conn) if g.subject == SUBJECT]
    if existing:
        return DemoAgreements(imported, existing[0])
    members = _members(engine)
    if not members:
        return DemoAgreements(imported, None)
    filed = file_grievance(
        engine,
        SYSTEM,
        agreement=AGREEMENT,
        component=COMPONENT,
        filed_on=FILED_ON,
        subject=SUBJECT,
        employees=members,
    )
    note = "step 2 meeting scheduled"
    moved = change_status(
        engine, SYSTEM, filed.id, GrievanceStatus.IN_PROGRESS, IN_PROGRESS_ON, note
    )
    return DemoAgreements(imported, moved)


def _members(engine: Engine) -> list[str]:
    """The first few members of the unit in the component on the filing day."""
    a = EmployeeAssignment
    with Session(engine) as session:
        units = org_subtree(session, COMPONENT)
        query = (
            select(Employee.employee_id)
            .join(a, a.employee_pk == Employee.id)
            .join(OrgUnit, OrgUnit.id == a.org_unit_id)
            .where(
                a.bargaining_unit == UNIT,
                OrgUnit.code.in_(units),
                and_(
                    a.effective_from <= FILED_ON,
                    or_(a.effective_to.is_(None), a.effective_to > FILED_ON),
                ),
            )
            .order_by(Employee.employee_id)
            .limit(AFFECTED)
        )
        return list(session.scalars(query))
