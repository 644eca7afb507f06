"""Use cases for grievances filed under a bargaining agreement about the directive: file
one, add the employees it concerns, move it through the negotiated grievance procedure,
record its outcome, list and show them (docs/agreements.md).

A grievance belongs to the org unit it was filed in (its component, usually): reading
it needs ``Operation.GRIEVANCE_READ`` and changing it ``GRIEVANCE_MANAGE`` over that
unit; outside the actor's scope a grievance answers exactly like a missing one. Every
change is audited in its own transaction; a refusal is recorded as denied.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.orm import Session

from dutystation.domain.access import SYSTEM, Actor, Operation
from dutystation.domain.agreements import AgreementRuleError
from dutystation.domain.grievances import GrievanceStatus, GrievanceStep
from dutystation.errors import ConfigError, Conflict, NotFound
from dutystation.services.audit import Change, denials_recorded, record
from dutystation.services.authorization import Subject, authorize
from dutystation.store.db import translate_errors, write_transaction
from dutystation.store.grievance_rows import (
    AFFECTED,
    GRIEVANCE,
    STEP,
    GrievanceView,
    ancestors,
    read_grievances,
    unit_on,
)
from dutystation.store.repositories import org_subtree
from dutystation.store.schema import Employee, OrgUnit
from dutystation.store.schema_agreements import AgreementRecord

__all__ = [
    "GrievanceView",
    "add_employees",
    "change_status",
    "file_grievance",
    "list_grievances",
    "read_grievances",
    "readable",
    "record_outcome",
    "show_grievance",
]
MANAGE = Operation.GRIEVANCE_MANAGE
READ = Operation.GRIEVANCE_READ


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _missing(grievance_id: int) -> str:
    return f"no grievance {grievance_id}"


def _text(value: str, what: str, limit: int) -> str:
    value = value.strip()
    if not value or len(value) > limit:
        raise ConfigError(f"{what} is 1 to {limit} characters")
    return value


def _shown(view: GrievanceView) -> dict[str, Any]:
    return {
        "agreement": view.agreement,
        "component": view.component,
        "filed_on": view.filed_on.isoformat(),
        "status": view.status.value,
        "employees": len(view.employees),
        "outcome_on": view.outcome_on.isoformat() if view.outcome_on else None,
    }


def _audit(conn: Connection, actor: Actor, grievance_id: int, **change: Any) -> None:
    record(conn, actor, Change(MANAGE.value, "grievance", str(grievance_id), **change))


def file_grievance(
    engine: Engine,
    actor: Actor,
    *,
    agreement: str,
    component: str,
    filed_on: date,
    subject: str,
    union: str | None = None,
    employees: Sequence[str] = (),
) -> GrievanceView:
    """A grievance filed under ``agreement`` in org unit ``component`` on ``filed_on``
    (status ``filed``), concerning ``employees`` (HR ids; more can be added later)."""
    subject = _text(subject, "a grievance's subject", 300)
    if filed_on > date.today():
        raise ConfigError(f"a grievance cannot be filed in the future ({filed_on.isoformat()})")
    attempt = Change(MANAGE.value, "grievance", None, after={"component": component})
    with denials_recorded(engine, actor, attempt), write_transaction(engine) as conn:
        # Authorised first: a role that never files grievances learns nothing about units.
        authorize(conn, actor, MANAGE, Subject(org_unit=component), not_found=_no_unit(component))
        component_id = _unit_id(conn, component)
        found = conn.execute(
            select(
                AgreementRecord.id, AgreementRecord.union_name, AgreementRecord.effective_from
            ).where(AgreementRecord.code == agreement)
        ).first()
        if found is None:
            raise NotFound(f"no agreement {agreement!r}")
        if filed_on < found.effective_from:
            raise ConfigError(
                f"the grievance is filed on {filed_on.isoformat()}, before agreement "
                f"{agreement} takes effect ({found.effective_from.isoformat()}); nothing "
                "was changed"
            )
        values = {
            "agreement_id": found.id,
            "union_name": _text(union, "a union's name", 200) if union else found.union_name,
            "filed_on": filed_on,
            "subject": subject,
            "component_id": component_id,
        }
        duplicate = conn.scalar(
            select(GRIEVANCE.c.id).where(
                *(GRIEVANCE.c[k] == values[k] for k in ("agreement_id", "component_id")),
                GRIEVANCE.c.filed_on == filed_on,
                GRIEVANCE.c.subject == subject,
            )
        )
        if duplicate is not None:
            raise Conflict(
                f"grievance {duplicate} has the same agreement, unit, day and subject; "
                "nothing was changed"
            )
        new = conn.execute(insert(GRIEVANCE).values(**values)).inserted_primary_key
        assert new is not None
        grievance_id = int(new[0])
        _step(conn, actor, grievance_id, GrievanceStep(GrievanceStatus.FILED, filed_on))
        _add_people(conn, grievance_id, component, filed_on, employees)
        view = read_grievances(conn, grievance_id)[0]
        _audit(conn, actor, grievance_id, after={**_shown(view), "subject": subject})
    return view


def add_employees(
    engine: Engine, actor: Actor, grievance_id: int, employees: Sequence[str]
) -> GrievanceView:
    """Add employees (HR ids) the grievance concerns; ones already on it are kept once."""
    attempt = Change(MANAGE.value, "grievance", str(grievance_id))
    with denials_recorded(engine, actor, attempt), write_transaction(engine) as conn:
        before = _authorized(conn, actor, MANAGE, grievance_id)
        added = _add_people(conn, grievance_id, before.component, before.filed_on, employees)
        view = read_grievances(conn, grievance_id)[0]
        if added:
            _audit(
                conn,
                actor,
                grievance_id,
                before=_shown(before),
                after={**_shown(view), "employees_added": added},
            )
    return view


def change_status(
    engine: Engine,
    actor: Actor,
    grievance_id: int,
    status: GrievanceStatus,
    on: date,
    note: str = "",
) -> GrievanceView:
    """The next step of the procedure (``domain.agreements.NEXT`` says which may follow)."""
    attempt = Change(MANAGE.value, "grievance", str(grievance_id))
    with denials_recorded(engine, actor, attempt), write_transaction(engine) as conn:
        before = _authorized(conn, actor, MANAGE, grievance_id)
        step = _next(before, status, on, note)
        _step(conn, actor, grievance_id, step)
        view = read_grievances(conn, grievance_id)[0]
        _audit(conn, actor, grievance_id, before=_shown(before), after=_shown(view))
    return view


def record_outcome(
    engine: Engine, actor: Actor, grievance_id: int, outcome: str, on: date
) -> GrievanceView:
    """The grievance's outcome (settlement, arbitration award); an open grievance is
    resolved on ``on`` with it, a withdrawn one has none."""
    outcome = _text(outcome, "an outcome", 2000)
    attempt = Change(MANAGE.value, "grievance", str(grievance_id))
    with denials_recorded(engine, actor, attempt), write_transaction(engine) as conn:
        before = _authorized(conn, actor, MANAGE, grievance_id)
        if before.outcome is not None:
            raise Conflict(f"grievance {grievance_id} has an outcome already; nothing was changed")
        if before.status is GrievanceStatus.WITHDRAWN:
            raise Conflict(f"grievance {grievance_id} was withdrawn; it has no outcome")
        if before.status is not GrievanceStatus.RESOLVED:
            _step(conn, actor, grievance_id, _next(before, GrievanceStatus.RESOLVED, on, ""))
        elif on < before.history.current.on:
            raise ConfigError(
                f"the outcome is dated {on.isoformat()}, before the grievance was resolved "
                f"({before.history.current.on.isoformat()})"
            )
        conn.execute(
            update(GRIEVANCE)
            .where(GRIEVANCE.c.id == grievance_id)
            .values(outcome=outcome, outcome_on=on)
        )
        view = read_grievances(conn, grievance_id)[0]
        _audit(conn, actor, grievance_id, before=_shown(before), after=_shown(view))
    return view


def list_grievances(
    engine: Engine, actor: Actor, org_unit: str | None = None
) -> list[GrievanceView]:
    """The grievances the actor may read, of ``org_unit``'s subtree and the units above it
    (None: all), oldest first."""
    with translate_errors(), engine.connect() as conn:
        authorize(conn, actor, READ)  # Forbidden for a role that may never read one
        if org_unit is not None and _unit_pk(conn, org_unit) is None:
            # Nothing, as for a unit outside the scope: "does not exist" here would tell
            # which units exist to someone who may not see them.
            return []
        return readable(conn, actor, read_grievances(conn), org_unit)


def readable(
    conn: Connection, actor: Actor, views: Sequence[GrievanceView], org_unit: str | None
) -> list[GrievanceView]:
    """``views`` filtered to the actor's scope and to ``org_unit`` (module docstring)."""
    if org_unit is not None:
        _unit_id(conn, org_unit)
        with Session(conn) as session:
            below = set(org_subtree(session, org_unit))
        near = below | ancestors(conn, org_unit)
        views = [v for v in views if v.component in near]
    allowed: dict[str, bool] = {}
    for unit in {v.component for v in views}:
        try:
            authorize(conn, actor, READ, Subject(org_unit=unit))
            allowed[unit] = True
        except NotFound:
            allowed[unit] = False
    return [v for v in views if allowed[v.component]]


