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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Engine, Table, insert, select, update

from dutystation.domain.access import Actor
from dutystation.errors import Forbidden, NotAuthenticated
from dutystation.services.account_rows import USER, actor_from_row, now_utc, utc
from dutystation.services.audit import Change, record
from dutystation.settings import Settings
from dutystation.store.db import write_transaction
from dutystation.store.schema_access import UserSession

SESSION = cast(Table, UserSession.__table__)
SESSION_ENDED = "the session has ended; sign in again"
SECRET_BYTES = 32
# last_seen_at is written at most this often, not on every request: each write takes the
# writers' lock. The idle timeout is therefore exact to within this much.
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
    user was deactivated."""
    at = now_utc(now)
    idle = timedelta(minutes=settings.session_idle_minutes)
    with engine.connect() as conn:
        session = conn.execute(select(SESSION).where(SESSION.c.id == digest(secret))).first()
        if session is None:
            raise NotAuthenticated(SESSION_ENDED)
        user = conn.execute(select(USER).where(USER.c.id == session.user_id)).one()
        seen = utc(session.last_seen_at)
        if (
            session.revoked_at is not None
            or utc(session.expires_at) <= at
            or at - seen > idle
            or not user.active
        ):
            raise NotAuthenticated(SESSION_ENDED)
        actor = actor_from_row(conn, user, channel)
    if at - seen >= SEEN_RESOLUTION:
        with write_transaction(engine) as conn:
            conn.execute(update(SESSION).where(SESSION.c.id == session.id).values(last_seen_at=at))
    return actor


def check_csrf(engine: Engine, secret: str, csrf_token: str) -> None:
    """Refuse a state-changing request whose CSRF token is not the session's."""
    with engine.connect() as conn:
        stored = conn.scalar(select(SESSION.c.csrf_hash).where(SESSION.c.id == digest(secret)))
    if stored is None or not hmac.compare_digest(stored, digest(csrf_token)):
        raise Forbidden("the form has expired; reload the page and try again")


def end_session(engine: Engine, secret: str, *, now: datetime | None = None) -> None:
    """Sign out: the session can no longer be used. Unknown secrets are ignored."""
    at = now_utc(now)
    with write_transaction(engine) as conn:
        session = conn.execute(select(SESSION).where(SESSION.c.id == digest(secret))).first()
        if session is None or session.revoked_at is not None:
            return
        conn.execute(update(SESSION).where(SESSION.c.id == session.id).values(revoked_at=at))
        user = conn.execute(select(USER).where(USER.c.id == session.user_id)).one()
        actor = actor_from_row(conn, user, "web")
        record(conn, actor, Change("session.end", "user", user.username), now=at)
