"""Removing audit records past their retention without breaking the hash chain.

``purge_trail`` removes the oldest records — a run of consecutive seqs from the start of
the trail up to the last record before the first one dated at or after the cutoff — and,
in the same transaction, appends one ``audit.purge`` record, the checkpoint
(``services/audit_checkpoint.py``): the range removed, how many, their dates, and the hash
of the last one. The checkpoint is itself a link of the chain, so ``audit verify`` checks
what remains from it and still finds any edited, deleted or inserted record.

Guards, from the outside in:

- the cutoff is never later than ``audit_retention_years`` ago, nor than six years ago
  (``retention_floors.AUDIT_RETENTION_FLOOR_YEARS``): one sentence refuses anything younger;
- an administrator of the whole organisation runs it (``audit.purge``); a refusal is
  recorded like any other;
- the chain must verify before anything is removed: a purge never destroys the evidence of
  tampering;
- the database deletes a record only if it is older than six years and a checkpoint in the
  chain names it (migration 0011), and on PostgreSQL only the tables' owner may delete at
  all: the application's role is told so in one sentence (docs/security.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, text

from dutystation.domain.access import Actor, Operation
from dutystation.errors import AuditTrailBroken, ConfigError, Forbidden, InvalidRequest
from dutystation.retention_floors import AUDIT_RETENTION_FLOOR_YEARS
from dutystation.services.audit import AUDIT, Change, denials_recorded, record
from dutystation.services.audit_checkpoint import PURGE_ACTION, SUBJECT_TYPE
from dutystation.services.audit_export import start_of
from dutystation.services.audit_verify import VerifyResult, verify
from dutystation.services.authorization import authorize
from dutystation.services.disclosure_ledger import retention_cutoff
from dutystation.store.db import write_transaction


@dataclass(frozen=True)
class PurgeResult:
    cutoff: datetime  # records dated before this (UTC) were due
    retention_years: int
    records: int  # removed (in a dry run: that would be)
    first_seq: int | None
    last_seq: int | None
    first_at: datetime | None  # the oldest and newest among them
    last_at: datetime | None
    checkpoint_seq: int | None  # the purge's own record (None in a dry run)
    head_hash: str | None  # the trail's head after the purge: write it down
    dry_run: bool


def purge_cutoff(retention_years: int, before: date | None, today: date) -> datetime:
    """The cutoff: midnight UTC of ``before``, or of the same day ``retention_years`` ago.
    ``InvalidRequest`` (one sentence) for a day later than either limit allows."""
    floor = retention_cutoff(today, AUDIT_RETENTION_FLOOR_YEARS)
    kept = retention_cutoff(today, max(retention_years, AUDIT_RETENTION_FLOOR_YEARS))
    if before is None:
        return kept
    wanted = start_of(before)
    if wanted > floor:
        raise InvalidRequest(
            f"audit records are kept at least {AUDIT_RETENTION_FLOOR_YEARS} years (NARA "
            f"General Records Schedule 3.2, item 031): --before {before.isoformat()} is too "
            f"recent; the latest day allowed today is {floor.date().isoformat()}"
        )
    if wanted > kept:
        raise InvalidRequest(
            f"audit_retention_years is {retention_years}: --before {before.isoformat()} is "
            f"too recent; the latest day allowed today is {kept.date().isoformat()}"
        )
    return wanted


def purge_trail(
    engine: Engine,
    actor: Actor,
    retention_years: int,
    *,
    before: date | None = None,
    dry_run: bool = False,
    today: date | None = None,
) -> PurgeResult:
    """Remove the records due at the cutoff (``purge_cutoff``) and append the checkpoint,
    all or nothing; ``dry_run`` only counts them. A real run writes its record also when
    nothing was due, so the trail shows who ran it."""
    cutoff = purge_cutoff(retention_years, before, today or datetime.now(UTC).date())
    attempt = Change(PURGE_ACTION, SUBJECT_TYPE, None)
    checked = None
    if not dry_run:
        # The walk runs before the writer lock is taken, so a long trail does not hold up
        # other writers; the transaction then confirms the head it verified is unchanged.
        with denials_recorded(engine, actor, attempt), engine.connect() as conn, conn.begin():
            _authorize(conn, actor)
            _may_delete(conn)
            checked = _intact(verify(conn))
    with denials_recorded(engine, actor, attempt), write_transaction(engine) as conn:
        _authorize(conn, actor)
        span = _due(conn, cutoff)
        if dry_run:
            return _result(cutoff, retention_years, span, None, None, dry_run=True)
        if span is not None and checked is not None:
            _still(conn, checked, span["last_seq"])
        after: dict[str, Any] = {
            "cutoff": cutoff.isoformat(),
            "retention_years": retention_years,
            "records": 0 if span is None else span["records"],
        }
        if span is not None:
            after |= {k: _plain(v) for k, v in span.items()}
        checkpoint = record(conn, actor, Change(PURGE_ACTION, SUBJECT_TYPE, None, None, after))
        if span is not None:
            gone = conn.execute(
                delete(AUDIT).where(AUDIT.c.seq.between(span["first_seq"], span["last_seq"]))
            ).rowcount
            if gone != span["records"]:  # rolls back: nothing removed, no checkpoint
                raise AuditTrailBroken(
                    f"the purge found {span['records']:,} records due but could remove "
                    f"{gone:,}; nothing was purged"
                )
        head = conn.scalar(select(AUDIT.c.hash).where(AUDIT.c.seq == checkpoint))
    return _result(cutoff, retention_years, span, checkpoint, head, dry_run=False)


def _authorize(conn: Connection, actor: Actor) -> None:
    grant = authorize(conn, actor, Operation.AUDIT_PURGE)
    if grant is not None and grant.scope is not None:
        raise Forbidden(
            "purging the audit trail needs a grant over the whole organisation; user "
            f"{actor.username!r} holds agency_admin over {grant.scope} only"
        )


def _due(conn: Connection, cutoff: datetime) -> dict[str, Any] | None:
    """The run of records from the start of the trail to the last one before the first
    record dated at or after ``cutoff`` (a record written while a clock was wrong stops the
    run: the chain can only lose a prefix). None when nothing is due."""
    a = AUDIT
    start = conn.scalar(select(func.min(a.c.seq)))
    if start is None:
        return None
    kept = conn.scalar(select(func.min(a.c.seq)).where(a.c.at >= cutoff))
    last = (kept - 1) if kept is not None else conn.scalar(select(func.max(a.c.seq)))
    if last < start:
        return None
    in_range = a.c.seq.between(start, last)
    count, first_at, last_at = conn.execute(
        select(func.count(), func.min(a.c.at), func.max(a.c.at)).where(in_range)
    ).one()
    last_hash = conn.scalar(select(a.c.hash).where(a.c.seq == last))
    return {
        "first_seq": int(start),
        "last_seq": int(last),
        "records": int(count),
        "first_at": _utc(first_at),
        "last_at": _utc(last_at),
        "last_hash": str(last_hash),
    }


def _intact(result: VerifyResult) -> VerifyResult:
    """Refuse to purge a chain that does not verify: removing records would destroy the
    evidence."""
    if not result.intact:
        raise AuditTrailBroken(f"{result.sentence()}; nothing was purged (keep the evidence)")
    return result


def _still(conn: Connection, checked: VerifyResult, last_seq: int) -> None:
    """The head verified a moment ago is still there, and the records due lie before it."""
    now_hash = conn.scalar(select(AUDIT.c.hash).where(AUDIT.c.seq == checked.head_seq))
    if checked.head_seq is None or now_hash != checked.head_hash or last_seq > checked.head_seq:
        raise AuditTrailBroken(
            "the audit trail changed while the purge checked it; nothing was purged (run it again)"
        )


def _may_delete(conn: Connection) -> None:
    """On PostgreSQL, one sentence instead of "permission denied" for the application's
    role, which may only append to the trail."""
    if conn.dialect.name != "postgresql":
        return
    if not conn.scalar(text("SELECT has_table_privilege('audit_record', 'DELETE')")):
        role = conn.scalar(text("SELECT current_user"))
        raise ConfigError(
            f"the database role {role!r} may only append to the audit trail; run the purge "
            "connected as the tables' owner (docs/audit.md, 'Retention')"
        )


def _utc(value: datetime | str) -> datetime:
    """SQLite hands stored times back as naive (or, via raw SQL, text); they are UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _plain(value: Any) -> Any:
    return value.replace(microsecond=0).isoformat() if isinstance(value, datetime) else value


def _result(
    cutoff: datetime,
    years: int,
    span: dict[str, Any] | None,
    checkpoint: int | None,
    head: str | None,
    *,
    dry_run: bool,
) -> PurgeResult:
    if span is None:
        return PurgeResult(cutoff, years, 0, None, None, None, None, checkpoint, head, dry_run)
    return PurgeResult(
        cutoff,
        years,
        span["records"],
        span["first_seq"],
        span["last_seq"],
        span["first_at"],
        span["last_at"],
        checkpoint,
        head,
        dry_run,
    )
