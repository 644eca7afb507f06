"""What the notice services share: who the actor may reach with an operation (their
grants' subtrees), who a directive holds today (the roster read as of the day, each org
unit and arrangement decided once by ``domain.notices.in_scope``), the notice tables, and
the audit record of a refused attempt.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, select

from dutystation.domain.access import SYSTEM, Actor, Operation, Relation, permits
from dutystation.domain.directive import Directive
from dutystation.domain.notices import component_of, in_scope, scope_day
from dutystation.domain.org import ancestor_chains
from dutystation.domain.vocabulary import Arrangement
from dutystation.errors import Conflict, Forbidden, NotFound
from dutystation.services.audit import Change, record
from dutystation.services.authorization import Subject, authorize
from dutystation.store.db import write_transaction
from dutystation.store.repositories import in_force
from dutystation.store.schema import Employee, EmployeeAssignment, OrgUnit
from dutystation.store.schema_notices import MailOutbox, Notice, NoticeRecipient

NOTICES = cast(Table, Notice.__table__)
RECIPIENTS = cast(Table, NoticeRecipient.__table__)
OUTBOX = cast(Table, MailOutbox.__table__)


@dataclass(frozen=True)
class Person:
    employee_pk: int
    email: str | None
    org_unit: str
    component: str


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def as_utc(value: datetime | None) -> datetime | None:
    """Stored times are UTC; SQLite hands them back without a zone."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- scope: who the actor may reach, who the directive holds ------------------------------


def scope_roots(actor: Actor, operation: Operation) -> frozenset[str] | None:
    """The org units whose subtrees the actor's grants for ``operation`` cover; None: the
    whole organisation. A whole-organisation request by a scoped actor reaches only these."""
    if actor is SYSTEM:
        return None
    roots: set[str] = set()
    for grant in actor.grants:
        if permits(operation, grant.role, Relation.IN_SCOPE):
            if grant.scope is None:
                return None
            roots.add(grant.scope)
    return frozenset(roots)


def org_chains(conn: Connection) -> dict[str, tuple[str, ...]]:
    """Every org unit's codes from the root down to itself (today's tree)."""
    units = conn.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.parent_id)).all()
    code_of = {uid: code for uid, code, _ in units}
    return ancestor_chains(
        {code: code_of[parent] if parent is not None else None for _, code, parent in units}
    )


def authorized_roots(
    conn: Connection,
    actor: Actor,
    operation: Operation,
    org_unit: str | None,
    chains: dict[str, tuple[str, ...]],
) -> frozenset[str] | None:
    """Check ``operation`` on ``org_unit`` (or the whole organisation) and return the roots
    of what the actor may reach with it."""
    if org_unit is None:
        authorize(conn, actor, operation)
        return scope_roots(actor, operation)
    not_found = f"org unit {org_unit!r} does not exist"
    authorize(conn, actor, operation, Subject(org_unit=org_unit), not_found=not_found)
    if org_unit not in chains:
        raise NotFound(not_found)
    return frozenset({org_unit})


def find_directive(directives: Iterable[Directive], ref: str) -> Directive:
    for directive in directives:
        if directive.ref == ref:
            return directive
    raise NotFound(f"no directive {ref!r} is in the policy files (give it as id@version)")


@contextlib.contextmanager
def refusals_recorded(engine: Engine, actor: Actor, attempt: Change) -> Iterator[None]:
    """A refused attempt (Forbidden, or NotFound: out of scope looks the same as missing)
    gets a "denied" audit record, written after the refused transaction rolled back."""
    try:
        yield
    except (Forbidden, NotFound) as refused:
        reason = "forbidden" if isinstance(refused, Forbidden) else "not_found"
        denied = Change(
            action=attempt.action,
            subject_type=attempt.subject_type,
            subject_id=attempt.subject_id,
            after={**(attempt.after or {}), "refused": reason},
            outcome="denied",
        )
        with write_transaction(engine) as conn:
            record(conn, actor, denied)
        raise


def in_scope_people(
    conn: Connection,
    directive: Directive,
    today: date,
    roots: frozenset[str] | None,
    chains: dict[str, tuple[str, ...]],
) -> list[Person]:
    """Everyone assigned today whom the directive holds, inside ``roots``."""
    day = scope_day(directive, today)
    if day is None:
        raise Conflict(f"directive {directive.ref} expired on {directive.expires}; it binds nobody")
    a = EmployeeAssignment
    rows = conn.execute(
        select(Employee.id, Employee.email, OrgUnit.code, a.arrangement)
        .select_from(a)
        .join(Employee, Employee.id == a.employee_pk)
        .join(OrgUnit, OrgUnit.id == a.org_unit_id)
        .where(in_force(today))
        .order_by(Employee.id)
    ).all()
    # The scope depends only on the unit and the arrangement: decide each pair once.
    decided: dict[tuple[str, str], bool] = {}
    people = []
    for employee_pk, email, unit, arrangement in rows:
        chain = chains.get(unit, (unit,))
        if roots is not None and roots.isdisjoint(chain):
            continue
        key = (unit, arrangement)
        if key not in decided:
            decided[key] = in_scope(directive, chain[::-1], Arrangement(arrangement), day)
        if decided[key]:
            address = (email or "").strip() or None
            people.append(Person(employee_pk, address, unit, component_of(chain)))
    return people


def employees_with(conn: Connection, directive_ref: str, *conditions: Any) -> set[int]:
    r, n = RECIPIENTS, NOTICES
    query = (
        select(r.c.employee_pk)
        .join(n, n.c.id == r.c.notice_id)
        .where(n.c.directive_ref == directive_ref, *conditions)
    )
    return set(conn.scalars(query))
