"""Web sessions: started after sign-in, looked up on every request, ended by signing out,
by expiry, by idleness, or by any change to the user's roles, password, lock or state.

The browser holds a 256-bit random secret (the cookie) and a CSRF token; the store holds
their SHA-256 only, so a copy of the database signs nobody in. A session ends
``session_max_hours`` after it started however active it is, and after
``session_idle_minutes`` without a request. The actor is rebuilt from the store on every
lookup, so a role taken away is gone on the next request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Row, Select, Table, bindparam, insert, select, update

from dutystation.domain.access import Actor, Grant, Role
from dutystation.errors import Forbidden, NotAuthenticated
from dutystation.services.account_rows import USER, actor_from_row, now_utc, utc
from dutystation.services.audit import Change, record
from dutystation.services.last_seen import note_use
from dutystation.settings import Settings
from dutystation.store.db import reading, translate_errors, write_transaction
from dutystation.store.schema import OrgUnit
from dutystation.store.schema_access import RoleGrant, UserSession

SESSION = cast(Table, UserSession.__table__)
GRANT = cast(Table, RoleGrant.__table__)
UNIT = cast(Table, OrgUnit.__table__)
SESSION_ENDED = "the session has ended; sign in again"
SECRET_BYTES = 32
# last_seen_at is written at most this often, not on every request (``last_seen``): a
# session may therefore end up to this much before its idle timeout, never after.
SEEN_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class NewSession:
    """Given to the browser once: neither secret can be read back from the store."""

    secret: str  # the session cookie's value
    csrf_token: str  # echoed in every form and state-changing request
    expires_at: datetime


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(
    engine: Engine, actor: Actor, *, settings: Settings, now: datetime | None = None
) -> NewSession:
    """A session for ``actor``, who has just signed in (``login.authenticate``)."""
    if actor.user_id is None:
        raise NotAuthenticated(SESSION_ENDED)
    at = now_utc(now)
    secret, csrf = secrets.token_urlsafe(SECRET_BYTES), secrets.token_urlsafe(SECRET_BYTES)
    expires = at + timedelta(hours=settings.session_max_hours)
    with write_transaction(engine) as conn:
        conn.execute(
            insert(SESSION).values(
                id=digest(secret),
                user_id=actor.user_id,
                created_at=at,
                expires_at=expires,
                last_seen_at=at,
                revoked_at=None,
                csrf_hash=digest(csrf),
            )
        )
        after = {"expires_at": expires.isoformat()}
        change = Change("session.start", "user", actor.username, after=after)
        record(conn, actor, change, now=at)
    return NewSession(secret=secret, csrf_token=csrf, expires_at=expires)


def actor_for_session(
    engine: Engine,
    secret: str,
    *,
    settings: Settings,
    now: datetime | None = None,
    channel: str = "web",
) -> Actor:
    """The user of a live session, with their grants as stored now; ``NotAuthenticated``
    (one sentence) if the session is unknown, revoked, expired or idle too long, or the
    user was deactivated. Read afresh on every request: a sign-out, a revocation or a
    role taken away counts from the next one."""
    at = now_utc(now)
    idle = timedelta(minutes=settings.session_idle_minutes)
    with translate_errors(), reading(engine) as conn:
        rows = conn.execute(_SESSION_USER, {"id": digest(secret)}).all()
    if not rows:
        raise NotAuthenticated(SESSION_ENDED)
    found = rows[0]
    seen = utc(found.session_last_seen_at)
    if (
        found.session_revoked_at is not None
        or utc(found.session_expires_at) <= at
        or at - seen > idle
        or not found.active
    ):
        raise NotAuthenticated(SESSION_ENDED)
    actor = actor_with_grants(rows, channel)
    if at - seen >= SEEN_RESOLUTION:
        note_use(engine, SESSION, found.session_id, SESSION.c.last_seen_at, at, SEEN_RESOLUTION)
    return actor


def with_user_and_grants(lookup: Select[Any]) -> Select[Any]:
    """``lookup`` (a session or token by its hash, joined to its user) with what
    ``actor_with_grants`` needs: the user, and one row per grant (one row if none). Every
    request makes this lookup: one query rather than three (the row, the user, the
    grants)."""
    return (
        lookup.add_columns(
            USER.c.id,
            USER.c.username,
            USER.c.employee_pk,
            USER.c.active,
            GRANT.c.role.label("grant_role"),
            UNIT.c.code.label("grant_scope"),
        )
        .outerjoin(GRANT, GRANT.c.user_id == USER.c.id)
        .outerjoin(UNIT, UNIT.c.id == GRANT.c.scope_org_unit_id)
        .order_by(GRANT.c.role, UNIT.c.code)
    )


def actor_with_grants(rows: Sequence[Row[Any]], channel: str) -> Actor:
    """The actor of a ``with_user_and_grants`` lookup's rows, as
    ``account_rows.actor_from_row`` builds it (grants in the same order)."""
    user = rows[0]
    grants = tuple(Grant(Role(r.grant_role), r.grant_scope) for r in rows if r.grant_role)
    return Actor(
        user_id=user.id,
        username=user.username,
        grants=grants,
        employee_pk=user.employee_pk,
        channel=channel,
    )


# Read on every request: built once.
_SESSION_USER = with_user_and_grants(
    select(
        SESSION.c.id.label("session_id"),
        SESSION.c.expires_at.label("session_expires_at"),
        SESSION.c.last_seen_at.label("session_last_seen_at"),
        SESSION.c.revoked_at.label("session_revoked_at"),
    )
    .join_from(SESSION, USER, USER.c.id == SESSION.c.user_id)
    .where(SESSION.c.id == bindparam("id"))
)


def check_csrf(engine: Engine, secret: str, csrf_token: str) -> None:
    """Refuse a state-changing request whose CSRF token is not the session's."""
    with engine.connect() as conn:
        stored = conn.scalar(select(SESSION.c.csrf_hash).where(SESSION.c.id == digest(secret)))
    if stored is None or not hmac.compare_digest(stored, digest(csrf_token)):
        raise Forbidden("the form has expired; reload the page and try again")


def end_session(
    engine: Engine, secret: str, *, now: datetime | None = None, channel: str = "web"
) -> None:
    """Sign out: the session can no longer be used. Unknown secrets are ignored.
    ``channel``: where the sign-out came from, for the audit record."""
    at = now_utc(now)
    with write_transaction(engine) as conn:
        session = conn.execute(select(SESSION).where(SESSION.c.id == digest(secret))).first()
        if session is None or session.revoked_at is not None:
            return
        conn.execute(update(SESSION).where(SESSION.c.id == session.id).values(revoked_at=at))
        user = conn.execute(select(USER).where(USER.c.id == session.user_id)).one()
        actor = actor_from_row(conn, user, channel)
        record(conn, actor, Change("session.end", "user", user.username), now=at)
