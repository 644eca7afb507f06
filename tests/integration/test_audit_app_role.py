"""RELIABILITY T08, second half: on PostgreSQL the application connects as a role that may
append to the audit trail and read it, and gets "permission denied" when it tries to
change or remove a record, or to switch the triggers off. A real login role, a real
connection as that role."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from audit_builders import AUDITOR
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from test_import_records_builders import org_units_csv, settings_for

from dutystation.errors import ConfigError, NotFound, StoreError
from dutystation.services.audit import Change, record
from dutystation.services.audit_verify import verify
from dutystation.services.import_records import import_org_units
from dutystation.store.app_role import grant_app_role
from dutystation.store.db import is_current, make_engine, migrate, write_transaction


@pytest.fixture
def owner(scratch_postgres: str) -> Iterator[Engine]:
    """The scratch database, migrated by its owner (the server's superuser here)."""
    engine = make_engine(scratch_postgres)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def app_role(owner: Engine, scratch_postgres: str) -> Iterator[tuple[str, str]]:
    """A fresh login role (roles are server-wide: unique name, dropped afterwards) and the
    URL to connect to the scratch database as it."""
    role, password = f"ds_app_{uuid.uuid4().hex[:12]}", secrets.token_hex(12)
    with owner.begin() as conn:
        conn.execute(text(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'"))
    url = make_url(scratch_postgres).set(username=role, password=password)
    try:
        yield role, url.render_as_string(hide_password=False)
    finally:
        with owner.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))


def _denied(engine: Engine, statement: str) -> str:
    with pytest.raises(DBAPIError) as caught, engine.begin() as conn:
        conn.execute(text(statement))
    return str(caught.value.orig).lower()


@pytest.mark.postgres
def test_the_application_role_appends_and_reads_but_may_not_change_the_trail(
    owner: Engine, app_role: tuple[str, str], tmp_path: Path
) -> None:
    role, url = app_role
    statements = grant_app_role(owner, role)
    assert any("REVOKE UPDATE, DELETE, TRUNCATE" in s and "audit_record" in s for s in statements)
    app = make_engine(url)
    try:
        with write_transaction(app) as conn:  # INSERT through record()
            record(conn, AUDITOR, Change("probe.append", "probe", "1"))
        # An ordinary import works as that role and writes its own record.
        import_org_units(app, [org_units_csv(tmp_path)], settings=settings_for(tmp_path))
        for statement in (
            "UPDATE audit_record SET actor = 'mallory' WHERE seq = 1",
            "DELETE FROM audit_record WHERE seq = 1",
            "TRUNCATE audit_record",
        ):
            assert "permission denied" in _denied(app, statement), statement
        assert "must be owner" in _denied(app, "ALTER TABLE audit_record DISABLE TRIGGER USER")
        assert "must be owner" in _denied(
            app, "DROP TRIGGER audit_record_no_change ON audit_record"
        )
        with pytest.raises(StoreError, match="refused the change"), write_transaction(app) as conn:
            conn.execute(text("DELETE FROM audit_record"))
        with app.connect() as conn:
            result = verify(conn)
        assert result.intact and result.records == 2
        assert is_current(app)  # reads the schema version it may not write
        assert "permission denied" in _denied(app, "DELETE FROM alembic_version")
    finally:
        app.dispose()


@pytest.mark.postgres
def test_granting_is_idempotent(owner: Engine, app_role: tuple[str, str]) -> None:
    role, _ = app_role
    assert grant_app_role(owner, role) == grant_app_role(owner, role)


@pytest.mark.postgres
def test_a_superuser_or_a_missing_role_is_refused(owner: Engine) -> None:
    superuser = owner.url.username or "postgres"
    with pytest.raises(ConfigError, match="superuser"):
        grant_app_role(owner, superuser)
    with pytest.raises(NotFound, match="no PostgreSQL role"):
        grant_app_role(owner, "no_such_role_" + uuid.uuid4().hex[:8])


def test_sqlite_has_no_roles_to_grant(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    migrate(engine)
    with pytest.raises(ConfigError, match="PostgreSQL"):
        grant_app_role(engine, "anyone")
    engine.dispose()
