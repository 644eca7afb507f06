"""``dutystation rollup rebuild``, ``rollup status`` and ``verify`` against a runtime.

Store maintenance like ``db upgrade``: the CLI runs them as the operating-system account
that owns the data directory (docs/access.md), and a rebuild is audited as ``system``.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import duckdb
from sqlalchemy.orm import Session

from dutystation.analytics.engine import connect
from dutystation.bootstrap import Runtime
from dutystation.domain.access import SYSTEM
from dutystation.errors import RollupMismatch, StoreError
from dutystation.events.manifest import Manifest, Restatement
from dutystation.events.rollups import rollup_state
from dutystation.events.schemas import EventKind
from dutystation.services import import_audit, rollups
from dutystation.services.presence import memory_bytes, presence_settings_from
from dutystation.store.repositories import reference_data

T = TypeVar("T")


@dataclass(frozen=True)
class RollupStatus:
    kind: EventKind
    months: int
    complete: int
    rows: int


@dataclass(frozen=True)
class RestatementEntry:
    batch_id: str
    kind: EventKind
    committed_at: str
    restatement: Restatement


def status(runtime: Runtime) -> tuple[list[RollupStatus], list[RestatementEntry]]:
    """Per kind, how many months are rolled up; and every restatement ever recorded."""
    manifests = runtime.events.manifests()
    states = []
    for kind in EventKind:
        state = rollup_state(manifests, kind)
        months = state.months()
        states.append(
            RollupStatus(
                kind,
                len(months),
                sum(1 for m in months if state.complete(m) and m in state.current),
                sum(g.file.rows for g in state.current.values()),
            )
        )
    restated = [
        RestatementEntry(m.batch_id, m.kind, m.created_at.isoformat(timespec="seconds"), r)
        for m in manifests
        for r in m.restatements
    ]
    return states, restated


def _run(runtime: Runtime, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    scratch = runtime.settings.tmp_dir / f"rollup-{uuid.uuid4().hex[:12]}"
    scratch.mkdir(parents=True, exist_ok=True)
    con = connect(runtime.settings, database=scratch / "rollup.duckdb")
    try:
        return work(con)
    except duckdb.OutOfMemoryException:
        raise StoreError(
            "the roll-up needs more memory than duckdb_memory_limit "
            f"({runtime.settings.duckdb_memory_limit}) allows; raise it and run again "
            "(nothing was changed)"
        ) from None
    except duckdb.Error as exc:
        raise StoreError(
            f"the roll-up stopped ({type(exc).__name__}); nothing was changed"
        ) from None
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)


def rebuild(runtime: Runtime, progress: Callable[[str], None] = lambda _: None) -> list[Manifest]:
    """Recompute the whole roll-up from the raw events and commit it (audited)."""
    settings = runtime.settings
    with Session(runtime.engine) as session:
        sites = reference_data(session).sites
    presence = presence_settings_from(settings)
    limit = memory_bytes(settings.duckdb_memory_limit)
    with runtime.events.lock() as held:
        held.recover()
        import_audit.backfill(runtime.engine, held)
        committed = _run(
            runtime, lambda con: rollups.rebuild(held, con, sites, presence, limit, progress)
        )
        for manifest in committed:
            import_audit.record_batch(runtime.engine, SYSTEM, manifest)
    return committed


def verify(
    runtime: Runtime, progress: Callable[[str], None] = lambda _: None
) -> rollups.VerifyReport:
    """Compare the roll-up with the raw events; raises ``RollupMismatch`` naming the first
    month that disagrees (reads only: nothing is changed)."""
    settings = runtime.settings
    with Session(runtime.engine) as session:
        sites = reference_data(session).sites
    presence = presence_settings_from(settings)
    limit = memory_bytes(settings.duckdb_memory_limit)
    report = _run(
        runtime,
        lambda con: rollups.verify(runtime.events, con, sites, presence, limit, progress),
    )
    for check in report.bad:
        where = f"the {check.kind} roll-up of {check.month}"
        if not check.complete:
            message = f"{where} is missing or older than its events"
        elif check.differing:
            message = (
                f"{where} disagrees with the raw events on {check.differing:,} rows "
                f"(first: {check.first_difference})"
            )
        else:
            message = f"{where} was built with other badge settings than the current ones"
        raise RollupMismatch(f"{message}; run `dutystation rollup rebuild`")
    return report
