"""Use cases: an employee's status, a supervisor's team and the people of an org unit,
read from the evaluation snapshot (``services/snapshot.py``) with indexed queries — never
an evaluation per request. ``component_overview`` is in ``services/status_overview.py``.

Every answer carries the snapshot's "as of" and whether it is stale (an import stored
rows after the snapshot began). Authorisation is ``status.read`` on the employee (an
employee reads their own; a supervisor their reports; TMOs, HR, leaders... their
subtree) or on the org unit; out of scope answers exactly like a missing employee.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select

from dutystation.bootstrap import Runtime
from dutystation.domain.access import Actor, Operation, Role, could_ever
from dutystation.errors import Forbidden, NoEvidence, NotFound
from dutystation.services.audit import Change, denials_recorded
from dutystation.services.authorization import Subject, authorize
from dutystation.store.db import reading, translate_errors
from dutystation.store.schema import Employee, EmployeeAssignment, OrgUnit
from dutystation.store.schema_snapshot import (
    EvaluationSnapshot,
    SnapshotEmployee,
    SnapshotPayPeriod,
    SnapshotWeek,
)
from dutystation.store.snapshot_rows import (
    CURRENT_COLUMNS,
    CURRENT_FROM,
    CURRENT_STATE,
    CurrentSnapshot,
    current,
    current_of,
)

NO_SNAPSHOT = "no evaluation snapshot has been computed yet; run `dutystation evaluate --refresh`"
NOT_LINKED = "your account is not linked to an employee record"


@dataclass(frozen=True)
class SnapshotInfo:
    """Which evaluation an answer comes from."""

    as_of: date  # the last day evaluated
    period_start: date
    computed_at: datetime
    stale: bool  # evidence or the roster changed after it began
    changed_at: datetime | None  # when the last such change was recorded

    @classmethod
    def of(cls, snapshot: CurrentSnapshot) -> SnapshotInfo:
        return cls(
            snapshot.period_end,
            snapshot.period_start,
            snapshot.computed_at,
            snapshot.stale,
            snapshot.changed_at,
        )


@dataclass(frozen=True)
class Requirement:
    """The directive binding the employee's latest week, and what it asks."""

    directive_ref: str
    title: str
    issuer: str
    effective: date
    full_compliance: date | None
    requirement: str  # "60% of hours on site", "3 days on site per week"
    counts_at: str  # duty_station or any_agency_office


@dataclass(frozen=True)
class WeekStatus:
    week: str
    week_start: date
    week_end: date
    org_unit: str
    arrangement: str
    duty_station: str | None
    directive_ref: str | None
    hours_required: float
    hours_on_site: float
    hours_field_travel: float
    hours_off_site: float
    hours_leave: float
    hours_holiday: float
    days_present_badge: int
    days_on_site_ta: int
    days_at_duty_station: int
    status: str
    reason: str


@dataclass(frozen=True)
class DutyStationTest:
    """One pay period of the duty-station test (teleworkers only)."""

    pay_period: str
    period_start: date
    period_end: date
    duty_station: str | None
    days_at_duty_station: int
    passed: bool


@dataclass(frozen=True)
class EmployeeStatus:
    employee_id: str
    name: str
    # From the latest week (the last whole week evaluated); None when never evaluated.
    week: str | None
    org_unit: str | None
    component: str | None
    arrangement: str | None
    duty_station: str | None
    status: str | None
    reason: str | None
    not_returned: bool
    requirement: Requirement | None
    weeks: tuple[WeekStatus, ...]  # oldest first
    duty_station_tests: tuple[DutyStationTest, ...]
    snapshot: SnapshotInfo


@dataclass(frozen=True)
class PersonStatus:
    """One line of a team table or of the people of a unit: the latest week."""

    employee_id: str
    name: str
    org_unit: str | None
    arrangement: str | None
    week: str | None
    status: str | None
    reason: str | None
    not_returned: bool


@dataclass(frozen=True)
class People:
    items: tuple[PersonStatus, ...]
    total: int
    limit: int
    offset: int
    snapshot: SnapshotInfo


def snapshot_info(conn: Connection) -> tuple[CurrentSnapshot, SnapshotInfo]:
    """The current snapshot; ``NoEvidence`` when none has been computed."""
    found = current(conn)
    if found is None:
        raise NoEvidence(NO_SNAPSHOT)
    return found, SnapshotInfo.of(found)


