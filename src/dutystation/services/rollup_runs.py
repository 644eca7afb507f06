"""``dutystation rollup rebuild``, ``rollup status`` and ``verify`` against a runtime.

Store maintenance like ``db upgrade``: the CLI runs them as the operating-system account
that owns the data directory (docs/access.md), and a rebuild is audited as ``system``.

A rebuild and a check compute on the configured engine: DuckDB, or Spark when ``analytics``
is ``spark`` (the same SQL, docs/spark.md); the store lock, the files' publication and the
manifests stay here either way.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import duckdb
from sqlalchemy.orm import Session

from dutystation.analytics.engine import connect, memory_errors
from dutystation.bootstrap import Runtime
from dutystation.domain.access import SYSTEM
from dutystation.errors import ConfigError, RollupMismatch, StoreError
from dutystation.events.manifest import Manifest, Restatement
from dutystation.events.period_results import PeriodResults
from dutystation.events.rollups import rollup_state
from dutystation.events.schemas import EventKind
from dutystation.services import import_audit, rollups
from dutystation.services import rollup_sql as q
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


def _run(runtime: Runtime, job: str, work: Callable[[q.Connection, int | None], T]) -> T:
    """``work(connection, memory_bytes)`` on the configured engine (``memory_bytes``: the
    chunk budget on DuckDB, None on Spark)."""
    settings = runtime.settings
    if settings.analytics == "spark":
        try:
            from dutystation.analytics.spark_engine import spark_connection
        except ModuleNotFoundError:  # sqlglot: the [spark] extra is not installed
            raise ConfigError(
                "analytics = spark needs pyspark and sqlglot: pip install 'dutystation[spark]'"
            ) from None
        with spark_connection(settings, job) as spark:
            return work(spark, None)
    scratch = settings.tmp_dir / f"rollup-{uuid.uuid4().hex[:12]}"
    scratch.mkdir(parents=True, exist_ok=True)
    con = connect(settings, database=scratch / "rollup.duckdb")
    try:
        with memory_errors(settings, job, "run it on Spark (analytics = spark, docs/spark.md)"):
            return work(con, memory_bytes(settings.duckdb_memory_limit))
    except duckdb.Error as exc:
        raise StoreError(f"{job} stopped ({type(exc).__name__}); nothing was stored") from None
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)


def rebuild(runtime: Runtime, progress: Callable[[str], None] = lambda _: None) -> list[Manifest]:
    """Recompute the whole roll-up from the raw events and commit it (audited)."""
    settings = runtime.settings
    with Session(runtime.engine) as session:
        sites = reference_data(session).sites
    presence = presence_settings_from(settings)
    with runtime.events.lock() as held:
        held.recover()
        import_audit.backfill(runtime.engine, held)

        def work(con: Any, limit: int | None) -> list[Manifest]:
            return rollups.rebuild(held, con, sites, presence, limit, progress)

        committed = _run(runtime, "the roll-up rebuild", work)
        for manifest in committed:
            import_audit.record_batch(runtime.engine, SYSTEM, manifest)
    PeriodResults(settings.data_dir / "periods").clear()
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
    report = _run(
        runtime,
        "the roll-up check",
        lambda con, limit: rollups.verify(runtime.events, con, sites, presence, limit, progress),
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
            message = (
                f"{where} was built with other badge settings (or presence rules) "
                "than the current ones"
            )
        raise RollupMismatch(f"{message}; run `dutystation rollup rebuild`")
    return report
