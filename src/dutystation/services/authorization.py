"""The one authorisation check every service calls before it reads or changes anything.

``authorize`` works out how the subject relates to each of the actor's grants (as the
roster says today) and asks the policy in ``domain/access.py``. Out of scope answers
``NotFound`` with the caller's own "not found" sentence, so a subject the actor may not see
is indistinguishable from one that does not exist.

Refusals are audited by the caller with ``services.audit.denials_recorded``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Connection, and_, literal, or_, select
from sqlalchemy.orm import aliased

from dutystation.domain.access import (
    SYSTEM,
    Actor,
    Grant,
    Operation,
    Relation,
    Role,
    could_ever,
    permitted_by_any,
)
from dutystation.errors import Forbidden, NotFound
from dutystation.store.schema import EmployeeAssignment, OrgUnit
from dutystation.store.schema_access import AppUser


@dataclass(frozen=True)
class Subject:
    """What an operation acts on: an employee (by the store's key), an org unit (by code),
    a user account (by id), or none of them (operations on the whole organisation)."""

    employee_pk: int | None = None
    org_unit: str | None = None
    user_id: int | None = None


WHOLE_ORGANISATION = Subject()
# Roles whose scope is people, never org units: an employee's own record, a supervisor's
# reports. Their grants carry no org-unit scope.
_PEOPLE_ONLY = (Role.EMPLOYEE, Role.SUPERVISOR)


def authorize(
    conn: Connection,
    actor: Actor,
    operation: Operation,
    subject: Subject = WHOLE_ORGANISATION,
    *,
    not_found: str = "not found",
    today: date | None = None,
) -> Grant | None:
    """The grant that permits ``operation`` on ``subject`` (None for ``SYSTEM``).

    Raises ``Forbidden`` when no role of the actor allows the operation at all, and
    ``NotFound(not_found)`` when the subject is outside every scope that would."""
    if actor is SYSTEM:
        return None
    if not could_ever(actor, operation):
        raise Forbidden(f"user {actor.username!r} may not {operation.value}")
    day = today or date.today()
    relations = [(g, relation(conn, actor, g, subject, day)) for g in actor.grants]
    grant = permitted_by_any(operation, relations)
    if grant is None:
        raise NotFound(not_found)
    return grant


def relation(conn: Connection, actor: Actor, grant: Grant, subject: Subject, day: date) -> Relation:
    if subject.user_id is not None:
        return _user_relation(conn, actor, grant, subject.user_id, day)
    if subject.employee_pk is not None:
        if subject.employee_pk == actor.employee_pk:
            return Relation.SELF
        if grant.role is Role.EMPLOYEE:
            inside = False  # an employee's only scope is their own record
        elif grant.role is Role.SUPERVISOR:
            inside = actor.employee_pk is not None and actor.employee_pk in _managers(
                conn, subject.employee_pk, day
            )
        elif grant.scope is None:
            inside = True
        else:
            unit = _org_unit_of(conn, subject.employee_pk, day)
            inside = unit is not None and grant.scope in _ancestors(conn, unit)
        return Relation.IN_SCOPE if inside else Relation.OUT_OF_SCOPE
    if subject.org_unit is not None:
        if grant.role in _PEOPLE_ONLY:
            return Relation.OUT_OF_SCOPE
        if grant.scope is None or grant.scope in _ancestors(conn, subject.org_unit):
            return Relation.IN_SCOPE
        return Relation.OUT_OF_SCOPE
    return Relation.IN_SCOPE


def _user_relation(
    conn: Connection, actor: Actor, grant: Grant, user_id: int, day: date
) -> Relation:
    """One's own account is SELF; another relates like the employee it is linked to; an
    account linked to nobody is in scope of whole-organisation grants only."""
    if actor.user_id is not None and user_id == actor.user_id:
        return Relation.SELF
    employee_pk = conn.scalar(select(AppUser.employee_pk).where(AppUser.id == user_id))
    if employee_pk is not None:
        return relation(conn, actor, grant, Subject(employee_pk=employee_pk), day)
    whole = grant.scope is None and grant.role not in _PEOPLE_ONLY
    return Relation.IN_SCOPE if whole else Relation.OUT_OF_SCOPE


def _in_force(day: date) -> ColumnElement[bool]:
    a = EmployeeAssignment
    return and_(a.effective_from <= day, or_(a.effective_to.is_(None), a.effective_to > day))


def _org_unit_of(conn: Connection, employee_pk: int, day: date) -> str | None:
    """The org unit on ``day``; for someone not assigned that day, their latest one."""
    a = EmployeeAssignment
    query = (
        select(OrgUnit.code)
        .join(a, a.org_unit_id == OrgUnit.id)
        .where(a.employee_pk == employee_pk, a.effective_from <= day)
        .order_by(a.effective_from.desc())
        .limit(1)
    )
    found = conn.scalar(query)
    if found is None:  # hired after ``day``: their first unit
        found = conn.scalar(
            select(OrgUnit.code)
            .join(a, a.org_unit_id == OrgUnit.id)
            .where(a.employee_pk == employee_pk)
            .order_by(a.effective_from)
            .limit(1)
        )
    return found


def _ancestors(conn: Connection, code: str) -> set[str]:
    """The unit and every unit above it."""
    start = select(OrgUnit.id, OrgUnit.code, OrgUnit.parent_id).where(OrgUnit.code == code)
    up = start.cte("up", recursive=True)
    parent = aliased(OrgUnit)
    up = up.union_all(
        select(parent.id, parent.code, parent.parent_id).where(parent.id == up.c.parent_id)
    )
    return set(conn.scalars(select(up.c.code)))


def _managers(conn: Connection, employee_pk: int, day: date) -> set[int]:
    """Everyone above the employee in the supervisor chain on ``day``."""
    a = EmployeeAssignment
    start = (
        select(a.supervisor_pk.label("pk"), literal(1).label("depth"))
        .where(a.employee_pk == employee_pk, _in_force(day))
        .where(a.supervisor_pk.is_not(None))
    )
    chain = start.cte("chain", recursive=True)
    b = aliased(EmployeeAssignment)
    chain = chain.union_all(
        select(b.supervisor_pk, chain.c.depth + 1).where(
            b.employee_pk == chain.c.pk,
            b.supervisor_pk.is_not(None),
            b.effective_from <= day,
            or_(b.effective_to.is_(None), b.effective_to > day),
            chain.c.depth < 50,  # a cycle in bad roster data must not loop forever
        )
    )
    return set(conn.scalars(select(chain.c.pk)))