def employee_status(
    runtime: Runtime, actor: Actor, employee_id: str | None = None
) -> EmployeeStatus:
    """The status of ``employee_id`` (None: the actor's own). ``NotFound`` for an employee
    who does not exist or is outside the actor's scope (the same sentence), ``Forbidden``
    for a role that reads no status, ``NoEvidence`` before the first snapshot."""
    if not could_ever(actor, Operation.STATUS_READ):
        raise Forbidden(f"user {actor.username!r} may not {Operation.STATUS_READ.value}")
    missing = f"no employee {employee_id!r}" if employee_id else NOT_LINKED
    attempt = Change(Operation.STATUS_READ.value, "employee", employee_id or "self")
    with (
        denials_recorded(runtime.engine, actor, attempt),
        translate_errors(),
        reading(runtime.engine) as conn,
    ):
        if employee_id is None:
            if actor.employee_pk is None:
                raise NotFound(NOT_LINKED)
            row = conn.execute(_BY_PK, {"pk": actor.employee_pk}).first()
        else:
            row = conn.execute(_BY_ID, {"employee_id": employee_id}).first()
        if row is None:
            raise NotFound(missing)
        pk = int(row.pk)
        authorize(conn, actor, Operation.STATUS_READ, Subject(employee_pk=pk), not_found=missing)
        snapshot = current_of(row)
        if snapshot is None:
            raise NoEvidence(NO_SNAPSHOT)
        sid = snapshot.id
        weeks = conn.execute(_WEEKS, {"sid": sid, "pk": pk}).all()
        tests = conn.execute(_TESTS, {"sid": sid, "pk": pk}).all()
    seen = row.week is not None
    return EmployeeStatus(
        employee_id=row.employee_id,
        name=row.name,
        week=row.week,
        org_unit=row.org_unit,
        component=row.component,
        arrangement=row.arrangement,
        duty_station=row.duty_station,
        status=row.status,
        reason=row.reason,
        not_returned=bool(row.not_returned) if seen else False,
        requirement=_requirement(snapshot, row.directive_ref),
        weeks=tuple(WeekStatus(**w._asdict()) for w in weeks),
        duty_station_tests=tuple(
            DutyStationTest(
                pay_period=t.pay_period,
                period_start=t.period_start,
                period_end=t.period_end,
                duty_station=t.duty_station,
                days_at_duty_station=t.days_at_duty_station,
                passed=not t.duty_station_test_failed,
            )
            for t in tests
        ),
        snapshot=SnapshotInfo.of(snapshot),
    )


# Built once: at 200 requests a second, building and keying a statement per call costs
# more than running it (psycopg prepares them on the server after a few uses).
# Not shown per week: the keys, and the component (the latest week's is shown).
_KEYS = frozenset({"snapshot_id", "employee_pk", "component"})
_LATEST = SnapshotEmployee
# The person, their latest week and the current snapshot, in one query.
_PERSON = (
    select(
        Employee.id.label("pk"),
        Employee.name,
        Employee.employee_id,
        *[
            c
            for c in _LATEST.__table__.c
            if c.name not in ("snapshot_id", "employee_pk", "employee_id")
        ],
        *CURRENT_COLUMNS,
    )
    .select_from(Employee)
    .outerjoin(CURRENT_FROM, CURRENT_STATE)
    .outerjoin(
        _LATEST,
        and_(_LATEST.snapshot_id == EvaluationSnapshot.id, _LATEST.employee_pk == Employee.id),
    )
)
_BY_PK = _PERSON.where(Employee.id == bindparam("pk"))
_BY_ID = _PERSON.where(Employee.employee_id == bindparam("employee_id"))
_WEEKS = (
    select(*[c for c in SnapshotWeek.__table__.c if c.name not in _KEYS])
    .where(
        SnapshotWeek.snapshot_id == bindparam("sid"), SnapshotWeek.employee_pk == bindparam("pk")
    )
    .order_by(SnapshotWeek.week_start)
)
_TESTS = (
    select(*[c for c in SnapshotPayPeriod.__table__.c if c.name not in _KEYS])
    .where(
        SnapshotPayPeriod.snapshot_id == bindparam("sid"),
        SnapshotPayPeriod.employee_pk == bindparam("pk"),
    )
    .order_by(SnapshotPayPeriod.period_start)
)


