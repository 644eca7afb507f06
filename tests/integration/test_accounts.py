"""Accounts and roles on SQLite and PostgreSQL: bootstrap, creation, scoped administration,
grants, locks, deactivation, and the audit trail each change leaves (never a secret)."""

from __future__ import annotations

from pathlib import Path

import pytest
from access_builders import build_organisation, fast_settings
from sqlalchemy import Engine, select

from dutystation.domain.access import Actor, Grant, Role
from dutystation.errors import ConfigError, Conflict, Forbidden, NotAuthenticated, NotFound
from dutystation.services import accounts, login, role_grants, sessions, tokens
from dutystation.settings import Settings
from dutystation.store.schema_access import AppUser
from dutystation.store.schema_audit import AuditRecord

PASSWORD = "correct horse battery staple"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return fast_settings(tmp_path)


@pytest.fixture
def org(engine: Engine) -> dict[str, int]:
    return build_organisation(engine)


def admin(engine: Engine) -> Actor:
    accounts.bootstrap_admin(engine, "root")
    return actor(engine, "root")


def actor(engine: Engine, username: str) -> Actor:
    with engine.connect() as conn:
        return accounts.load_actor(conn, username)


def audit_rows(engine: Engine) -> list[AuditRecord]:
    with engine.connect() as conn:
        rows = conn.execute(select(AuditRecord.__table__).order_by(AuditRecord.seq)).all()
    return list(rows)  # type: ignore[arg-type]


def test_the_first_administrator_is_bootstrapped_only_on_an_empty_store(engine: Engine) -> None:
    info = accounts.bootstrap_admin(engine, "Root", display_name="The Admin")
    assert (info.username, info.grants) == ("root", (Grant(Role.AGENCY_ADMIN),))
    with pytest.raises(Conflict, match="users exist already, so --bootstrap is refused"):
        accounts.bootstrap_admin(engine, "second")
    [row] = audit_rows(engine)
    assert (row.action, row.actor, row.subject_id) == ("user.bootstrap", "system", "root")


def test_every_account_change_is_audited_and_no_record_holds_a_secret(
    engine: Engine, org: dict[str, int], settings: Settings
) -> None:
    root = admin(engine)
    accounts.create_user(
        engine, root, "alice", employee_id="W2", grants=[Grant(Role.TMO, "COMP-A")]
    )
    accounts.set_password(engine, root, "alice", PASSWORD, settings=settings)
    new = tokens.create_token(engine, root, "alice", "nightly", days=30, settings=settings)
    signed_in = login.authenticate(engine, "alice", PASSWORD, settings=settings)
    session = sessions.start_session(engine, signed_in, settings=settings)
    role_grants.grant_role(engine, root, "alice", Role.LEADER, "TEAM-A2")
    role_grants.revoke_role(engine, root, "alice", Role.LEADER, "TEAM-A2")
    accounts.lock_user(engine, root, "alice")
    accounts.unlock_user(engine, root, "alice")
    accounts.deactivate_user(engine, root, "alice")

    rows = audit_rows(engine)
    assert [r.action for r in rows] == [
        "user.bootstrap", "user.create", "user.password", "token.create", "login",
        "session.start", "user.grant", "user.revoke", "user.lock", "user.unlock",
        "user.deactivate",
    ]  # fmt: skip
    assert all(r.outcome == "allowed" for r in rows)
    with engine.connect() as conn:
        stored_hash = conn.scalar(select(AppUser.password_hash).where(AppUser.username == "alice"))
    trail = " ".join(f"{r.before} {r.after}" for r in rows)
    for secret in (PASSWORD, stored_hash, new.secret, session.secret, session.csrf_token):
        assert secret and secret not in trail
    assert "argon2" not in trail
    grant = next(r for r in rows if r.action == "user.grant")
    assert '"roles":["tmo@COMP-A"]' in grant.before
    assert '"leader@TEAM-A2"' in grant.after


def test_passwords_are_stored_as_argon2id_hashes_and_short_ones_are_refused(
    engine: Engine, settings: Settings
) -> None:
    root = admin(engine)
    accounts.create_user(engine, root, "bob")
    accounts.set_password(engine, root, "bob", PASSWORD, settings=settings)
    with engine.connect() as conn:
        stored = conn.scalar(select(AppUser.password_hash).where(AppUser.username == "bob"))
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored
    with pytest.raises(ConfigError, match="at least 15 characters"):
        accounts.set_password(engine, root, "bob", "short one", settings=settings)
    lenient = fast_settings(settings.data_dir, password_min_length=8)
    accounts.create_user(engine, root, "robert-smith")
    with pytest.raises(ConfigError, match="may not be the username"):
        accounts.set_password(engine, root, "robert-smith", "Robert-Smith", settings=lenient)


def test_a_role_change_or_new_password_ends_the_users_sessions(
    engine: Engine, settings: Settings
) -> None:
    root = admin(engine)
    accounts.create_user(engine, root, "carol", grants=[Grant(Role.AUDITOR)])
    accounts.set_password(engine, root, "carol", PASSWORD, settings=settings)

    def signed_in() -> str:
        who = login.authenticate(engine, "carol", PASSWORD, settings=settings)
        return sessions.start_session(engine, who, settings=settings).secret

    for change in (
        lambda: role_grants.grant_role(engine, root, "carol", Role.HR),
        lambda: role_grants.revoke_role(engine, root, "carol", Role.AUDITOR),
        lambda: accounts.set_password(engine, root, "carol", PASSWORD + "!", settings=settings),
    ):
        secret = signed_in()
        assert sessions.actor_for_session(engine, secret, settings=settings).username == "carol"
        change()
        with pytest.raises(NotAuthenticated, match="the session has ended"):
            sessions.actor_for_session(engine, secret, settings=settings)
    # The last change set a new password: the old one no longer signs in.
    with pytest.raises(NotAuthenticated):
        login.authenticate(engine, "carol", PASSWORD, settings=settings)


