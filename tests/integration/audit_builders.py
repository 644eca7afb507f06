"""Shared pieces of the audit trail tests: actors, a varied chain, and the attacker's
tools (raw SQL with the append-only triggers out of the way)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
from sqlalchemy import Connection, Engine, text

from dutystation.domain.access import SYSTEM, Actor, Grant, Role
from dutystation.ingest.reference import (
    BADGES_SCHEMA,
    EMPLOYEES_SCHEMA,
    SITES_SCHEMA,
    ReferenceData,
)
from dutystation.services.audit import Change, record
from dutystation.store.db import write_transaction

AUDITOR = Actor(user_id=7, username="avery.auditor", grants=(Grant(Role.AUDITOR),))
SUPERVISOR = Actor(
    user_id=3, username="sam.supervisor", grants=(Grant(Role.SUPERVISOR),), employee_pk=11
)
CLERK = Actor(user_id=9, username="casey.clerk", grants=(Grant(Role.EMPLOYEE),), channel="web")
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# What badge imports check rows against: one employee, one office.
REFERENCE = ReferenceData(
    pa.table({"employee_id": ["E1"]}, schema=EMPLOYEES_SCHEMA),
    BADGES_SCHEMA.empty_table(),
    pa.table({"site_id": ["NYC"], "timezone": ["America/New_York"]}, schema=SITES_SCHEMA),
)


def badges_file(path: Path, *stamps: str) -> Path:
    path.write_text(
        "employee_id,timestamp,site_id,direction\n" + "".join(f"E1,{s},NYC,IN\n" for s in stamps)
    )
    return path


def varied_change(i: int) -> Change:
    """Records that differ in every hashed field: NULLs, nested values, denials."""
    kinds = [
        Change("exemption.certify", "exemption", str(i), {"state": "pending"}, {"state": "ok"}),
        Change(
            f"import.{'badges' if i % 2 else 'roster'}",
            "import_batch",
            f"B{i:04d}",
            None,
            {"files": ["a.csv"], "rows_read": i * 10, "rows_stored": i},
        ),
        Change("user.manage", None, None, None, {"roles": ["hr", "tmo"], "n": {"deep": i}}),
        Change("exemption.read_medical", "exemption", str(i), None, None, outcome="denied"),
    ]
    return kinds[i % len(kinds)]


def build_chain(engine: Engine, n: int) -> None:
    actors = [AUDITOR, SUPERVISOR, CLERK, SYSTEM]
    for i in range(n):
        with write_transaction(engine) as conn:
            record(conn, actors[i % 4], varied_change(i), now=START + timedelta(hours=i))


@contextlib.contextmanager
def attacker(engine: Engine) -> Iterator[Connection]:
    """A transaction with the append-only triggers out of the way, as someone with owner
    access to the database could arrange; always rolled back (DDL is transactional on both
    backends), so each attack starts from the intact chain."""
    with engine.connect() as conn:
        tx = conn.begin()
        try:
            if conn.dialect.name == "postgresql":
                conn.execute(text("ALTER TABLE audit_record DISABLE TRIGGER USER"))
            else:
                conn.execute(text("DROP TRIGGER audit_record_no_update"))
                conn.execute(text("DROP TRIGGER audit_record_no_delete"))
            yield conn
        finally:
            tx.rollback()


def head(engine: Engine) -> tuple[int, str]:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT seq, hash FROM audit_record ORDER BY seq DESC LIMIT 1")
        ).one()
    return int(row[0]), str(row[1])