def _requirement(snapshot: CurrentSnapshot, ref: str | None) -> Requirement | None:
    if ref is None:
        return None
    for d in snapshot.directives:
        if d.get("ref") == ref:
            due = d.get("full_compliance")
            return Requirement(
                directive_ref=ref,
                title=str(d["title"]),
                issuer=str(d["issuer"]),
                effective=date.fromisoformat(d["effective"]),
                full_compliance=date.fromisoformat(due) if due else None,
                requirement=str(d["requirement"]),
                counts_at=str(d["counts_at"]),
            )
    return None


def team_status(runtime: Runtime, actor: Actor, *, limit: int = 500, offset: int = 0) -> People:
    """The supervisor's direct reports today (the roster's supervisor of their assignment
    in force), each with their latest week's status. ``Forbidden`` for an actor who is not
    a supervisor."""
    if not actor.holds(Role.SUPERVISOR):
        raise Forbidden(f"user {actor.username!r} is not a supervisor")
    today = date.today()
    a = EmployeeAssignment
    with translate_errors(), reading(runtime.engine) as conn:
        authorize(conn, actor, Operation.STATUS_READ)
        snapshot, info = snapshot_info(conn)
        if actor.employee_pk is None:
            return People((), 0, limit, offset, info)
        reports = (
            select(a.employee_pk)
            .where(
                a.supervisor_pk == actor.employee_pk,
                a.effective_from <= today,
                or_(a.effective_to.is_(None), a.effective_to > today),
            )
            .scalar_subquery()
        )
        where = Employee.id.in_(reports)
        total = int(conn.scalar(select(func.count()).select_from(Employee).where(where)) or 0)
        found = conn.execute(
            _people_query(snapshot.id)
            .where(where)
            .order_by(Employee.employee_id)
            .limit(limit)
            .offset(offset)
        ).all()
    return People(tuple(_person(r) for r in found), total, limit, offset, info)


def unit_people(
    runtime: Runtime, actor: Actor, org_unit: str, *, limit: int = 50, offset: int = 0
) -> People:
    """The people whose latest week is in ``org_unit`` itself (not the units below it),
    by employee id, a page at a time: the last step of the overview's drill-down."""
    missing = f"org unit {org_unit!r} does not exist"
    attempt = Change(Operation.STATUS_READ.value, "org_unit", org_unit)
    with (
        denials_recorded(runtime.engine, actor, attempt),
        translate_errors(),
        reading(runtime.engine) as conn,
    ):
        authorize(conn, actor, Operation.STATUS_READ, Subject(org_unit=org_unit), not_found=missing)
        # A whole-organisation grant holds any code: an unknown one is still "not found".
        if conn.scalar(select(OrgUnit.id).where(OrgUnit.code == org_unit)) is None:
            raise NotFound(missing)
        snapshot, info = snapshot_info(conn)
        s = SnapshotEmployee
        where = and_(s.snapshot_id == snapshot.id, s.org_unit == org_unit)
        total = int(conn.scalar(select(func.count()).select_from(s).where(where)) or 0)
        found = conn.execute(
            select(
                s.employee_id,
                Employee.name,
                s.org_unit,
                s.arrangement,
                s.week,
                s.status,
                s.reason,
                s.not_returned,
            )
            .join(Employee, Employee.id == s.employee_pk)
            .where(where)
            .order_by(s.employee_id)
            .limit(limit)
            .offset(offset)
        ).all()
    return People(tuple(_person(r) for r in found), total, limit, offset, info)


def _people_query(snapshot_id: int) -> Any:
    s = SnapshotEmployee
    return select(
        Employee.employee_id,
        Employee.name,
        s.org_unit,
        s.arrangement,
        s.week,
        s.status,
        s.reason,
        s.not_returned,
    ).outerjoin(s, and_(s.snapshot_id == snapshot_id, s.employee_pk == Employee.id))


def _person(row: Any) -> PersonStatus:
    return PersonStatus(
        employee_id=row.employee_id,
        name=row.name,
        org_unit=row.org_unit,
        arrangement=row.arrangement,
        week=row.week,
        status=row.status,
        reason=row.reason,
        not_returned=bool(row.not_returned),
    )