def show_grievance(engine: Engine, actor: Actor, grievance_id: int) -> GrievanceView:
    with translate_errors(), engine.connect() as conn:
        return _authorized(conn, actor, READ, grievance_id)


# --- helpers ----------------------------------------------------------------------------


def _authorized(
    conn: Connection, actor: Actor, operation: Operation, grievance_id: int
) -> GrievanceView:
    found = read_grievances(conn, grievance_id)
    if not found:
        authorize(conn, actor, operation, not_found=_missing(grievance_id))  # Forbidden first
        raise NotFound(_missing(grievance_id))
    view = found[0]
    subject = Subject(org_unit=view.component)
    authorize(conn, actor, operation, subject, not_found=_missing(grievance_id))
    return view


def _next(view: GrievanceView, status: GrievanceStatus, on: date, note: str) -> GrievanceStep:
    try:
        history = view.history.then(status, on, note.strip())
    except AgreementRuleError as exc:
        raise Conflict(f"grievance {view.id}: {exc}; nothing was changed") from None
    return history.current


def _step(conn: Connection, actor: Actor, grievance_id: int, step: GrievanceStep) -> None:
    conn.execute(
        insert(STEP).values(
            grievance_id=grievance_id,
            status=step.status.value,
            effective_on=step.on,
            note=step.note,
            recorded_by=actor.username if actor is not SYSTEM else "system",
            recorded_at=_now(),
        )
    )


