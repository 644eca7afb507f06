"""Use cases: read stored designation plans (docs/designation.md): the plans an actor may
see, and one plan with a page of its proposals.

Reading a plan needs ``Operation.DESIGNATION_PLAN`` (the people who make and review plans)
over the plan's org unit, or, for a plan of the whole organisation, over every root of the
org tree. A plan outside the actor's scope answers exactly like one that does not exist.
Proposals show who goes where and why (distances, the rule matched), never a home.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from dutystation.bootstrap import Runtime
from dutystation.domain.access import Actor, Operation
from dutystation.domain.geodesy import metres_to_miles
from dutystation.errors import NotFound
from dutystation.services.audit import Change, denials_recorded
from dutystation.services.authorization import Subject, authorize
from dutystation.store.db import translate_errors
from dutystation.store.schema import Employee, Office, OrgUnit
from dutystation.store.schema_designation import Designation, DesignationPlan

READ = Operation.DESIGNATION_PLAN


@dataclass(frozen=True)
class PlanSummary:
    id: int
    status: str  # proposed, applied, discarded
    created_at: datetime
    created_by: str
    org_unit: str | None  # None: the whole organisation
    day: date | None
    effective_from: date | None
    what_if: bool
    placed: int
    unplaced: int
    total_miles: float


@dataclass(frozen=True)
class Proposal:
    employee_id: str
    name: str
    site_id: str
    office_name: str
    effective_from: date
    distance_miles: float
    rule: str
    applied: bool


@dataclass(frozen=True)
class PlanView:
    plan: PlanSummary
    parameters: dict[str, Any]
    proposals: list[Proposal]  # the page asked for, by employee id
    proposals_total: int


def _missing(plan_id: int) -> str:
    return f"no designation plan {plan_id}"


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else None


def _summary(row: Any) -> PlanSummary:
    parameters = row.parameters or {}
    return PlanSummary(
        id=int(row.id),
        status=str(row.status),
        created_at=row.created_at,
        created_by=str(row.created_by),
        org_unit=parameters.get("org_unit"),
        day=_day(parameters.get("day")),
        effective_from=_day(parameters.get("effective_from")),
        what_if=any((parameters.get("what_if") or {}).values()),
        placed=int(row.placed),
        unplaced=int(row.unplaced),
        total_miles=round(metres_to_miles(float(row.total_distance_m)), 1),
    )


def _may_read(conn: Connection, actor: Actor, org_unit: str | None, missing: str) -> None:
    """The plan's unit, or every root for a plan of the whole organisation."""
    if org_unit is not None:
        authorize(conn, actor, READ, Subject(org_unit=org_unit), not_found=missing)
        return
    for code in sorted(conn.scalars(select(OrgUnit.code).where(OrgUnit.parent_id.is_(None)))):
        authorize(conn, actor, READ, Subject(org_unit=code), not_found=missing)


def _readable(conn: Connection, actor: Actor, org_unit: str | None) -> bool:
    try:
        _may_read(conn, actor, org_unit, "")
    except NotFound:
        return False
    return True


_PLAN_COLUMNS = (
    DesignationPlan.id,
    DesignationPlan.status,
    DesignationPlan.created_at,
    DesignationPlan.created_by,
    DesignationPlan.parameters,
    DesignationPlan.placed,
    DesignationPlan.unplaced,
    DesignationPlan.total_distance_m,
)


def list_plans(runtime: Runtime, actor: Actor, *, status: str | None = None) -> list[PlanSummary]:
    """The plans the actor may read, newest first."""
    with translate_errors(), runtime.engine.connect() as conn:
        authorize(conn, actor, READ)  # Forbidden for a role that never reads a plan
        query = select(*_PLAN_COLUMNS).order_by(DesignationPlan.id.desc())
        if status is not None:
            query = query.where(DesignationPlan.status == status)
        found = [_summary(r) for r in conn.execute(query)]
        allowed: dict[str | None, bool] = {}
        for plan in found:
            if plan.org_unit not in allowed:
                allowed[plan.org_unit] = _readable(conn, actor, plan.org_unit)
        return [p for p in found if allowed[p.org_unit]]


def show_plan(
    runtime: Runtime, actor: Actor, plan_id: int, *, limit: int = 50, offset: int = 0
) -> PlanView:
    """Plan ``plan_id`` with ``limit`` of its proposals from ``offset`` (by employee id)."""
    missing = _missing(plan_id)
    attempt = Change(READ.value, "designation_plan", str(plan_id))
    with (
        denials_recorded(runtime.engine, actor, attempt),
        translate_errors(),
        runtime.engine.connect() as conn,
    ):
        row = conn.execute(select(*_PLAN_COLUMNS).where(DesignationPlan.id == plan_id)).first()
        if row is None:
            authorize(conn, actor, READ, not_found=missing)  # Forbidden before NotFound
            raise NotFound(missing)
        plan = _summary(row)
        _may_read(conn, actor, plan.org_unit, missing)
        d = Designation
        total = conn.scalar(select(func.count()).select_from(d).where(d.plan_id == plan_id))
        rows = conn.execute(
            select(
                Employee.employee_id,
                Employee.name,
                Office.site_id,
                Office.name.label("office_name"),
                d.effective_from,
                d.distance_m,
                d.rule,
                d.applied_at,
            )
            .join(Employee, Employee.id == d.employee_pk)
            .join(Office, Office.id == d.office_id)
            .where(d.plan_id == plan_id)
            .order_by(Employee.employee_id)
            .limit(limit)
            .offset(offset)
        ).all()
    proposals = [
        Proposal(
            employee_id=r.employee_id,
            name=r.name,
            site_id=r.site_id,
            office_name=r.office_name,
            effective_from=r.effective_from,
            distance_miles=round(metres_to_miles(float(r.distance_m)), 1),
            rule=r.rule,
            applied=r.applied_at is not None,
        )
        for r in rows
    ]
    return PlanView(plan, dict(row.parameters or {}), proposals, int(total or 0))
