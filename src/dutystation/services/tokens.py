"""API tokens: bearer secrets for scripts and integrations, acting as the user they belong
to with that user's roles as stored at each request.

The secret is shown once, when the token is made, and stored only as its SHA-256 (it is
256 random bits, so a fast hash is enough). Every token expires: the lifetime is asked for
and may not exceed ``token_max_days``. A token ends when revoked, when it expires, and when
its user is locked or deactivated. Creating and revoking is audited; the secret never is.

Anyone may manage their own tokens (``ACCOUNT_SELF``); an administrator may manage the
tokens of the accounts in their scope (``USER_MANAGE``), e.g. for a service account.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Row, Table, bindparam, insert, select, update

from dutystation.domain.access import Actor, Operation
from dutystation.errors import ConfigError, Forbidden, NotAuthenticated, NotFound
from dutystation.services.account_rows import (
    USER,
    account_for,
    attempt,
    authorize_account,
    now_utc,
    utc,
    utc_or_none,
)
from dutystation.services.audit import Change, denials_recorded, record
from dutystation.services.last_seen import note_use
from dutystation.services.sessions import actor_with_grants, digest, with_user_and_grants
from dutystation.settings import Settings
from dutystation.store.db import reading, translate_errors, write_transaction
from dutystation.store.schema_access import ApiToken

TOKEN = cast(Table, ApiToken.__table__)
TOKEN_REFUSED = "the API token is not valid (unknown, expired or revoked)"  # noqa: S105
MARKER = "dst_"  # makes a leaked token easy to recognise (secret scanners, logs)
PREFIX_LENGTH = 12  # "dst_" and 8 characters of the secret: enough to tell tokens apart
# last_used_at is written at most this often (``last_seen``): it is only shown, so the
# list says when a token was last used to within these five minutes.
USED_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True)
class NewToken:
    id: int
    name: str
    secret: str  # shown once; not stored
    prefix: str
    expires_at: datetime


@dataclass(frozen=True)
class TokenInfo:
    id: int
    username: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "valid"


def _operation(actor: Actor, user_id: int) -> Operation:
    return Operation.ACCOUNT_SELF if user_id == actor.user_id else Operation.USER_MANAGE


def create_token(
    engine: Engine,
    actor: Actor,
    username: str,
    name: str,
    *,
    days: int,
    settings: Settings,
    now: datetime | None = None,
) -> NewToken:
    label = name.strip()
    if not label or len(label) > 100:
        raise ConfigError("give the token a name of 1 to 100 characters")
    if not 1 <= days <= settings.token_max_days:
        raise ConfigError(
            f"a token lives 1 to {settings.token_max_days} days (token_max_days), not {days}"
        )
    at = now_utc(now)
    secret = MARKER + secrets.token_urlsafe(32)
    expires = at + timedelta(days=days)
    with (
        denials_recorded(engine, actor, attempt("token.create", username)),
        write_transaction(engine) as conn,
    ):
        user = account_for(conn, actor, username, own=Operation.ACCOUNT_SELF)
        if not user.active:
            raise ConfigError(f"user {user.username!r} is deactivated")
        token_id = conn.execute(
            insert(TOKEN)
            .values(
                user_id=user.id,
                name=label,
                token_hash=digest(secret),
                prefix=secret[:PREFIX_LENGTH],
                created_at=at,
                expires_at=expires,
            )
            .returning(TOKEN.c.id)
        ).scalar_one()
        after = {"token_id": token_id, "name": label, "expires_at": expires.isoformat()}
        record(conn, actor, Change("token.create", "user", user.username, after=after), now=at)
    return NewToken(token_id, label, secret, secret[:PREFIX_LENGTH], expires)


def list_tokens(engine: Engine, actor: Actor, username: str) -> list[TokenInfo]:
    """The user's tokens, newest first (never their secrets)."""
    with denials_recorded(engine, actor, attempt("token.read", username)), engine.connect() as conn:
        user = account_for(conn, actor, username, Operation.USER_READ, Operation.ACCOUNT_SELF)
        rows = conn.execute(
            select(TOKEN).where(TOKEN.c.user_id == user.id).order_by(TOKEN.c.id.desc())
        ).all()
    return [_info(row, user.username) for row in rows]


def revoke_token(
    engine: Engine, actor: Actor, token_id: int, *, now: datetime | None = None
) -> TokenInfo:
    at = now_utc(now)
    missing = f"no API token {token_id}"
    with (
        denials_recorded(engine, actor, Change("token.revoke", "api_token", str(token_id))),
        write_transaction(engine) as conn,
    ):
        token = conn.execute(select(TOKEN).where(TOKEN.c.id == token_id)).first()
        if token is None:
            raise NotFound(missing)
        user = conn.execute(select(USER).where(USER.c.id == token.user_id)).one()
        try:
            authorize_account(conn, actor, user, _operation(actor, user.id))
        except (NotFound, Forbidden):
            # Someone else's token reads exactly like one that does not exist.
            raise NotFound(missing) from None
        if token.revoked_at is None:
            conn.execute(update(TOKEN).where(TOKEN.c.id == token_id).values(revoked_at=at))
            after = {"user": user.username, "name": token.name}
            change = Change("token.revoke", "api_token", str(token_id), after=after)
            record(conn, actor, change, now=at)
        row = conn.execute(select(TOKEN).where(TOKEN.c.id == token_id)).one()
    return _info(row, user.username)


def actor_for_token(
    engine: Engine, secret: str, *, now: datetime | None = None, channel: str = "api"
) -> Actor:
    """The user a bearer token acts for, with their grants as stored now;
    ``NotAuthenticated`` (one sentence) if it is unknown, expired or revoked, or its user is
    deactivated. Read afresh on every request: a revocation counts from the next one."""
    at = now_utc(now)
    with translate_errors(), reading(engine) as conn:
        rows = conn.execute(_TOKEN_USER, {"hash": digest(secret)}).all()
    found = rows[0] if rows else None
    if (
        found is None
        or found.token_revoked_at is not None
        or utc(found.token_expires_at) <= at
        or not found.active
    ):
        raise NotAuthenticated(TOKEN_REFUSED)
    actor = actor_with_grants(rows, channel)
    used = utc_or_none(found.token_last_used_at)
    if used is None or at - used >= USED_RESOLUTION:
        note_use(engine, TOKEN, found.token_id, TOKEN.c.last_used_at, at, USED_RESOLUTION)
    return actor


# Read on every request: built once.
_TOKEN_USER = with_user_and_grants(
    select(
        TOKEN.c.id.label("token_id"),
        TOKEN.c.expires_at.label("token_expires_at"),
        TOKEN.c.revoked_at.label("token_revoked_at"),
        TOKEN.c.last_used_at.label("token_last_used_at"),
    )
    .join_from(TOKEN, USER, USER.c.id == TOKEN.c.user_id)
    .where(TOKEN.c.token_hash == bindparam("hash"))
)


def _info(row: Row[Any], username: str) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        username=username,
        name=row.name,
        prefix=row.prefix,
        created_at=utc(row.created_at),
        expires_at=utc(row.expires_at),
        revoked_at=utc_or_none(row.revoked_at),
        last_used_at=utc_or_none(row.last_used_at),
    )