def _no_unit(code: str) -> str:
    return f"org unit {code!r} does not exist"


def _unit_pk(conn: Connection, code: str) -> int | None:
    found = conn.scalar(select(OrgUnit.id).where(OrgUnit.code == code))
    return None if found is None else int(found)


def _unit_id(conn: Connection, code: str) -> int:
    found = _unit_pk(conn, code)
    if found is None:
        raise NotFound(_no_unit(code))
    return found


def _add_people(
    conn: Connection, grievance_id: int, component: str, day: date, employee_ids: Sequence[str]
) -> list[str]:
    """Link the employees; each must be in ``component``'s subtree on ``day`` (or, if not
    yet hired then, on their first day). Returns the HR ids newly linked."""
    wanted = list(dict.fromkeys(e.strip() for e in employee_ids if e.strip()))
    if not wanted:
        return []
    pks = dict(
        conn.execute(
            select(Employee.employee_id, Employee.id).where(Employee.employee_id.in_(wanted))
        ).all()
    )
    unknown = [e for e in wanted if e not in pks]
    if unknown:
        # The sentence of someone outside the unit (it is true of them too): "no employee"
        # would tell HR of one component who exists in another.
        raise ConfigError(
            f"employee {unknown[0]!r} is not in {component} on {day.isoformat()}; "
            "nothing was changed"
        )
    with Session(conn) as session:
        inside = set(org_subtree(session, component))
    have = set(
        conn.scalars(select(AFFECTED.c.employee_pk).where(AFFECTED.c.grievance_id == grievance_id))
    )
    added = []
    for employee_id in wanted:
        pk = pks[employee_id]
        if pk in have:
            continue
        unit = unit_on(conn, pk, day)
        if unit not in inside:
            raise ConfigError(
                f"employee {employee_id!r} is not in {component} on {day.isoformat()}; "
                "nothing was changed"
            )
        conn.execute(insert(AFFECTED).values(grievance_id=grievance_id, employee_pk=pk))
        added.append(employee_id)
    return added
