"""Accounts: create, bootstrap, link to an employee, set passwords, lock, unlock,
deactivate, list and show; and ``load_actor``, the user a CLI command acts as. Roles are
granted and revoked in ``role_grants``; sign-in is ``login``, then ``sessions`` and
``tokens``.

Every change is authorised (``Operation.USER_MANAGE``; one's own password through
``ACCOUNT_SELF``) and audited in the transaction that makes it. The audit record never holds
a password, a hash, a token or a session secret. A change to roles, a password, a lock or
deactivation ends the user's web sessions, so it takes effect on their next request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, insert, select, update

from dutystation.domain.access import SYSTEM, Actor, Grant, Operation, Role, could_ever
from dutystation.errors import ConfigError, Conflict, Forbidden, NotFound
from dutystation.services import passwords
from dutystation.services.account_rows import (
    LOCKED_INDEFINITELY,
    USER,
    UserInfo,
    account_for,
    actor_from_row,
    attempt,
    authorize_account,
    end_sessions,
    end_tokens,
    find_user,
    now_utc,
    roles_text,
    user_change,
    user_info,
    utc,
)
from dutystation.services.audit import Change, denials_recorded, record
from dutystation.services.authorization import Subject, authorize
from dutystation.services.role_grants import add_grant, require_whole_organisation
from dutystation.settings import Settings
from dutystation.store.db import write_transaction
from dutystation.store.schema import Employee
from dutystation.store.schema_access import RoleGrant

USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
BOOTSTRAP_ROLE = Role.AGENCY_ADMIN


def normalise_username(text: str) -> str:
    name = text.strip().lower()
    if not USERNAME.fullmatch(name):
        raise ConfigError(
            f"username {text!r} is not valid: use 1 to 64 letters, digits and . _ @ -, "
            "starting with a letter or digit"
        )
    return name


def load_actor(conn: Connection, username: str, channel: str = "cli") -> Actor:
    """The active user ``username`` with their grants. A lock does not stop this: locks
    guard password sign-in, and the command line is how an administrator unlocks."""
    row = find_user(conn, username)
    if row is None or not row.active:
        raise NotFound(f"no active user {username!r}")
    return actor_from_row(conn, row, channel)


def user_count(conn: Connection) -> int:
    return int(conn.scalar(select(func.count()).select_from(USER)) or 0)


def create_user(
    engine: Engine,
    actor: Actor,
    username: str,
    *,
    display_name: str | None = None,
    email: str | None = None,
    employee_id: str | None = None,
    grants: Sequence[Grant] = (),
    now: datetime | None = None,
) -> UserInfo:
    name = normalise_username(username)
    at = now_utc(now)
    with (
        denials_recorded(engine, actor, attempt("user.create", username)),
        write_transaction(engine) as conn,
    ):
        # Before any lookup: otherwise the answer (taken, no such employee) would tell
        # someone who may never create accounts which usernames and HR ids exist.
        if actor is not SYSTEM and not could_ever(actor, Operation.USER_MANAGE):
            raise Forbidden(f"user {actor.username!r} may not {Operation.USER_MANAGE.value}")
        if find_user(conn, name) is not None:
            raise Conflict(f"a user named {name!r} exists already")
        if employee_id:
            pk: int | None = _employee_in_scope(conn, actor, employee_id, None)
        else:
            require_whole_organisation(actor, "create an account linked to no employee")
            pk = None
        user_id = _insert_user(conn, name, display_name, email, pk, at)
        for grant in grants:
            add_grant(conn, actor, user_id, grant)
        info = user_info(conn, _row(conn, user_id))
        record(conn, actor, user_change("user.create", info, after=_public(info)), now=at)
    return info


def bootstrap_admin(
    engine: Engine,
    username: str,
    *,
    display_name: str | None = None,
    email: str | None = None,
    now: datetime | None = None,
) -> UserInfo:
    """The first administrator, on a store with no users at all (refused otherwise)."""
    name = normalise_username(username)
    at = now_utc(now)
    with write_transaction(engine) as conn:
        if user_count(conn) > 0:
            raise Conflict(
                "users exist already, so --bootstrap is refused; an administrator creates "
                "further users with --as"
            )
        user_id = _insert_user(conn, name, display_name, email, None, at)
        conn.execute(insert(RoleGrant).values(user_id=user_id, role=BOOTSTRAP_ROLE.value))
        info = user_info(conn, _row(conn, user_id))
        record(conn, SYSTEM, user_change("user.bootstrap", info, after=_public(info)), now=at)
    return info


def link_employee(engine: Engine, actor: Actor, username: str, employee_id: str | None) -> UserInfo:
    """Link the account to the employee with HR id ``employee_id`` (None: unlink)."""
    with (
        denials_recorded(engine, actor, attempt("user.link", username)),
        write_transaction(engine) as conn,
    ):
        row = account_for(conn, actor, username)
        before = user_info(conn, row)
        if employee_id:
            pk = _employee_in_scope(conn, actor, employee_id, row.id)
        else:
            require_whole_organisation(actor, "unlink an account from its employee")
            pk = None
        conn.execute(update(USER).where(USER.c.id == row.id).values(employee_pk=pk))
        after = user_info(conn, _row(conn, row.id))
        change = user_change(
            "user.link",
            after,
            before={"employee_id": before.employee_id},
            after={"employee_id": after.employee_id},
        )
        record(conn, actor, change)
    return after


def set_password(
    engine: Engine,
    actor: Actor,
    username: str,
    password: str,
    *,
    settings: Settings,
    current_password: str | None = None,
    now: datetime | None = None,
) -> None:
    """Set the account's password. Changing one's own outside the command line needs the
    current one. Ends the user's sessions (and hashes before taking the write lock)."""
    name = username.strip().lower()
    passwords.check_policy(password, name, settings)
    new_hash = passwords.hash_password(password, settings)
    at = now_utc(now)
    with (
        denials_recorded(engine, actor, attempt("user.password", username)),
        write_transaction(engine) as conn,
    ):
        row = account_for(conn, actor, username, own=Operation.ACCOUNT_SELF)
        own = row.id == actor.user_id
        if (
            own
            and actor.channel != "cli"
            and not passwords.verify_password(row.password_hash, current_password or "", settings)
        ):
            raise Forbidden("the current password is wrong")
        conn.execute(update(USER).where(USER.c.id == row.id).values(password_hash=new_hash))
        ended = end_sessions(conn, row.id, at)
        change = user_change("user.password", user_info(conn, row), after={"sessions_ended": ended})
        record(conn, actor, change, now=at)


