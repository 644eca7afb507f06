"""RELIABILITY T09 with T08's second half: on PostgreSQL the application's role appends to
the disclosure ledger and reads it, and gets "permission denied" when it tries to change
or remove an entry — even one old enough to purge — or to switch the triggers off. The
purge is the tables' owner's job, and the application's role is told so in one sentence.
A real login role, a real connection as that role."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from access_builders import build_organisation
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from dutystation.domain.access import Actor, Grant, Role
from dutystation.errors import ConfigError
from dutystation.services.disclosure_ledger import person_disclosures, purge
from dutystation.services.disclosures import NatureKind, record_disclosure, stated
from dutystation.store.app_role import grant_app_role
from dutystation.store.db import make_engine, migrate, write_transaction

ADMIN = Actor(user_id=2, username="ada", grants=(Grant(Role.AGENCY_ADMIN),))


@pytest.fixture
def owner(scratch_postgres: str) -> Iterator[Engine]:
    engine = make_engine(scratch_postgres)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def app_url(owner: Engine, scratch_postgres: str) -> Iterator[str]:
    """A fresh login role granted what the application gets, and the URL to connect as it."""
    role, password = f"ds_app_{uuid.uuid4().hex[:12]}", secrets.token_hex(12)
    with owner.begin() as conn:
        conn.execute(text(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'"))
    statements = grant_app_role(owner, role)
    assert (
        sum("REVOKE UPDATE, DELETE, TRUNCATE" in s and "disclosure" in s for s in statements) == 2
    )
    try:
        yield (
            make_url(scratch_postgres)
            .set(username=role, password=password)
            .render_as_string(hide_password=False)
        )
    finally:
        with owner.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))


def _denied(engine: Engine, statement: str) -> str:
    with pytest.raises(DBAPIError) as caught, engine.begin() as conn:
        conn.execute(text(statement))
    return str(caught.value.orig).lower()


@pytest.mark.postgres
def test_the_application_role_appends_and_reads_but_may_not_change_the_ledger(
    owner: Engine, app_url: str
) -> None:
    org = build_organisation(owner)
    app = make_engine(app_url)
    try:
        with write_transaction(app) as conn:
            old = record_disclosure(
                conn,
                ADMIN,
                NatureKind.REPORT_EXPORT,
                "old",
                [org["W1"]],
                stated("audit"),
                now=datetime.now(UTC) - timedelta(days=6 * 366),
            )
            record_disclosure(
                conn, ADMIN, NatureKind.REPORT_EXPORT, "new", [org["W1"]], stated("x")
            )
        w1 = Actor(user_id=9, username="w1", grants=(Grant(Role.EMPLOYEE),), employee_pk=org["W1"])
        assert [e.nature for e in person_disclosures(app, w1).entries] == ["new", "old"]
        for statement in (
            f"UPDATE disclosure SET purpose = 'none' WHERE id = {old}",
            f"DELETE FROM disclosure_subject WHERE disclosure_id = {old}",
            f"DELETE FROM disclosure WHERE id = {old}",
            "TRUNCATE disclosure_subject, disclosure",
        ):
            assert "permission denied" in _denied(app, statement), statement
        for table in ("disclosure", "disclosure_subject"):
            assert "must be owner" in _denied(app, f"ALTER TABLE {table} DISABLE TRIGGER USER")
        with pytest.raises(ConfigError, match="run the purge connected as the tables' owner"):
            purge(app, ADMIN, 5)
        assert purge(app, ADMIN, 5, dry_run=True).disclosures == 1  # counting is reading
    finally:
        app.dispose()
    # The owner purges what is past its retention.
    assert purge(owner, ADMIN, 5).disclosures == 1
