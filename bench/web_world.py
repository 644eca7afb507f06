"""The world ``web_load.py`` serves: the data of ``evaluate_data.py`` copied into a fresh
PostgreSQL database, a private copy of its event store, the accounts and their tokens,
and the evaluation snapshot (``dutystation evaluate --refresh``)."""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

from evaluate_data import generate
from load_server import DUTYSTATION

ROSTER_TABLES = {
    "org_unit": ("id", "code", "name", "kind", "parent_id"),
    "office": ("id", "site_id", "name", "address", "zip", "latitude", "longitude", "timezone",
               "seats"),
    "office_org_unit": ("office_id", "org_unit_id"),
    "employee": ("id", "employee_id", "name", "email", "active", "separated_on"),
    "employee_assignment": (
        "id", "employee_pk", "effective_from", "effective_to", "org_unit_id", "duty_station_id",
        "arrangement", "schedule", "supervisor_pk", "position", "job_function",
        "bargaining_unit", "telework_eligible",
    ),
}  # fmt: skip
BOOLEANS = {"active", "telework_eligible"}


def source_dir(root: Path, employees: int, weeks: int) -> Path:
    path = root / f"evaluate-{employees}x{weeks}"
    marker = path / "generated.json"
    if not marker.exists() or json.loads(marker.read_text()) != {
        "employees": employees,
        "weeks": weeks,
    }:
        print(f"generating {employees:,} employees x {weeks} weeks into {path} ...", flush=True)
        generate(path, employees, weeks)
    return path


def admin_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def database_name(url: str) -> str:
    from sqlalchemy.engine import make_url

    return str(make_url(url).database)


def environment(data: Path, source: Path, url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DUTYSTATION_DATA_DIR": str(data),
        "DUTYSTATION_DATABASE_URL": url,
        "DUTYSTATION_POLICIES_DIR": str(source / "policies"),
        "DUTYSTATION_DUCKDB_MEMORY_LIMIT": "3GB",
        "DUTYSTATION_COOKIE_SECURE": "false",
    }


def setup(source: Path, data: Path, url: str, users: int) -> dict[str, object]:
    """A fresh database with the bench roster, the event store, the accounts and tokens."""
    from sqlalchemy import create_engine, text

    from dutystation.store.db import make_engine, migrate

    admin = create_engine(admin_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{database_name(url)}"'))
    admin.dispose()
    engine = make_engine(url)
    migrate(engine)
    started = time.perf_counter()
    lite = sqlite3.connect(source / "dutystation.sqlite3")
    raw = engine.raw_connection()
    pg = raw.driver_connection
    assert pg is not None  # a psycopg connection: the engine was just connected
    with pg.cursor() as cursor:
        for table, columns in ROSTER_TABLES.items():
            booleans = [i for i, c in enumerate(columns) if c in BOOLEANS]
            rows = lite.execute(f"SELECT {', '.join(columns)} FROM {table}")
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    values = list(row)
                    for i in booleans:
                        values[i] = None if values[i] is None else bool(values[i])
                    copy.write_row(values)
            if "id" in columns:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
    pg.commit()
    raw.close()
    lite.close()
    engine.dispose()
    print(f"roster copied into PostgreSQL in {time.perf_counter() - started:.1f} s", flush=True)
    link_events(source / "events", data / "events")
    return make_accounts(data, source, url, users)


def link_events(source: Path, target: Path) -> None:
    """``target`` as a copy of the event store ``source`` made of hard links: instant at
    any size, and the imports of the load runs land in it, never in the source (which
    other benchmarks read). Safe because the store never changes a file in place: it
    writes a new one and renames it over (events/durable.py)."""
    if target.is_symlink():
        target.unlink()  # a world made before the imports ran in it shared the source
    elif target.exists():
        shutil.rmtree(target)
    for folder, _, files in os.walk(source):
        here = target / Path(folder).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
        for name in files:
            if name == ".lock":
                continue  # each store its own lock
            try:
                os.link(Path(folder) / name, here / name)
            except OSError:  # another file system
                shutil.copy2(Path(folder) / name, here / name)


def make_accounts(data: Path, source: Path, url: str, users: int) -> dict[str, object]:
    """``users`` employees with a token; a whole-organisation TMO; a leader per component
    (the report's reader, scoped to it); an HR administrator over the whole organisation
    (the uploads of ``--import-via api``); the administrator (``admin``)."""
    from sqlalchemy import select

    from dutystation.bootstrap import bootstrap
    from dutystation.domain.access import Grant, Role
    from dutystation.services import accounts, tokens
    from dutystation.settings import load_settings
    from dutystation.store.schema import Employee, OrgUnit

    started = time.perf_counter()
    settings = load_settings(data_dir=data, database_url=url, policies_dir=source / "policies")
    engine = bootstrap(settings).engine
    accounts.bootstrap_admin(engine, "admin")
    with engine.connect() as conn:
        admin = accounts.load_actor(conn, "admin")
        ids = list(conn.scalars(select(Employee.employee_id).order_by(Employee.id)))
        units = sorted(conn.scalars(select(OrgUnit.code)))
        components = sorted(conn.scalars(select(OrgUnit.code).where(OrgUnit.kind == "component")))
    picked = random.Random(6).sample(ids, min(users, len(ids)))

    def account(name: str, *, employee_id: str | None = None, grant: Grant) -> str:
        accounts.create_user(engine, admin, name, employee_id=employee_id, grants=(grant,))
        return tokens.create_token(engine, admin, name, "bench", days=30, settings=settings).secret

    secrets = [
        account(f"emp{n:04d}", employee_id=e, grant=Grant(Role.EMPLOYEE))
        for n, e in enumerate(picked)
    ]
    tmo = account("tmo", grant=Grant(Role.TMO))
    hr = account("hr", grant=Grant(Role.HR))
    leaders = {c: account(f"leader-{c.lower()}", grant=Grant(Role.LEADER, c)) for c in components}
    engine.dispose()
    print(f"{len(secrets) + len(leaders) + 3:,} accounts and tokens in "
          f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    found: dict[str, object] = {
        "employees": secrets,
        "tmo": tmo,
        "hr": hr,
        "units": units,
        "leaders": leaders,
    }
    (data / "tokens.json").write_text(json.dumps(found))
    return found


def refresh(env: dict[str, str]) -> tuple[float, int]:
    """``dutystation evaluate --refresh`` as a child: wall seconds and peak RSS (MB)."""
    started = time.perf_counter()
    child = subprocess.Popen([DUTYSTATION, "evaluate", "--refresh", "--quiet"], env=env)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"refresh failed ({status})")
    return seconds, usage.ru_maxrss // 1024