def lock_user(
    engine: Engine,
    actor: Actor,
    username: str,
    *,
    until: datetime | None = None,
    now: datetime | None = None,
) -> UserInfo:
    """Lock the account (until ``until``, or until unlocked) and end its web sessions and
    API tokens: a lock is effective everywhere at once. Tokens stay revoked on unlock."""
    at = now_utc(now)
    end = utc(until) if until is not None else LOCKED_INDEFINITELY
    if end <= at:
        raise ConfigError("the lock must end in the future")
    return _set_state(engine, actor, username, "user.lock", at, locked_until=end)


def unlock_user(
    engine: Engine, actor: Actor, username: str, *, now: datetime | None = None
) -> UserInfo:
    at = now_utc(now)
    return _set_state(engine, actor, username, "user.unlock", at, locked_until=None)


def deactivate_user(
    engine: Engine, actor: Actor, username: str, *, now: datetime | None = None
) -> UserInfo:
    """The account can no longer sign in or act; its history stays (the audit trail names
    it). Its sessions and tokens end."""
    at = now_utc(now)
    return _set_state(engine, actor, username, "user.deactivate", at, active=False)


def list_users(engine: Engine, actor: Actor) -> list[UserInfo]:
    """The accounts the actor may read, by username."""
    tried = Change(action=Operation.USER_READ.value, subject_type="user")
    with denials_recorded(engine, actor, tried), engine.connect() as conn:
        authorize(conn, actor, Operation.USER_READ)
        rows = conn.execute(select(USER).order_by(USER.c.username)).all()
        return [user_info(conn, row) for row in rows if _may_read(conn, actor, row)]


