"""Roles: granting and revoking a role over a scope, and who may do that.

A grant's scope is an org-unit code (that unit and everything below it) or none (the
whole organisation). Employee and supervisor grants have no scope of their own: an
employee's is their own record, a supervisor's the people reporting to them on the roster
(``services/authorization.py``). Only an
administrator of the whole organisation grants whole-organisation roles; an administrator
scoped to a unit grants roles over units inside it, to accounts inside it. A change of roles
ends the user's web sessions (it would take effect on the next request anyway, since every
request reloads the grants) and is audited with the roles before and after.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, insert, select

from dutystation.domain.access import SYSTEM, Actor, Grant, Operation, Relation, Role, permits
from dutystation.errors import ConfigError, Conflict, Forbidden, NotFound
from dutystation.services.account_rows import (
    UserInfo,
    account_for,
    attempt,
    end_sessions,
    grants_of,
    now_utc,
    roles_text,
    user_change,
    user_info,
)
from dutystation.services.audit import denials_recorded, record
from dutystation.services.authorization import Subject, authorize
from dutystation.store.db import write_transaction
from dutystation.store.schema import OrgUnit
from dutystation.store.schema_access import RoleGrant

# Roles without a scope of their own: an employee acts on their own record only, a
# supervisor on their reports as the roster says. A scope given with them is dropped.
UNSCOPED = frozenset({Role.EMPLOYEE, Role.SUPERVISOR})


def scoped(grant: Grant) -> Grant:
    return Grant(grant.role, None) if grant.role in UNSCOPED else grant


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise ConfigError(f"no role {text!r}; the roles are {roles}") from None


def grant_role(
    engine: Engine,
    actor: Actor,
    username: str,
    role: Role,
    scope: str | None = None,
    *,
    now: datetime | None = None,
) -> UserInfo:
    at = now_utc(now)
    with (
        denials_recorded(
            engine, actor, attempt("user.grant", username, role=role.value, scope=scope)
        ),
        write_transaction(engine) as conn,
    ):
        row = account_for(conn, actor, username)
        before = grants_of(conn, row.id)
        add_grant(conn, actor, row.id, Grant(role, scope))
        return _grants_changed(conn, actor, row, "user.grant", before, at)


def revoke_role(
    engine: Engine,
    actor: Actor,
    username: str,
    role: Role,
    scope: str | None = None,
    *,
    now: datetime | None = None,
) -> UserInfo:
    at = now_utc(now)
    with (
        denials_recorded(
            engine, actor, attempt("user.revoke", username, role=role.value, scope=scope)
        ),
        write_transaction(engine) as conn,
    ):
        row = account_for(conn, actor, username)
        before = grants_of(conn, row.id)
        grant = scoped(Grant(role, scope))
        if grant not in before:
            where = f" over {scope}" if grant.scope else ""
            raise NotFound(f"user {row.username!r} does not hold the role {role.value}{where}")
        authorize_scope(conn, actor, grant)
        unit_pk = scope_pk(conn, grant.scope)
        conn.execute(
            delete(RoleGrant).where(
                RoleGrant.user_id == row.id,
                RoleGrant.role == role.value,
                RoleGrant.scope_org_unit_id.is_(None)
                if unit_pk is None
                else RoleGrant.scope_org_unit_id == unit_pk,
            )
        )
        return _grants_changed(conn, actor, row, "user.revoke", before, at)


def scope_pk(conn: Connection, scope: str | None) -> int | None:
    if scope is None:
        return None
    found = conn.scalar(select(OrgUnit.id).where(OrgUnit.code == scope))
    if found is None:
        raise NotFound(f"no org unit {scope!r}")
    return int(found)


def authorize_scope(conn: Connection, actor: Actor, grant: Grant) -> None:
    """Only an administrator of the whole organisation grants whole-organisation roles; a
    scoped one grants (and revokes) roles over units inside their subtree."""
    if grant.role in UNSCOPED:
        return  # the account itself is in the actor's scope; that was checked
    if grant.scope is not None:
        authorize(
            conn,
            actor,
            Operation.USER_MANAGE,
            Subject(org_unit=grant.scope),
            not_found=f"no org unit {grant.scope!r}",
        )
        return
    require_whole_organisation(actor, "grant or revoke a role over the whole organisation")


def require_whole_organisation(actor: Actor, what: str) -> None:
    if actor is SYSTEM:
        return
    if not any(
        g.scope is None and permits(Operation.USER_MANAGE, g.role, Relation.IN_SCOPE)
        for g in actor.grants
    ):
        raise Forbidden(f"only an administrator of the whole organisation may {what}")


def add_grant(conn: Connection, actor: Actor, user_id: int, grant: Grant) -> None:
    grant = scoped(grant)
    unit_pk = scope_pk(conn, grant.scope)
    authorize_scope(conn, actor, grant)
    if grant in grants_of(conn, user_id):
        where = f" over {grant.scope}" if grant.scope else ""
        raise Conflict(f"the user holds the role {grant.role.value}{where} already")
    conn.execute(
        insert(RoleGrant).values(user_id=user_id, role=grant.role.value, scope_org_unit_id=unit_pk)
    )


def _grants_changed(
    conn: Connection,
    actor: Actor,
    row: Row[Any],
    action: str,
    before: tuple[Grant, ...],
    at: datetime,
) -> UserInfo:
    info = user_info(conn, row)
    ended = end_sessions(conn, row.id, at)
    change = user_change(
        action,
        info,
        before={"roles": roles_text(before)},
        after={"roles": roles_text(info.grants), "sessions_ended": ended},
    )
    record(conn, actor, change, now=at)
    return info
