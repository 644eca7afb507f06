"""Shared fixtures. The database fixtures run every store and import test on both
backends: SQLite (a file in tmp_path) and PostgreSQL (a fresh scratch database per test,
created through the server's ``postgres`` maintenance database and dropped afterwards).

PostgreSQL tests need ``DUTYSTATION_TEST_DATABASE_URL`` (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); without it they are skipped, unless
``DUTYSTATION_REQUIRE_POSTGRES=1`` turns the skip into a failure (CI sets it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from dutystation.store.db import make_engine, migrate
from pg_scratch import PG_ENV, SKIP_REASON, _maintenance_engine, _postgres_url  # noqa: F401


@pytest.fixture
def scratch_postgres() -> Iterator[str]:
    """URL of a new, empty PostgreSQL database, unique per test (xdist-safe)."""
    base = _postgres_url()
    name = f"dutystation_test_{uuid.uuid4().hex[:16]}"
    admin = _maintenance_engine(base)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    url: str = request.getfixturevalue("scratch_postgres")
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated, empty operational database on each backend."""
    eng = make_engine(db_url)
    migrate(eng)
    yield eng
    eng.dispose()
