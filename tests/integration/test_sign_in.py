"""Signing in on SQLite and PostgreSQL: passwords and lockout, web sessions (expiry, idle
timeout, sign-out, CSRF), API tokens (hashed, expiring, revocable) and OpenID Connect
claims. Time is passed in, never slept."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from access_builders import fast_settings
from sqlalchemy import Engine, select

from dutystation.domain.access import Actor, Grant, Role
from dutystation.errors import ConfigError, Forbidden, NotAuthenticated, NotFound
from dutystation.services import accounts, login, role_grants, sessions, tokens
from dutystation.settings import Settings
from dutystation.store.schema_access import ApiToken, AppUser, UserSession
from dutystation.store.schema_audit import AuditRecord

PASSWORD = "correct horse battery staple"
T0 = datetime(2025, 2, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fast_settings(
        tmp_path,
        login_max_failures=3,
        login_lockout_minutes=15,
        session_max_hours=8,
        session_idle_minutes=30,
        token_max_days=90,
    )


@pytest.fixture
def root(engine: Engine, settings: Settings) -> Actor:
    """An administrator, and ``eve`` (an auditor with a password) for signing in."""
    accounts.bootstrap_admin(engine, "root", now=T0)
    with engine.connect() as conn:
        admin = accounts.load_actor(conn, "root")
    accounts.create_user(engine, admin, "eve", grants=[Grant(Role.AUDITOR)], now=T0)
    accounts.set_password(engine, admin, "eve", PASSWORD, settings=settings, now=T0)
    return admin


def sign_in(engine: Engine, settings: Settings, password: str, at: datetime) -> Actor:
    return login.authenticate(engine, "eve", password, settings=settings, now=at)


def test_unknown_user_wrong_password_and_locked_account_get_one_answer(
    engine: Engine, settings: Settings, root: Actor
) -> None:
    assert sign_in(engine, settings, PASSWORD, T0).grants == (Grant(Role.AUDITOR),)
    answers = set()
    for username, password in (("nobody", PASSWORD), ("eve", "wrong"), ("root", PASSWORD)):
        with pytest.raises(NotAuthenticated) as caught:
            login.authenticate(engine, username, password, settings=settings, now=T0)
        answers.add(str(caught.value))
    accounts.lock_user(engine, root, "eve", now=T0)
    with pytest.raises(NotAuthenticated) as caught:
        sign_in(engine, settings, PASSWORD, T0)
    answers.add(str(caught.value))
    assert answers == {login.LOGIN_FAILED}
    with engine.connect() as conn:
        denied = conn.execute(
            select(AuditRecord.after).where(AuditRecord.outcome == "denied")
        ).scalars().all()  # fmt: skip
    reasons = [d.split('"reason":"')[1].split('"')[0] for d in denied]
    assert reasons == ["unknown_user", "wrong_password", "no_password", "locked"]


def test_failures_in_a_row_lock_the_account_until_the_lockout_ends(
    engine: Engine, settings: Settings, root: Actor
) -> None:
    for minute in range(3):
        with pytest.raises(NotAuthenticated):
            sign_in(engine, settings, "guess", T0 + timedelta(minutes=minute))
    # Locked now: even the right password is refused, and trying does not extend the lock.
    with pytest.raises(NotAuthenticated):
        sign_in(engine, settings, PASSWORD, T0 + timedelta(minutes=10))
    with engine.connect() as conn:
        locked_until = conn.scalar(select(AppUser.locked_until).where(AppUser.username == "eve"))
    assert locked_until is not None
    assert locked_until.replace(tzinfo=UTC) == T0 + timedelta(minutes=2 + 15)
    assert sign_in(engine, settings, PASSWORD, T0 + timedelta(minutes=17)).username == "eve"
    # The count started again: two more failures do not lock.
    for minute in (18, 19):
        with pytest.raises(NotAuthenticated):
            sign_in(engine, settings, "guess", T0 + timedelta(minutes=minute))
    assert sign_in(engine, settings, PASSWORD, T0 + timedelta(minutes=20)).username == "eve"


def test_an_administrator_unlock_lifts_a_lockout(
    engine: Engine, settings: Settings, root: Actor
) -> None:
    for _ in range(3):
        with pytest.raises(NotAuthenticated):
            sign_in(engine, settings, "guess", T0)
    accounts.unlock_user(engine, root, "eve", now=T0)
    assert sign_in(engine, settings, PASSWORD, T0).username == "eve"


def test_an_unknown_user_takes_as_long_to_refuse_as_a_wrong_password(
    engine: Engine, tmp_path: Path, root: Actor
) -> None:
    production = Settings(data_dir=tmp_path)  # 64 MiB, 3 passes
    accounts.set_password(engine, root, "eve", PASSWORD, settings=production)
    timings: dict[str, float] = {}
    for username in ("nobody", "eve", "nobody", "eve"):  # the first call makes the dummy
        started = time.perf_counter()
        with pytest.raises(NotAuthenticated):
            login.authenticate(engine, username, "wrong", settings=production, now=T0)
        timings[username] = time.perf_counter() - started
    # Both paid for one Argon2 verification at the same cost, not a dictionary lookup.
    assert timings["nobody"] > 0.5 * timings["eve"] > 0.01, timings


def test_raising_the_hash_cost_upgrades_a_hash_at_the_next_sign_in(
    engine: Engine, settings: Settings, root: Actor, tmp_path: Path
) -> None:
    stronger = fast_settings(tmp_path, password_hash_memory_kib=2048)
    login.authenticate(engine, "eve", PASSWORD, settings=stronger, now=T0)
    with engine.connect() as conn:
        stored = conn.scalar(select(AppUser.password_hash).where(AppUser.username == "eve"))
    assert stored is not None and "m=2048" in stored
    assert sign_in(engine, settings, PASSWORD, T0).username == "eve"  # still verifies


def test_a_session_ends_when_idle_expired_signed_out_or_its_user_deactivated(
    engine: Engine, settings: Settings, root: Actor
) -> None:
    eve = sign_in(engine, settings, PASSWORD, T0)

    def start() -> str:
        return sessions.start_session(engine, eve, settings=settings, now=T0).secret

    def lookup(secret: str, at: datetime) -> Actor:
        return sessions.actor_for_session(engine, secret, settings=settings, now=at)

    idle = start()
    assert lookup(idle, T0 + timedelta(minutes=29)).channel == "web"
    with pytest.raises(NotAuthenticated, match="the session has ended; sign in again"):
        lookup(idle, T0 + timedelta(minutes=29 + 31))
    # Active all along, it still ends session_max_hours after sign-in.
    busy = start()
    at = T0
    while at < T0 + timedelta(hours=8) - timedelta(minutes=20):
        at += timedelta(minutes=20)
        lookup(busy, at)
    with pytest.raises(NotAuthenticated):
        lookup(busy, T0 + timedelta(hours=8))
    out = start()
    sessions.end_session(engine, out, now=T0)
    with pytest.raises(NotAuthenticated):
        lookup(out, T0)
    gone = start()
    accounts.deactivate_user(engine, root, "eve", now=T0)
    with pytest.raises(NotAuthenticated):
        lookup(gone, T0)


def test_sessions_are_stored_hashed_and_check_their_csrf_token(
    engine: Engine, settings: Settings, root: Actor
) -> None:
    eve = sign_in(engine, settings, PASSWORD, T0)
    new = sessions.start_session(engine, eve, settings=settings, now=T0)
    with engine.connect() as conn:
        stored = conn.execute(select(UserSession.id, UserSession.csrf_hash)).one()
    assert stored.id == hashlib.sha256(new.secret.encode()).hexdigest()
    assert new.csrf_token not in stored.csrf_hash and new.secret != stored.id
    sessions.check_csrf(engine, new.secret, new.csrf_token)
    with pytest.raises(Forbidden, match="the form has expired"):
        sessions.check_csrf(engine, new.secret, "forged")
    with pytest.raises(NotAuthenticated):
        sessions.actor_for_session(engine, stored.id, settings=settings, now=T0)


def test_a_role_taken_away_is_gone_on_the_next_request(
    engine: Engine, settings: Settings, root: Actor
) -> None:
    new = tokens.create_token(engine, root, "eve", "report bot", days=7, settings=settings)
    assert tokens.actor_for_token(engine, new.secret).roles == {Role.AUDITOR}
    role_grants.grant_role(engine, root, "eve", Role.HR)
    role_grants.revoke_role(engine, root, "eve", Role.AUDITOR)
    assert tokens.actor_for_token(engine, new.secret).roles == {Role.HR}


def test_api_tokens_are_shown_once_stored_hashed_and_stop_at_expiry_or_revocation(
    engine: Engine, settings: Settings, root: Actor
) -> None:
    eve = sign_in(engine, settings, PASSWORD, T0)
    new = tokens.create_token(engine, eve, "eve", "export", days=30, settings=settings, now=T0)
    assert new.secret.startswith("dst_") and new.prefix == new.secret[:12]
    with engine.connect() as conn:
        stored = conn.execute(select(ApiToken.__table__)).one()
    assert new.secret not in {str(v) for v in stored}
    assert stored.token_hash == hashlib.sha256(new.secret.encode()).hexdigest()
    used = tokens.actor_for_token(engine, new.secret, now=T0 + timedelta(days=29))
    assert (used.username, used.channel) == ("eve", "api")
    with pytest.raises(NotAuthenticated, match="the API token is not valid"):
        tokens.actor_for_token(engine, new.secret, now=T0 + timedelta(days=30))
    [listed] = tokens.list_tokens(engine, eve, "eve")
    assert listed.last_used_at == T0 + timedelta(days=29)
    assert listed.state(T0 + timedelta(days=31)) == "expired"

    other = tokens.create_token(engine, root, "eve", "other", days=1, settings=settings, now=T0)
    tokens.revoke_token(engine, eve, other.id, now=T0)
    with pytest.raises(NotAuthenticated):
        tokens.actor_for_token(engine, other.secret, now=T0)
    with pytest.raises(NotAuthenticated):
        tokens.actor_for_token(engine, "dst_made-up", now=T0)
    with pytest.raises(ConfigError, match="a token lives 1 to 90 days"):
        tokens.create_token(engine, eve, "eve", "forever", days=365, settings=settings)


def test_locking_an_account_ends_its_tokens_for_good(
    engine: Engine, settings: Settings, root: Actor
) -> None:
    new = tokens.create_token(engine, root, "eve", "sync", days=7, settings=settings)
    accounts.lock_user(engine, root, "eve")
    accounts.unlock_user(engine, root, "eve")
    with pytest.raises(NotAuthenticated):
        tokens.actor_for_token(engine, new.secret)


def test_only_the_owner_or_an_administrator_sees_and_revokes_a_token(
    engine: Engine, settings: Settings, root: Actor
) -> None:
    accounts.create_user(engine, root, "mallory", grants=[Grant(Role.AUDITOR)])
    with engine.connect() as conn:
        mallory = accounts.load_actor(conn, "mallory")
    new = tokens.create_token(engine, root, "eve", "sync", days=7, settings=settings)
    # Someone else's token reads like a missing one; someone else's account is refused
    # before it is looked up, so existing and unknown usernames get the same answer.
    with pytest.raises(NotFound, match=f"no API token {new.id}"):
        tokens.revoke_token(engine, mallory, new.id)
    for username in ("eve", "nobody"):
        with pytest.raises(Forbidden, match=r"user 'mallory' may not user\.manage"):
            tokens.create_token(engine, mallory, username, "mine", days=7, settings=settings)
    assert [t.name for t in tokens.list_tokens(engine, root, "eve")] == ["sync"]


def test_openid_connect_claims_sign_in_an_existing_active_user_only(
    engine: Engine, tmp_path: Path, root: Actor
) -> None:
    claims = {"iss": "https://idp.example.gov", "aud": "dutystation", "preferred_username": "EVE"}
    unset = fast_settings(tmp_path)
    with pytest.raises(ConfigError, match="single sign-on is not configured"):
        login.actor_for_oidc_claims(engine, claims, settings=unset)
    sso = fast_settings(tmp_path, oidc_issuer=claims["iss"], oidc_client_id="dutystation")
    assert login.actor_for_oidc_claims(engine, claims, settings=sso).username == "eve"
    for bad in (
        {**claims, "aud": ["someone-else"]},
        {**claims, "iss": "https://evil.example"},
        {**claims, "preferred_username": "stranger"},
        {k: v for k, v in claims.items() if k != "preferred_username"},
    ):
        with pytest.raises(NotAuthenticated):
            login.actor_for_oidc_claims(engine, bad, settings=sso)
    with engine.connect() as conn:
        assert accounts.user_count(conn) == 2  # nobody was created from claims
