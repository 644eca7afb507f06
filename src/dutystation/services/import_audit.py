"""Audit records of event-store imports (badges, T&A hours).

A database import writes its audit record in its own transaction (``import_batch``). An
event batch commits differently — by renaming its manifest into place — and no database
transaction can span that rename. So the record is written right after the manifest, while
the import still holds the event store's writer lock, and a crash between the two is
repaired by the next event import: under the same lock, before it does anything else, it
writes the records of committed batches that have none (``backfill``).

Why there, and not in ``EventStore.recover``: ``events/`` is below the services and
knows nothing of the database or the audit trail (DESIGN.md §3). Every event import calls
``backfill`` right after ``recover``, under the same lock, so no batch can commit between
the check and the repair. Writing the record first and the manifest second would be worse:
a crash would leave a record of an import that never happened.

A backfilled record names ``system`` as its actor (the manifest does not say who ran the
import) and says ``"backfilled": true`` and when the batch was committed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select

from dutystation.bootstrap import Runtime
from dutystation.domain.access import SYSTEM, Actor
from dutystation.events.manifest import Manifest
from dutystation.events.schemas import EventKind
from dutystation.events.store import StoreLock
from dutystation.services.audit import AUDIT, Change, record
from dutystation.services.audit_checkpoint import UnreadableCheckpoint, latest_checkpoint
from dutystation.settings import Settings
from dutystation.store.db import write_transaction
from dutystation.store.snapshot_rows import mark_stale

SUBJECT_TYPE = "import_batch"


REBUILD_ACTION = "rollup.rebuild"


def action(kind: EventKind | str) -> str:
    return f"import.{kind}"


def manifest_action(manifest: Manifest) -> str:
    """``import.<kind>``, or ``rollup.rebuild`` for a batch that only rewrote roll-ups."""
    return REBUILD_ACTION if manifest.purpose == "rollup-rebuild" else action(manifest.kind)


def batch_change(manifest: Manifest, *, backfilled: bool = False) -> Change:
    """What an event batch's audit record says: file names and counts, never rows."""
    after: dict[str, Any] = {
        "files": [Path(source.path).name for source in manifest.sources],
        "rows_read": manifest.rows_read,
        "rows_stored": manifest.rows_stored,
        "rows_rejected": manifest.rejected,
        "duplicates": manifest.duplicates,
    }
    if manifest.purpose != "import":
        after["kind"] = str(manifest.kind)
        after["months_rolled_up"] = [f.month for f in manifest.rollups]
    if manifest.restatements:
        # Late or corrected events changed days already rolled up: never silently.
        after["restatements"] = [
            {
                "month": r.month,
                "first_day": r.first_day,
                "last_day": r.last_day,
                "employees": r.employees,
                "days_changed": r.days_changed,
            }
            for r in manifest.restatements
        ]
    if backfilled:
        after["backfilled"] = True
        after["committed_at"] = manifest.created_at.isoformat()
    return Change(manifest_action(manifest), SUBJECT_TYPE, manifest.batch_id, None, after)


def record_batch(engine: Engine, actor: Actor, manifest: Manifest) -> int:
    """The audit record of a batch whose manifest has just been committed."""
    with write_transaction(engine) as conn:
        if manifest.rows_stored or manifest.restatements:
            mark_stale(conn, manifest_action(manifest))  # the evaluation snapshot lacks it
        return record(conn, actor, batch_change(manifest))


def backfill(engine: Engine, held: StoreLock) -> int:
    """Write the missing audit records of committed event batches, oldest first; returns
    how many. The caller holds the store lock, so no batch commits meanwhile."""
    manifests = held.store.manifests()
    if not manifests:
        return 0
    with write_transaction(engine) as conn:
        missing = unrecorded(conn, manifests)
        for manifest in missing:
            record(conn, SYSTEM, batch_change(manifest, backfilled=True))
            if manifest.rows_stored:
                mark_stale(conn, action(manifest.kind))
    return len(missing)


def unrecorded(conn: Connection, manifests: Sequence[Manifest]) -> list[Manifest]:
    """The batches among ``manifests`` that have no audit record. A batch committed before
    the cutoff of the newest purge had its record purged (``services/audit_purge.py``):
    it is not missing one."""
    if not manifests:
        return []
    actions = [action(kind) for kind in EventKind] + [REBUILD_ACTION]
    query = select(AUDIT.c.subject_id).where(
        AUDIT.c.action.in_(actions), AUDIT.c.subject_type == SUBJECT_TYPE
    )
    recorded = set(conn.scalars(query))
    purged_before = _purged_before(conn)
    return [
        m
        for m in manifests
        if m.batch_id not in recorded and (purged_before is None or m.created_at >= purged_before)
    ]


def _purged_before(conn: Connection) -> datetime | None:
    try:
        checkpoint = latest_checkpoint(conn)
    except UnreadableCheckpoint:  # a changed checkpoint is for `audit verify` to report
        return None
    return None if checkpoint is None else datetime.fromisoformat(checkpoint.cutoff)


@contextlib.contextmanager
def engine_for(settings: Settings, engine: Engine | None) -> Iterator[Engine]:
    """``engine``, or for callers without a runtime one on the database ``settings``
    name (migrated if it is SQLite), disposed afterwards."""
    if engine is not None:
        yield engine
        return
    own = Runtime(settings).engine
    try:
        yield own
    finally:
        own.dispose()
