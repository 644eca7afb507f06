"""Reading accounts and their grants, and the book-keeping every account change shares:
building the ``Actor`` a user acts as, authorising a change to an account, ending a
user's sessions and tokens. Used by ``accounts``, ``login``, ``sessions`` and ``tokens``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, select, update

from dutystation.domain.access import SYSTEM, Actor, Grant, Operation, Role, could_ever
from dutystation.errors import Forbidden, NotFound
from dutystation.services.audit import Change
from dutystation.services.authorization import Subject, authorize
from dutystation.store.schema import Employee, OrgUnit
from dutystation.store.schema_access import ApiToken, AppUser, RoleGrant, UserSession

USER = cast(Table, AppUser.__table__)
# An administrator's lock without an end date: until someone unlocks the account.
LOCKED_INDEFINITELY = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class UserInfo:
    """What ``list`` and ``show`` tell about an account (never its password hash)."""

    id: int
    username: str
    display_name: str
    email: str | None
    employee_id: str | None  # the HR id of the linked employee
    active: bool
    locked_until: datetime | None
    has_password: bool
    failed_logins: int
    created_at: datetime
    grants: tuple[Grant, ...]

    def state(self, now: datetime) -> str:
        if not self.active:
            return "deactivated"
        if self.locked_until is not None and self.locked_until > now:
            return "locked"
        return "active"


def utc(value: datetime) -> datetime:
    """An aware UTC datetime; SQLite hands timestamps back naive (they are stored in UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def now_utc(now: datetime | None) -> datetime:
    """``now`` (default: the clock) in UTC, to the microsecond both backends keep."""
    return utc(now or datetime.now(UTC))


def no_user(username: str) -> str:
    """The one sentence for a user that does not exist or that the actor may not see."""
    return f"no user {username!r}"


def find_user(conn: Connection, username: str) -> Row[Any] | None:
    return conn.execute(select(USER).where(USER.c.username == username.strip().lower())).first()


def require_user(conn: Connection, username: str) -> Row[Any]:
    row = find_user(conn, username)
    if row is None:
        raise NotFound(no_user(username))
    return row


def grants_of(conn: Connection, user_id: int) -> tuple[Grant, ...]:
    rows = conn.execute(
        select(RoleGrant.role, OrgUnit.code)
        .outerjoin(OrgUnit, OrgUnit.id == RoleGrant.scope_org_unit_id)
        .where(RoleGrant.user_id == user_id)
        .order_by(RoleGrant.role, OrgUnit.code)
    ).all()
    return tuple(Grant(Role(role), code) for role, code in rows)


def actor_from_row(conn: Connection, row: Row[Any], channel: str) -> Actor:
    return Actor(
        user_id=row.id,
        username=row.username,
        grants=grants_of(conn, row.id),
        employee_pk=row.employee_pk,
        channel=channel,
    )


def employee_id_of(conn: Connection, employee_pk: int | None) -> str | None:
    if employee_pk is None:
        return None
    found: str | None = conn.scalar(select(Employee.employee_id).where(Employee.id == employee_pk))
    return found


def account_for(
    conn: Connection,
    actor: Actor,
    username: str,
    operation: Operation = Operation.USER_MANAGE,
    own: Operation | None = None,
) -> Row[Any]:
    """The account ``username``, if ``actor`` may do ``operation`` to it (``own`` instead
    when it is the actor's own account). An actor whose roles never allow the operation is
    refused before the lookup, so the answer does not tell which usernames exist."""
    mine = username.strip().lower() == actor.username
    wanted = own if (mine and own is not None) else operation
    if actor is not SYSTEM and not could_ever(actor, wanted):
        raise Forbidden(f"user {actor.username!r} may not {wanted.value}")
    row = require_user(conn, username)
    authorize_account(conn, actor, row, wanted)
    return row


def authorize_account(
    conn: Connection, actor: Actor, row: Row[Any], operation: Operation = Operation.USER_MANAGE
) -> None:
    """May ``actor`` do ``operation`` to the account ``row``? One's own account is changed
    through ``ACCOUNT_SELF`` only: nobody grants themselves roles or unlocks themselves
    (separation of duties, NIST AC-5), so that is refused with a sentence that says so."""
    subject = Subject(user_id=row.id)
    if operation is Operation.USER_MANAGE and row.id == actor.user_id:
        raise Forbidden(
            "nobody may change their own account's roles or state; another administrator must"
        )
    authorize(conn, actor, operation, subject, not_found=no_user(row.username))


def attempt(action: str, username: str, **after: Any) -> Change:
    """What an account change tries to do, for the denial record if it is refused."""
    name = username.strip().lower()
    return Change(action=action, subject_type="user", subject_id=name, after=after or None)


def end_sessions(conn: Connection, user_id: int, now: datetime) -> int:
    """Revoke every open session of the user; returns how many."""
    result = conn.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount or 0


def end_tokens(conn: Connection, user_id: int, now: datetime) -> int:
    result = conn.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount or 0


def user_info(conn: Connection, row: Row[Any]) -> UserInfo:
    return UserInfo(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        email=row.email,
        employee_id=employee_id_of(conn, row.employee_pk),
        active=row.active,
        locked_until=utc_or_none(row.locked_until),
        has_password=row.password_hash is not None,
        failed_logins=row.failed_logins,
        created_at=utc(row.created_at),
        grants=grants_of(conn, row.id),
    )


def roles_text(grants: Iterable[Grant]) -> list[str]:
    return [g.role.value + (f"@{g.scope}" if g.scope else "") for g in grants]


def user_change(
    action: str,
    info: UserInfo,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> Change:
    return Change(
        action=action, subject_type="user", subject_id=info.username, before=before, after=after
    )
