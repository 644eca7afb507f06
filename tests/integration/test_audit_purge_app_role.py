"""RELIABILITY T08 with retention: on PostgreSQL the application's role still cannot remove
an audit record — not even one old enough to purge, not even after appending a checkpoint
that names it — and is told in one sentence to purge as the tables' owner, who can. A real
login role, a real connection as that role."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator

import pytest
from audit_purge_builders import ADMIN, build_aged_trail
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from dutystation.errors import ConfigError
from dutystation.services.audit import Change, record
from dutystation.services.audit_purge import purge_trail
from dutystation.services.audit_verify import verify
from dutystation.store.app_role import grant_app_role
from dutystation.store.db import make_engine, migrate


@pytest.fixture
def owner(scratch_postgres: str) -> Iterator[Engine]:
    engine = make_engine(scratch_postgres)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def app(owner: Engine, scratch_postgres: str) -> Iterator[Engine]:
    """An engine connected as a fresh login role granted what the application gets."""
    role, password = f"ds_app_{uuid.uuid4().hex[:12]}", secrets.token_hex(12)
    with owner.begin() as conn:
        conn.execute(text(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'"))
    grant_app_role(owner, role)
    url = make_url(scratch_postgres).set(username=role, password=password)
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with owner.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))


@pytest.mark.postgres
def test_the_application_role_cannot_purge_and_the_owner_can(owner: Engine, app: Engine) -> None:
    build_aged_trail(owner, 4, 2)
    assert purge_trail(app, ADMIN, 6, dry_run=True).records == 4  # counting is reading
    with pytest.raises(ConfigError, match="run the purge connected as the tables' owner"):
        purge_trail(app, ADMIN, 6)
    # Appending a checkpoint that names record 1 (the role may append) does not help.
    with pytest.raises(DBAPIError, match="permission denied"), app.begin() as conn:
        claim = {"records": 4, "first_seq": 1, "last_seq": 4, "first_at": "", "last_at": "",
                 "last_hash": "", "cutoff": ""}  # fmt: skip
        record(conn, ADMIN, Change("audit.purge", "audit_trail", None, None, claim))
        conn.execute(text("DELETE FROM audit_record WHERE seq = 1"))
    for statement in ("DELETE FROM audit_record WHERE seq <= 4", "TRUNCATE audit_record"):
        with pytest.raises(DBAPIError, match="permission denied"), app.begin() as conn:
            conn.execute(text(statement))
    with app.connect() as conn:
        assert verify(conn).records == 6  # nothing removed, no checkpoint left

    done = purge_trail(owner, ADMIN, 6)
    assert (done.records, done.first_seq, done.last_seq) == (4, 1, 4)
    with app.connect() as conn:  # the application reads and verifies the purged trail
        result = verify(conn)
    assert result.intact and result.first_seq == 5 and result.checkpoint is not None
