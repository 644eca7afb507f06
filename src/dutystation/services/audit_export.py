"""Reading the audit trail: export it to a file an auditor can verify offline, and search it.

Both need ``Operation.AUDIT_READ``. An export is itself recorded (``audit.export``: who,
which records, which format), because the trail leaves the system with it; searching and
verifying are not, so that reading the trail does not keep growing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Select, func, select

from dutystation.domain.access import Actor, Operation
from dutystation.services.audit import AUDIT, Change, record
from dutystation.services.audit_files import ExportFormat, write_export
from dutystation.services.audit_verify import exported, select_records, stored_records
from dutystation.services.authorization import authorize
from dutystation.services.disclosures import Stated, record_audit_export
from dutystation.store.db import write_transaction

DEFAULT_SEARCH_LIMIT = 50
NOTHING_STATED = Stated()


@dataclass(frozen=True)
class ExportResult:
    path: Path
    records: int
    first_seq: int | None
    last_seq: int | None


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def export_trail(
    engine: Engine,
    actor: Actor,
    out: Path,
    fmt: ExportFormat = ExportFormat.JSONL,
    *,
    since: date | None = None,
    until: date | None = None,
    said: Stated = NOTHING_STATED,
) -> ExportResult:
    """Write the records from ``since`` to ``until`` (UTC days, both included; default:
    all) to ``out``, streamed. The range is taken as a run of consecutive seqs (from the
    first record at or after ``since`` to the last before the day after ``until``), so the
    file is one unbroken piece of the chain even if clocks went backwards in between.
    The people the records are about get a disclosure ledger entry (``said``: purpose and
    recipient), written with the export's own audit record."""
    with engine.connect() as conn, conn.begin():
        authorize(conn, actor, Operation.AUDIT_READ)
        first, last = _seq_range(conn, since, until)
        if first is None or last is None or first > last:
            count = write_export(out, fmt, [])
        else:
            count = write_export(out, fmt, stored_records(conn, first, last))
    if count == 0:
        first = last = None
    after = {"format": fmt.value, "records": count, "first_seq": first, "last_seq": last}
    with write_transaction(engine) as conn:
        record(conn, actor, Change("audit.export", "audit_trail", None, None, after))
        record_audit_export(conn, actor, first, last, fmt.value, said)
    return ExportResult(out, count, first, last)


def _seq_range(conn: Connection, since: date | None, until: date | None) -> tuple[Any, Any]:
    first_q = select(func.min(AUDIT.c.seq))
    last_q = select(func.max(AUDIT.c.seq))
    if since is not None:
        first_q = first_q.where(AUDIT.c.at >= start_of(since))
    if until is not None:
        last_q = last_q.where(AUDIT.c.at < start_of(until + timedelta(days=1)))
    return conn.scalar(first_q), conn.scalar(last_q)


@dataclass(frozen=True)
class AuditQuery:
    """What to look for; None means any. ``action`` ending in ``*`` matches a prefix
    (``import.*``). Days are UTC and both ends are included."""

    action: str | None = None
    subject_id: str | None = None
    actor: str | None = None
    outcome: str | None = None
    since: date | None = None
    until: date | None = None
    limit: int = DEFAULT_SEARCH_LIMIT
    offset: int = 0  # newest records skipped (paging through a search)


def search_trail(engine: Engine, actor: Actor, query: AuditQuery) -> list[dict[str, Any]]:
    """The newest records matching ``query``, newest first, at most ``query.limit``
    (0: no limit) after skipping ``query.offset``, each with the fields of an export."""
    with engine.connect() as conn:
        authorize(conn, actor, Operation.AUDIT_READ)
        statement = _matching(select_records(conn), query).order_by(AUDIT.c.seq.desc())
        if query.limit:
            statement = statement.limit(query.limit)
        if query.offset:
            statement = statement.offset(query.offset)
        return [exported(row) for row in conn.execute(statement).mappings()]


def count_trail(engine: Engine, actor: Actor, query: AuditQuery) -> int:
    """How many records match ``query`` (its limit and offset aside)."""
    with engine.connect() as conn:
        authorize(conn, actor, Operation.AUDIT_READ)
        statement = _matching(select(func.count()).select_from(AUDIT), query)
        return int(conn.scalar(statement) or 0)


def _matching(statement: Select[Any], query: AuditQuery) -> Select[Any]:
    table = AUDIT
    if query.action is not None:
        if query.action.endswith("*"):
            prefix = query.action[:-1]
            for char in ("\\", "%", "_"):
                prefix = prefix.replace(char, "\\" + char)
            statement = statement.where(table.c.action.like(prefix + "%", escape="\\"))
        else:
            statement = statement.where(table.c.action == query.action)
    for column, wanted in (
        (table.c.subject_id, query.subject_id),
        (table.c.actor, query.actor),
        (table.c.outcome, query.outcome),
    ):
        if wanted is not None:
            statement = statement.where(column == wanted)
    if query.since is not None:
        statement = statement.where(table.c.at >= start_of(query.since))
    if query.until is not None:
        statement = statement.where(table.c.at < start_of(query.until + timedelta(days=1)))
    return statement


def describe(record_: Mapping[str, Any]) -> str:
    """``subject_type subject_id`` of a record, for one-line listings."""
    parts = [str(record_[k]) for k in ("subject_type", "subject_id") if record_[k] is not None]
    return " ".join(parts)
