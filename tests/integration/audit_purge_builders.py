"""Shared pieces of the audit purge tests: a trail whose oldest records are past the
six-year floor, and the attacker's tools for a trail that starts at a checkpoint."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from audit_builders import AUDITOR, CLERK, SUPERVISOR, varied_change
from sqlalchemy import Connection, Engine, text, update

from dutystation.domain.access import SYSTEM, Actor, Grant, Role
from dutystation.services.audit import AUDIT, chain_hash, hashed_fields, record
from dutystation.services.audit_verify import stored_records
from dutystation.store.db import write_transaction

ADMIN = Actor(user_id=2, username="ada", grants=(Grant(Role.AGENCY_ADMIN),))
OLD = datetime(2018, 1, 5, 9, 0, tzinfo=UTC)  # well past six years
ACTORS = [AUDITOR, SUPERVISOR, CLERK, SYSTEM]


def build_aged_trail(engine: Engine, old: int, young: int) -> None:
    """``old`` records an hour apart from January 2018, then ``young`` from a day ago."""
    recent = datetime.now(UTC) - timedelta(days=1)
    for i in range(old + young):
        at = OLD + timedelta(hours=i) if i < old else recent + timedelta(minutes=i)
        with write_transaction(engine) as conn:
            record(conn, ACTORS[i % 4], varied_change(i), now=at)


def append(engine: Engine, n: int) -> None:
    for i in range(n):
        with write_transaction(engine) as conn:
            record(conn, ACTORS[i % 4], varied_change(100 + i))


def row(conn: Connection, seq: int) -> dict[str, Any]:
    with contextlib.closing(stored_records(conn, seq, seq)) as rows:
        return next(rows)


def set_fields(conn: Connection, seq: int, **values: Any) -> None:
    conn.execute(update(AUDIT).where(AUDIT.c.seq == seq).values(**values))


def rehash(conn: Connection, seq: int) -> None:
    """Recompute a record's hash after an edit (the attacker knows the algorithm)."""
    forged = row(conn, seq)
    set_fields(conn, seq, hash=chain_hash(forged["prev_hash"], hashed_fields(forged)))


def edit_after(conn: Connection, seq: int, **changes: Any) -> None:
    after = json.loads(row(conn, seq)["after"])
    set_fields(conn, seq, after=json.dumps({**after, **changes}, separators=(",", ":")))


def insert_after(conn: Connection, k: int, prev_hash: str) -> None:
    """A forged record with a valid hash right after seq ``k`` (linking to ``prev_hash``),
    the later records renumbered (in two steps: a primary key cannot hold a value another
    row still has, even for a moment, on PostgreSQL)."""
    conn.execute(text(f"UPDATE audit_record SET seq = -(seq + 1) WHERE seq > {k}"))
    conn.execute(text("UPDATE audit_record SET seq = -seq WHERE seq < 0"))
    template = row(conn, k + 2)
    forged = {**template, "seq": k + 1, "actor": "mallory", "prev_hash": prev_hash}
    forged["hash"] = chain_hash(prev_hash, hashed_fields(forged))
    at = conn.scalar(AUDIT.select().with_only_columns(AUDIT.c.at).where(AUDIT.c.seq == k + 2))
    values = {c.name: forged[c.name] for c in AUDIT.c if c.name != "at"}
    conn.execute(AUDIT.insert().values(**values, at=at))


@contextlib.contextmanager
def committed_tamper(engine: Engine) -> Iterator[Connection]:
    """Like ``audit_builders.attacker`` but committed: the edit stays (scratch databases)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_record DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_record_no_update"))
        yield conn
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_record ENABLE TRIGGER USER"))