def test_a_scoped_administrator_manages_only_accounts_and_roles_inside_their_subtree(
    engine: Engine, org: dict[str, int]
) -> None:
    root = admin(engine)
    accounts.create_user(engine, root, "admin-a", grants=[Grant(Role.AGENCY_ADMIN, "COMP-A")])
    scoped = actor(engine, "admin-a")
    accounts.create_user(engine, scoped, "w1", employee_id="W1", grants=[Grant(Role.EMPLOYEE)])
    role_grants.grant_role(engine, scoped, "w1", Role.TMO, "TEAM-A1")
    # An employee outside the subtree reads exactly like one that does not exist.
    for employee in ("B1", "NOBODY"):
        with pytest.raises(NotFound) as caught:
            accounts.create_user(engine, scoped, f"x-{employee.lower()}", employee_id=employee)
        assert str(caught.value) == f"no employee {employee!r}"
    with pytest.raises(NotFound, match="no org unit 'COMP-B'"):
        role_grants.grant_role(engine, scoped, "w1", Role.TMO, "COMP-B")
    with pytest.raises(Forbidden, match="only an administrator of the whole organisation"):
        role_grants.grant_role(engine, scoped, "w1", Role.HR)
    with pytest.raises(Forbidden, match="only an administrator of the whole organisation"):
        accounts.create_user(engine, scoped, "robot")
    accounts.create_user(engine, root, "b1", employee_id="B1")
    with pytest.raises(NotFound, match="no user 'b1'"):
        accounts.lock_user(engine, scoped, "b1")
    assert [u.username for u in accounts.list_users(engine, scoped)] == ["admin-a", "w1"]


def test_nobody_administers_their_own_account_and_refusals_are_audited(
    engine: Engine, settings: Settings
) -> None:
    root = admin(engine)
    with pytest.raises(Forbidden, match="nobody may change their own account's roles"):
        role_grants.grant_role(engine, root, "root", Role.HR)
    with pytest.raises(Forbidden):
        accounts.unlock_user(engine, root, "root")
    # One's own password is self-service (the command line needs no current password).
    accounts.set_password(engine, root, "root", PASSWORD, settings=settings)
    denied = [(r.action, r.outcome, r.subject_id) for r in audit_rows(engine)][1:3]
    assert denied == [("user.grant", "denied", "root"), ("user.unlock", "denied", "root")]
    web = Actor(root.user_id, "root", root.grants, channel="web")
    with pytest.raises(Forbidden, match="the current password is wrong"):
        accounts.set_password(engine, web, "root", PASSWORD + "2", settings=settings)
    accounts.set_password(
        engine, web, "root", PASSWORD + "2", settings=settings, current_password=PASSWORD
    )


def test_bad_input_is_one_sentence_and_changes_nothing(engine: Engine, org: dict[str, int]) -> None:
    root = admin(engine)
    accounts.create_user(engine, root, "dave", employee_id="W1")
    with pytest.raises(Conflict, match="a user named 'dave' exists already"):
        accounts.create_user(engine, root, "DAVE")
    with pytest.raises(Conflict, match="employee 'W1' is linked to another user already"):
        accounts.create_user(engine, root, "dave2", employee_id="W1")
    with pytest.raises(ConfigError, match="no role 'boss'; the roles are employee, supervisor"):
        role_grants.parse_role("boss")
    with pytest.raises(NotFound, match="no org unit 'NOPE'"):
        accounts.create_user(engine, root, "erin", grants=[Grant(Role.TMO, "NOPE")])
    with pytest.raises(ConfigError, match="username 'no spaces' is not valid"):
        accounts.create_user(engine, root, "no spaces")
    with pytest.raises(Conflict, match="holds the role employee already"):
        accounts.create_user(
            engine, root, "fay", grants=[Grant(Role.EMPLOYEE), Grant(Role.EMPLOYEE)]
        )
    assert [u.username for u in accounts.list_users(engine, root)] == ["dave", "root"]


def test_acting_users_are_loaded_with_their_grants_and_only_while_active(
    engine: Engine, org: dict[str, int]
) -> None:
    root = admin(engine)
    grants = [Grant(Role.SUPERVISOR, "COMP-B"), Grant(Role.TMO, "COMP-A")]
    accounts.create_user(engine, root, "gil", employee_id="DIR", grants=grants)
    gil = actor(engine, "GIL")
    assert gil.employee_pk == org["DIR"]
    # A supervisor grant has no scope of its own: its scope is the reports.
    assert set(gil.grants) == {Grant(Role.SUPERVISOR), Grant(Role.TMO, "COMP-A")}
    accounts.lock_user(engine, root, "gil")
    assert actor(engine, "gil").username == "gil"  # a lock guards sign-in, not the CLI
    accounts.deactivate_user(engine, root, "gil")
    for name in ("gil", "nobody"):
        with pytest.raises(NotFound, match=f"no active user '{name}'"):
            actor(engine, name)