def show_user(engine: Engine, actor: Actor, username: str) -> UserInfo:
    with denials_recorded(engine, actor, attempt("user.read", username)), engine.connect() as conn:
        row = account_for(conn, actor, username, Operation.USER_READ, Operation.ACCOUNT_SELF)
        return user_info(conn, row)


# --- helpers -------------------------------------------------------------------------


def _insert_user(
    conn: Connection,
    name: str,
    display_name: str | None,
    email: str | None,
    employee_pk: int | None,
    at: datetime,
) -> int:
    if find_user(conn, name) is not None:
        raise Conflict(f"a user named {name!r} exists already")
    new_id = conn.execute(
        insert(USER)
        .values(
            username=name,
            display_name=(display_name or name).strip(),
            email=email,
            employee_pk=employee_pk,
            password_hash=None,
            active=True,
            failed_logins=0,
            locked_until=None,
            created_at=at,
        )
        .returning(USER.c.id)
    ).scalar_one()
    return int(new_id)


def _row(conn: Connection, user_id: int) -> Row[Any]:
    return conn.execute(select(USER).where(USER.c.id == user_id)).one()


def _employee_in_scope(
    conn: Connection, actor: Actor, employee_id: str, user_id: int | None
) -> int:
    """The store key of the employee an account is to be linked to: one the actor may
    manage (out of scope reads as missing), linked to no other account."""
    missing = f"no employee {employee_id!r}"
    pk = conn.scalar(select(Employee.id).where(Employee.employee_id == employee_id))
    if pk is None:
        raise NotFound(missing)
    if _linked_elsewhere(conn, pk, user_id):
        raise Conflict(f"employee {employee_id!r} is linked to another user already")
    authorize(conn, actor, Operation.USER_MANAGE, Subject(employee_pk=pk), not_found=missing)
    return int(pk)


def _linked_elsewhere(conn: Connection, employee_pk: int, user_id: int | None) -> bool:
    query = select(USER.c.id).where(USER.c.employee_pk == employee_pk)
    if user_id is not None:
        query = query.where(USER.c.id != user_id)
    return conn.scalar(query) is not None


def _set_state(
    engine: Engine, actor: Actor, username: str, action: str, at: datetime, **values: Any
) -> UserInfo:
    with (
        denials_recorded(engine, actor, attempt(action, username)),
        write_transaction(engine) as conn,
    ):
        row = account_for(conn, actor, username)
        before = user_info(conn, row)
        if "locked_until" in values and values["locked_until"] is None:
            values["failed_logins"] = 0
        conn.execute(update(USER).where(USER.c.id == row.id).values(**values))
        after = user_info(conn, _row(conn, row.id))
        ended = {"sessions_ended": 0, "tokens_ended": 0}
        if action != "user.unlock":
            ended["sessions_ended"] = end_sessions(conn, row.id, at)
            ended["tokens_ended"] = end_tokens(conn, row.id, at)
        change = user_change(action, after, before=_state(before), after={**_state(after), **ended})
        record(conn, actor, change, now=at)
    return after


def _may_read(conn: Connection, actor: Actor, row: Row[Any]) -> bool:
    if row.id == actor.user_id:
        return True
    try:
        authorize_account(conn, actor, row, Operation.USER_READ)
    except NotFound:
        return False
    return True


def _public(info: UserInfo) -> dict[str, Any]:
    return {
        "username": info.username,
        "display_name": info.display_name,
        "employee_id": info.employee_id,
        "roles": roles_text(info.grants),
    }


def _state(info: UserInfo) -> dict[str, Any]:
    locked = info.locked_until.isoformat() if info.locked_until else None
    return {"active": info.active, "locked_until": locked}
