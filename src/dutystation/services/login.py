"""Signing in: a username and password (with lockout), or the claims of an OpenID Connect
ID token that the web layer has already verified.

Every failure gives the same sentence, whether the user is unknown, the password wrong,
the account locked or deactivated; an unknown user costs the same Argon2 verification
(against a dummy hash) as a known one. ``login_max_failures`` wrong passwords in a row lock
the account for ``login_lockout_minutes``; attempts while locked are refused without being
checked and do not extend the lock. Each attempt is audited ("login", allowed or denied)
with the reason, never the password.

The password is verified before the write transaction starts: Argon2 takes a good part of
a second by design, and holding the writers' lock meanwhile would stall every other change.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, update

from dutystation.domain.access import Actor
from dutystation.errors import ConfigError, NotAuthenticated
from dutystation.services import passwords
from dutystation.services.account_rows import (
    USER,
    actor_from_row,
    find_user,
    now_utc,
    utc_or_none,
)
from dutystation.services.audit import Change, record
from dutystation.settings import Settings
from dutystation.store.db import write_transaction

LOGIN_FAILED = (
    "sign-in failed: the username or password is wrong, or the account is locked; "
    "try again later or ask an administrator"
)
ANONYMOUS = "anonymous"


def authenticate(
    engine: Engine,
    username: str,
    password: str,
    *,
    settings: Settings,
    now: datetime | None = None,
    channel: str = "web",
) -> Actor:
    """The user ``username`` if ``password`` is theirs and the account may sign in; else
    ``NotAuthenticated`` with one sentence for every cause."""
    at = now_utc(now)
    with engine.connect() as conn:
        row = find_user(conn, username)
    locked_until = utc_or_none(row.locked_until) if row is not None else None
    if row is None:
        reason = "unknown_user"
    elif not row.active:
        reason = "deactivated"
    elif locked_until is not None and locked_until > at:
        reason = "locked"
    elif row.password_hash is None:
        reason = "no_password"
    else:
        reason = ""
    usable_hash = row.password_hash if row is not None and not reason else None
    if passwords.verify_password(usable_hash, password, settings) and row is not None:
        rehash = passwords.needs_rehash(row.password_hash, settings)
        # The cost settings were raised since this hash was made: upgrade it now that the
        # password is at hand (hashed before the write lock is taken).
        new_hash = passwords.hash_password(password, settings) if rehash else None
        return _signed_in(engine, row.id, new_hash, at, channel)
    with write_transaction(engine) as conn:
        after: dict[str, Any] = {"reason": reason or "wrong_password"}
        if row is not None and not reason:
            after.update(_count_failure(conn, row.id, settings, at))
        actor = Actor(user_id=None, username=ANONYMOUS, channel=channel)
        subject_id = row.username if row is not None else None
        change = Change("login", "user", subject_id, after=after, outcome="denied")
        record(conn, actor, change, now=at)
    raise NotAuthenticated(LOGIN_FAILED)


def actor_for_oidc_claims(
    engine: Engine,
    claims: Mapping[str, Any],
    *,
    settings: Settings,
    now: datetime | None = None,
    channel: str = "web",
) -> Actor:
    """The existing, active, unlocked user named by an ID token's claims. The token's
    signature, expiry and nonce are the web layer's to verify (Authlib); issuer and
    audience are checked again here. No account or role is ever created from claims."""
    if not (settings.oidc_issuer and settings.oidc_client_id):
        raise ConfigError("single sign-on is not configured (set oidc_issuer and oidc_client_id)")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else list(audience or [])
    name = claims.get(settings.oidc_username_claim)
    at = now_utc(now)
    row = None
    if (
        claims.get("iss") == settings.oidc_issuer
        and settings.oidc_client_id in audiences
        and isinstance(name, str)
    ):
        with engine.connect() as conn:
            row = find_user(conn, name)
    locked_until = utc_or_none(row.locked_until) if row is not None else None
    if row is not None and row.active and not (locked_until and locked_until > at):
        with write_transaction(engine) as conn:
            actor = actor_from_row(conn, row, channel)
            change = Change("login", "user", row.username, after={"via": "oidc"})
            record(conn, actor, change, now=at)
        return actor
    with write_transaction(engine) as conn:
        anonymous = Actor(user_id=None, username=ANONYMOUS, channel=channel)
        subject_id = row.username if row is not None else None
        change = Change("login", "user", subject_id, after={"via": "oidc"}, outcome="denied")
        record(conn, anonymous, change, now=at)
    raise NotAuthenticated(LOGIN_FAILED)


def _signed_in(
    engine: Engine, user_id: int, new_hash: str | None, at: datetime, channel: str
) -> Actor:
    with write_transaction(engine) as conn:
        values: dict[str, Any] = {"failed_logins": 0, "locked_until": None}
        if new_hash is not None:
            values["password_hash"] = new_hash
        conn.execute(update(USER).where(USER.c.id == user_id).values(**values))
        row = conn.execute(USER.select().where(USER.c.id == user_id)).one()
        actor = actor_from_row(conn, row, channel)
        after = {"via": "password", "rehashed": new_hash is not None}
        record(conn, actor, Change("login", "user", row.username, after=after), now=at)
    return actor


def _count_failure(
    conn: Connection, user_id: int, settings: Settings, at: datetime
) -> dict[str, Any]:
    """Add one failure (atomically: concurrent attempts all count) and lock the account
    when the count reaches the limit; the count starts again after the lock."""
    conn.execute(
        update(USER).where(USER.c.id == user_id).values(failed_logins=USER.c.failed_logins + 1)
    )
    failures = int(conn.execute(USER.select().where(USER.c.id == user_id)).one().failed_logins)
    if failures < settings.login_max_failures:
        return {"failed_logins": failures}
    until = at + timedelta(minutes=settings.login_lockout_minutes)
    conn.execute(
        update(USER).where(USER.c.id == user_id).values(failed_logins=0, locked_until=until)
    )
    return {"failed_logins": failures, "locked_until": until.isoformat()}
