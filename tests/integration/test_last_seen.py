"""Looking a session or an API token up on every request, on SQLite and PostgreSQL: the
actor it gives is the account as stored (every grant, in order); when it was last used is
written at most once per resolution, never through the writers' lock, so an authenticated
read neither writes on every request nor waits for an import; and what it may skip only
ever ends an idle session sooner. Time is passed in, never slept (except to bound a wait)."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from access_builders import build_organisation, fast_settings
from sqlalchemy import Engine, select

from dutystation.domain.access import Actor, Grant, Role
from dutystation.errors import NotAuthenticated
from dutystation.services import accounts, role_grants, sessions, tokens
from dutystation.settings import Settings
from dutystation.store.db import write_transaction
from dutystation.store.schema_access import UserSession

T0 = datetime(2025, 2, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fast_settings(tmp_path, session_idle_minutes=30, token_max_days=90)


@pytest.fixture
def eve(engine: Engine) -> Actor:
    """An auditor account (the administrator makes it)."""
    accounts.bootstrap_admin(engine, "root", now=T0)
    with engine.connect() as conn:
        admin = accounts.load_actor(conn, "root")
    accounts.create_user(engine, admin, "eve", grants=[Grant(Role.AUDITOR)], now=T0)
    with engine.connect() as conn:
        return accounts.load_actor(conn, "eve")


def test_a_token_and_a_session_act_as_the_account_with_all_its_grants(
    engine: Engine, settings: Settings, eve: Actor
) -> None:
    build_organisation(engine)
    with engine.connect() as conn:
        root = accounts.load_actor(conn, "root")
    for role, scope in ((Role.HR, "COMP-B"), (Role.LEADER, "COMP-A"), (Role.TMO, None)):
        role_grants.grant_role(engine, root, "eve", role, scope)
    with engine.connect() as conn:
        stored = accounts.load_actor(conn, "eve")
    assert len(stored.grants) == 4
    new = tokens.create_token(engine, eve, "eve", "export", days=30, settings=settings, now=T0)
    by_token = tokens.actor_for_token(engine, new.secret, now=T0)
    secret = sessions.start_session(engine, eve, settings=settings, now=T0).secret
    by_session = sessions.actor_for_session(engine, secret, settings=settings, now=T0)
    for found, channel in ((by_token, "api"), (by_session, "web")):
        assert found == dataclasses.replace(stored, channel=channel)
    accounts.create_user(engine, root, "bob", now=T0)  # no role at all (a service account)
    new = tokens.create_token(engine, root, "bob", "none", days=1, settings=settings, now=T0)
    assert tokens.actor_for_token(engine, new.secret, now=T0).grants == ()


def _last_used(engine: Engine, eve: Actor) -> datetime | None:
    [listed] = tokens.list_tokens(engine, eve, "eve")
    return listed.last_used_at


def test_a_token_records_its_use_at_most_once_in_five_minutes(
    engine: Engine, settings: Settings, eve: Actor
) -> None:
    new = tokens.create_token(engine, eve, "eve", "export", days=30, settings=settings, now=T0)
    assert _last_used(engine, eve) is None
    tokens.actor_for_token(engine, new.secret, now=T0 + timedelta(minutes=1))
    assert _last_used(engine, eve) == T0 + timedelta(minutes=1)
    for minutes in (2, 3, 5):  # within five minutes of the recorded use: no write
        tokens.actor_for_token(engine, new.secret, now=T0 + timedelta(minutes=minutes))
    assert _last_used(engine, eve) == T0 + timedelta(minutes=1)
    tokens.actor_for_token(engine, new.secret, now=T0 + timedelta(minutes=6))
    assert _last_used(engine, eve) == T0 + timedelta(minutes=6)


def test_a_session_records_its_use_once_a_minute_and_idles_out_from_the_last_record(
    engine: Engine, settings: Settings, eve: Actor
) -> None:
    secret = sessions.start_session(engine, eve, settings=settings, now=T0).secret

    def seen() -> datetime:
        with engine.connect() as conn:
            value = conn.scalar(select(UserSession.last_seen_at))
        assert value is not None
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def use(at: datetime) -> Actor:
        return sessions.actor_for_session(engine, secret, settings=settings, now=at)

    use(T0 + timedelta(seconds=30))
    assert seen() == T0  # less than a minute since the last record
    use(T0 + timedelta(seconds=61))
    assert seen() == T0 + timedelta(seconds=61)
    # Idle is counted from the recorded use: 30 minutes after it, the session has ended,
    # even though a request came 59 s after the record (it was not written).
    use(T0 + timedelta(seconds=61 + 59))
    with pytest.raises(NotAuthenticated, match="the session has ended"):
        use(T0 + timedelta(seconds=61 + 30 * 60 + 1))


def test_a_lookup_does_not_wait_for_a_writer_holding_the_lock(
    engine: Engine, settings: Settings, eve: Actor
) -> None:
    """An import holds the writers' lock (here for as long as the test likes): a token's
    request goes through at once rather than after the import; on SQLite, whose single
    writer is the import, its "last used" is skipped and written by a later request."""
    new = tokens.create_token(engine, eve, "eve", "export", days=30, settings=settings, now=T0)
    used_at = T0 + timedelta(minutes=1)
    with write_transaction(engine):
        started = time.monotonic()
        assert tokens.actor_for_token(engine, new.secret, now=used_at).username == "eve"
        assert time.monotonic() - started < 5  # the writers' wait is 30 s
    if engine.dialect.name == "sqlite":
        assert _last_used(engine, eve) is None
        tokens.actor_for_token(engine, new.secret, now=used_at)
    assert _last_used(engine, eve) == used_at
