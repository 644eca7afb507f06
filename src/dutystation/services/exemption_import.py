"""Use case: import an exemptions file (the CSV format of ``evaluation_inputs``) as
historical records: requests and decisions made before dutystation kept them, or in
another system (docs/exemptions.md, "Importing decisions").

The import lands whole or not at all, and importing the same file again changes nothing:
each record is keyed by employee, category and filing day. A record stored as pending
takes the decision a later file gives it; any other difference is refused with the line.
Historical records are kept as the source system kept them: no overlap or category
check, no certifications (the file does not say who certified), but an approval must
carry its end date, as every approval here does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, update

from dutystation.bootstrap import Runtime
from dutystation.domain.access import Actor, Operation
from dutystation.domain.exemptions import RequestStatus, category_group
from dutystation.errors import InputFileError, Location, NotFound
from dutystation.evaluation_inputs import ExemptionRow, read_exemption_rows
from dutystation.services.audit import Change, denials_recorded, record
from dutystation.services.authorization import Subject, authorize
from dutystation.services.exemption_directives import Directives
from dutystation.services.exemption_guard import attempt, may_ever
from dutystation.services.exemption_records import EMPLOYEES, REQUESTS
from dutystation.store.db import write_transaction
from dutystation.store.snapshot_rows import mark_stale

ACTION = "exemption.import"
IMPORTED_BY = "import"  # filed_by of an imported record: the file does not say who filed
_STATUS = {
    "pending": RequestStatus.SUBMITTED,
    "approved": RequestStatus.APPROVED,
    "denied": RequestStatus.DENIED,
    "withdrawn": RequestStatus.WITHDRAWN,
}
_CHUNK = 500


@dataclass(frozen=True)
class ExemptionImport:
    rows: int
    added: int
    updated: int  # pending records that the file now gives a decision
    unchanged: int


def import_key(row: ExemptionRow) -> str:
    text = f"{row.employee_id}\n{row.category.value}\n{row.requested_on.isoformat()}"
    return hashlib.sha256(text.encode()).hexdigest()


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(0), tzinfo=UTC)


def _state(row: ExemptionRow) -> dict[str, Any]:
    status = _STATUS[row.status]
    approved = status is RequestStatus.APPROVED
    return {
        "status": status.value,
        "decided_at": _midnight(row.decided_on),
        "approved_start": row.start if approved else None,
        "approved_end": row.end if approved else None,
    }


def import_decisions(runtime: Runtime, actor: Actor, path: Path) -> ExemptionImport:
    """Store the records of ``path`` (HR or agency admin: ``import.run`` over each
    person). One audit record says who imported what, with the counts."""
    rows = read_exemption_rows(path)
    for row in rows:
        if row.status == "approved" and row.end is None:
            raise InputFileError(
                Location(path, row.line, "end"), "an approved exemption needs its end date"
            )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    with (
        denials_recorded(runtime.engine, actor, attempt(Operation.IMPORT_RUN)),
        write_transaction(runtime.engine) as conn,
    ):
        may_ever(actor, Operation.IMPORT_RUN)
        pks = _employees(conn, actor, path, rows)
        stored = _stored(conn, [import_key(r) for r in rows])
        directives: Directives | None = None
        seen: dict[str, ExemptionRow] = {}
        added = updated = unchanged = 0
        for row in rows:
            key, state = import_key(row), _state(row)
            if key in seen:
                if _state(seen[key]) != state:
                    raise _refuse(path, row, f"contradicts line {seen[key].line} (same request)")
                unchanged += 1
                continue
            seen[key] = row
            if key in stored:
                before = stored[key]
                if _same(before, state):
                    unchanged += 1
                elif before["status"] == RequestStatus.SUBMITTED.value:
                    where = REQUESTS.c.id == before["id"]
                    conn.execute(update(REQUESTS).where(where).values(**state))
                    updated += 1
                else:
                    raise _refuse(path, row, f"the request is stored as {before['status']}")
                continue
            directives = directives or Directives(runtime, conn)
            _insert(conn, directives, pks[row.employee_id], row, key, state)
            added += 1
        result = ExemptionImport(len(rows), added, updated, unchanged)
        if added or updated:
            mark_stale(conn, ACTION)  # like every import that stores rows
        after = {"rows": result.rows, "added": added, "updated": updated, "unchanged": unchanged}
        change = Change(ACTION, "exemptions_file", digest, after=after)
        record(conn, actor, change)
        return result


def _refuse(path: Path, row: ExemptionRow, reason: str) -> InputFileError:
    return InputFileError(Location(path, row.line, "status"), reason)


def _employees(
    conn: Connection, actor: Actor, path: Path, rows: list[ExemptionRow]
) -> dict[str, int]:
    """Store keys of the file's employees, each one in the actor's import scope."""
    wanted = sorted({r.employee_id for r in rows})
    found: dict[str, int] = {}
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        query = select(EMPLOYEES.c.employee_id, EMPLOYEES.c.id).where(
            EMPLOYEES.c.employee_id.in_(chunk)
        )
        found.update({str(r.employee_id): int(r.id) for r in conn.execute(query)})
    allowed: set[str] = set()
    for row in rows:
        pk = found.get(row.employee_id)
        if pk is not None and row.employee_id not in allowed:
            try:
                authorize(conn, actor, Operation.IMPORT_RUN, Subject(employee_pk=pk))
            except NotFound:
                pk = None
            else:
                allowed.add(row.employee_id)
        if pk is None:
            # One sentence for unknown and out of scope: the file learns nothing.
            raise InputFileError(
                Location(path, row.line, "employee_id"), "is not an employee in your scope"
            )
    return found


def _stored(conn: Connection, keys: list[str]) -> dict[str, dict[str, Any]]:
    columns = [
        REQUESTS.c.import_key,
        REQUESTS.c.id,
        REQUESTS.c.status,
        REQUESTS.c.decided_at,
        REQUESTS.c.approved_start,
        REQUESTS.c.approved_end,
    ]
    found: dict[str, dict[str, Any]] = {}
    unique = sorted(set(keys))
    for i in range(0, len(unique), _CHUNK):
        query = select(*columns).where(REQUESTS.c.import_key.in_(unique[i : i + _CHUNK]))
        for r in conn.execute(query):
            found[r.import_key] = dict(r._mapping)
    return found


def _same(stored: dict[str, Any], state: dict[str, Any]) -> bool:
    decided = stored["decided_at"]
    if decided is not None and decided.tzinfo is None:  # SQLite: naive UTC
        decided = decided.replace(tzinfo=UTC)
    return bool(
        stored["status"] == state["status"]
        and decided == state["decided_at"]
        and stored["approved_start"] == state["approved_start"]
        and stored["approved_end"] == state["approved_end"]
    )


def _insert(
    conn: Connection,
    directives: Directives,
    employee_pk: int,
    row: ExemptionRow,
    key: str,
    state: dict[str, Any],
) -> None:
    first = row.start or row.requested_on
    end = row.end if row.end is not None and row.end >= first else None
    judged = directives.judging(conn, employee_pk, first)
    conn.execute(
        insert(REQUESTS).values(
            employee_pk=employee_pk,
            category=row.category.value,
            category_group=category_group(row.category),
            directive_ref=judged.directive_ref,
            certifiers_required=",".join(c.value for c in judged.required),
            requested_start=first,
            requested_end=end,
            justification=None,
            filed_by_user_id=None,
            filed_by=IMPORTED_BY,
            filed_at=_midnight(row.requested_on),
            import_key=key,
            **state,
        )
    )
