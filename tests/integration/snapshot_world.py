"""The world the snapshot and status tests share: the smallest demo (its people and
requests included) on SQLite or a scratch PostgreSQL database, and small readers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url

from dutystation.bootstrap import Runtime, bootstrap
from dutystation.domain.access import Actor
from dutystation.services.accounts import load_actor
from dutystation.services.demo import run_demo
from dutystation.settings import Settings
from dutystation.store.db import make_engine, migrate
from dutystation.store.schema import Employee
from dutystation.store.schema_snapshot import SnapshotEmployee, SnapshotWeek
from dutystation.store.snapshot_rows import current

EMPLOYEES = 1_000  # the smallest demo
PG_ENV = "DUTYSTATION_TEST_DATABASE_URL"


def _postgres_url() -> str:
    # As tests/conftest.py does (not imported: tests/api has a conftest of the same name).
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("DUTYSTATION_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL tests need {PG_ENV}", pytrace=False)
        pytest.skip(f"PostgreSQL tests need {PG_ENV}")
    return url


def _maintenance_engine(url: str) -> Engine:
    admin = make_url(url).set(database="postgres", drivername="postgresql+psycopg")
    return create_engine(admin, isolation_level="AUTOCOMMIT")


@contextmanager
def demo_world(folder: Path, backend: str) -> Iterator[Runtime]:
    """The demo loaded into ``backend`` (``sqlite`` or ``postgres``), its snapshot not
    refreshed by the test yet."""
    admin, name, url = None, None, None
    if backend == "postgres":
        base = _postgres_url()
        name = f"dutystation_test_{uuid.uuid4().hex[:16]}"
        admin = _maintenance_engine(base)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
        engine = make_engine(url)
        migrate(engine)  # a server database is migrated explicitly (bootstrap.py)
        engine.dispose()
    # A low Argon2 cost: the demo sets a password per account.
    settings = Settings(
        data_dir=folder,
        database_url=url,
        password_hash_memory_kib=1024,
        password_hash_time_cost=1,
    )
    try:
        run_demo(settings, employees=EMPLOYEES)
        runtime = bootstrap(settings)
        yield runtime
        runtime.engine.dispose()
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def actor(runtime: Runtime, username: str) -> Actor:
    with runtime.engine.connect() as conn:
        return load_actor(conn, username, channel="api")


def current_id(runtime: Runtime) -> int:
    with runtime.engine.connect() as conn:
        found = current(conn)
    assert found is not None
    return found.id


def stored_weeks(runtime: Runtime) -> dict[tuple[str, Any], dict[str, Any]]:
    """The current snapshot's employee-weeks by (HR id, week start)."""
    w = SnapshotWeek
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            select(Employee.employee_id, w.__table__)
            .join(Employee, Employee.id == w.employee_pk)
            .where(w.snapshot_id == current_id(runtime))
        ).mappings()
        return {(r["employee_id"], r["week_start"]): dict(r) for r in rows}


def stored_employees(runtime: Runtime) -> dict[str, dict[str, Any]]:
    s = SnapshotEmployee
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            select(s.__table__).where(s.snapshot_id == current_id(runtime))
        ).mappings()
        return {r["employee_id"]: dict(r) for r in rows}


def employee_of(runtime: Runtime, component: str, *, other_than: str) -> str:
    """An employee whose latest week is in ``component`` (and not ``other_than``)."""
    for employee_id, row in sorted(stored_employees(runtime).items()):
        if row["component"] == component and employee_id != other_than:
            return employee_id
    raise AssertionError(f"nobody in {component}")
