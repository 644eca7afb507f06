"""Keeping the employee-day roll-up (events/rollups.py) in step with the raw events.

- ``stage_rollups``: called by every event import, under the store lock, after the batch's
  events are staged and before its manifest is written: the new generations of the months
  the batch touched are staged beside the events and committed with them, so the roll-up
  never lags or leads the events it summarises. Roll-up rows of days that an earlier batch
  had already rolled up and that this batch changes are a **restatement**, recorded in the
  manifest (and so in the import's audit record).
- ``rebuild``: every month's roll-up recomputed from the raw events, committed as one
  batch of purpose ``rollup-rebuild`` per kind (after a settings change, or for a store
  written before roll-ups existed). Every kind is staged before the first is committed,
  so a rebuild that fails commits nothing.
- ``verify``: every month's roll-up recomputed and compared with the current generation.

``rebuild`` and ``verify`` run on DuckDB or on Spark (``rollup_sql.Connection``); imports
stage on DuckDB (docs/spark.md says why).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from dutystation.analytics.event_sources import months_between
from dutystation.analytics.presence import BYTES_PER_EVENT, day_chunks
from dutystation.domain.presence import PresenceSettings
from dutystation.events.manifest import Manifest, Restatement
from dutystation.events.rollups import ROLLUP_SCHEMAS, RollupState, rollup_state
from dutystation.events.schemas import EventKind
from dutystation.events.store import EventStore, StoreLock
from dutystation.services import rollup_sql as q

REBUILD = "rollup-rebuild"


@dataclass(frozen=True)
class StagedRollups:
    files: list[tuple[str, Path]]  # (month, staged generation)
    restatements: list[Restatement]


def stage_rollups(
    con: duckdb.DuckDBPyConnection,
    held: StoreLock,
    kind: EventKind,
    staged_events: list[Path],
    sites: pa.Table,
    settings: PresenceSettings,
    out_dir: Path,
) -> StagedRollups:
    """Stage the new roll-up generations for a batch whose events are ``staged_events``."""
    if not staged_events:
        return StagedRollups([], [])
    store = held.store
    state = rollup_state(store.manifests(), kind)
    batch = q.read_files([str(p) for p in staged_events])
    day = q.DAY[kind]
    bounds = con.execute(f"SELECT min({day}), max({day}) FROM {batch}").fetchall()[0]
    if bounds is None or bounds[0] is None:
        return StagedRollups([], [])
    q.sites_table(con, sites)
    if kind is EventKind.BADGES:
        days = q.margin((bounds[0], bounds[1]), 1)
        con.execute(f"CREATE OR REPLACE TEMP TABLE aff AS SELECT DISTINCT employee_id FROM {batch}")
        events = _committed(store, kind, q.margin(days, 1)) + [str(p) for p in staged_events]
        q.fresh_badge_days(con, events, settings, days, "aff", "fresh")
        affected = (
            f"(o.employee_id IN (SELECT employee_id FROM aff) AND o.local_date "
            f"BETWEEN DATE '{days[0]}' AND DATE '{days[1]}')"
        )
        metadata = q.presence_key(settings)
    else:
        days = (bounds[0], bounds[1])
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE aff AS SELECT DISTINCT employee_id, date FROM {batch}"
        )
        events = _committed(store, kind, days) + [str(p) for p in staged_events]
        q.fresh_timecard_days(con, events, "aff", "fresh")
        affected = (
            "EXISTS (SELECT 1 FROM aff AS k "
            "WHERE k.employee_id = o.employee_id AND k.date = o.date)"
        )
        metadata = "timecards"
    months = months_between(days[0], days[1])
    previous = q.relation(
        con,
        kind,
        [str(store.root / state.current[m].file.path) for m in months if m in state.current],
        "prev_empty",
    )
    restatements = _restatements(con, kind, state, store, previous, affected, months)
    files = []
    for month in months:
        out = out_dir / "rollup" / f"{month}.parquet"
        if q.write_generation(
            con, kind, month, previous, f"NOT {affected}", "fresh", out, metadata
        ):
            files.append((month, out))
    return StagedRollups(files, restatements)


def _committed(store: EventStore, kind: EventKind, days: tuple[date, date]) -> list[str]:
    return [str(p) for p in store.files(kind, months_between(days[0], days[1]))]


def _restatements(
    con: duckdb.DuckDBPyConnection,
    kind: EventKind,
    state: RollupState,
    store: EventStore,
    previous: str,
    affected: str,
    months: list[str],
) -> list[Restatement]:
    """Rows of the affected set that differ from the previous generation, on days at or
    before the last day already rolled up for that employee (a later day is news, not a
    restatement)."""
    later = [m for m in state.current if m >= months[0]]
    if not later:
        return []
    day = q.DAY[kind]
    rolled = q.read_files([str(store.root / state.current[m].file.path) for m in sorted(later)])
    found = con.execute(f"""
        WITH last AS (
            SELECT employee_id, max({day}) AS last_day FROM {rolled}
            WHERE employee_id IN (SELECT employee_id FROM aff) GROUP BY employee_id
        ),
        before AS (SELECT * FROM {previous} AS o WHERE {affected}),
        changed AS (
            SELECT DISTINCT employee_id, {day} AS day
            FROM {q.differences(kind, "before", "fresh")}
        )
        SELECT {q.month_of("c.day")} AS month, min(c.day), max(c.day),
            count(DISTINCT c.employee_id), count(*)
        FROM changed AS c JOIN last AS l USING (employee_id)
        WHERE c.day <= l.last_day
        GROUP BY 1 ORDER BY 1
    """).fetchall()
    return [
        Restatement(str(m), first.isoformat(), last.isoformat(), int(people), int(n))
        for m, first, last, people, n in found
    ]


# --------------------------------------------------------------------- rebuild, verify


@dataclass
class MonthCheck:
    kind: EventKind
    month: str
    rows: int = 0
    differing: int = 0
    first_difference: str = ""
    complete: bool = True
    settings_differ: bool = False


@dataclass
class VerifyReport:
    months: list[MonthCheck] = field(default_factory=list)

    @property
    def bad(self) -> list[MonthCheck]:
        return [m for m in self.months if m.differing or not m.complete or m.settings_differ]


def _month_days(month: str) -> tuple[date, date]:
    first = date.fromisoformat(f"{month}-01")
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, date.fromordinal(following.toordinal() - 1)


def _groups(months: list[str], memory_bytes: int | None) -> list[list[str]]:
    """Months computed together: one at a time on DuckDB (``memory_bytes`` bounds each),
    all at once on Spark (None), where every statement is a job with a fixed cost of
    seconds however few rows it holds."""
    if not months:
        return []
    return [months] if memory_bytes is None else [[m] for m in months]


def _recompute(
    con: q.Connection,
    store: EventStore,
    kind: EventKind,
    months: list[str],
    settings: PresenceSettings,
    memory_bytes: int | None,
    into: str,
) -> None:
    """``into``: the roll-up rows of the days of ``months`` (consecutive or not) computed
    from every committed event. Badge days in chunks that fit ``memory_bytes`` (DuckDB),
    or all at once (None: Spark, which spills by itself)."""
    days = (_month_days(months[0])[0], _month_days(months[-1])[1])
    created = False
    if kind is EventKind.TIMECARDS:
        files = _committed(store, kind, days)
        if files:
            q.fresh_timecard_days(con, files, None, into)
            created = True
    else:
        per_month = {f.month: f.rows for m in store.manifests(kind) for f in m.files}
        chunks = (
            [days]
            if memory_bytes is None
            else day_chunks(days, per_month, max(1, memory_bytes // BYTES_PER_EVENT))
        )
        for chunk in chunks:
            files = _committed(store, kind, q.margin(chunk, 2))
            if files and created:
                q.insert_badge_days(con, files, settings, chunk, into)
            elif files:
                q.fresh_badge_days(con, files, settings, chunk, None, into)
                created = True
    if not created:
        con.register(f"{into}_empty", ROLLUP_SCHEMAS[kind].empty_table())
        con.execute(f"CREATE OR REPLACE TEMP TABLE {into} AS SELECT * FROM {into}_empty")


def _shown(kind: EventKind, months: list[str]) -> str:
    return f"{kind} {months[0]}" + (f" to {months[-1]}" if len(months) > 1 else "")


def rebuild(
    held: StoreLock,
    con: q.Connection,
    sites: pa.Table,
    settings: PresenceSettings,
    memory_bytes: int | None,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Manifest]:
    """Recompute every month's roll-up from the raw events; one committed batch per kind.
    ``memory_bytes``: DuckDB's chunk budget, None on Spark (``_groups``)."""
    q.sites_table(con, sites)
    store = held.store
    staged = []
    for kind in EventKind:
        state = rollup_state(store.manifests(), kind)
        months = sorted(state.newest_events)
        if not months:
            continue
        batch_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:12]}"
        staging = held.staging_dir(batch_id)
        files = []
        metadata = q.presence_key(settings) if kind is EventKind.BADGES else "timecards"
        for group in _groups(months, memory_bytes):
            progress(_shown(kind, group))
            _recompute(con, store, kind, group, settings, memory_bytes, "fresh")
            for month in group:
                out = staging / "rollup" / f"{month}.parquet"
                if q.write_generation(con, kind, month, "fresh", "false", "fresh", out, metadata):
                    files.append((month, out))
        staged.append((kind, batch_id, files))
    # Committed only once every kind is staged: a rebuild that fails commits nothing.
    committed = []
    for kind, batch_id, files in staged:
        committed.append(
            held.commit(
                kind=kind,
                batch_id=batch_id,
                sequence=held.next_sequence(),
                created_at=datetime.now(UTC),
                profile="",
                sources=[],
                staged=[],
                rows_read=0,
                duplicates=0,
                rejected=0,
                rollups=files,
                purpose=REBUILD,
            )
        )
    return committed


def verify(
    store: EventStore,
    con: q.Connection,
    sites: pa.Table,
    settings: PresenceSettings,
    memory_bytes: int | None,
    progress: Callable[[str], None] = lambda _: None,
) -> VerifyReport:
    """Compare every month's current roll-up with the raw events (reads only).
    ``memory_bytes``: DuckDB's chunk budget, None on Spark (``_groups``)."""
    q.sites_table(con, sites)
    report = VerifyReport()
    manifests = store.manifests()
    for kind in EventKind:
        state = rollup_state(manifests, kind)
        checked: dict[str, tuple[MonthCheck, str]] = {}
        for month in state.months():
            check = MonthCheck(kind, month)
            report.months.append(check)
            generation = state.current.get(month)
            if not state.complete(month) or generation is None:
                check.complete = False
                continue
            path = str(store.root / generation.file.path)
            check.rows, built_with = q.file_metadata(path)
            if kind is EventKind.BADGES:
                check.settings_differ = built_with != q.presence_key(settings)
            checked[month] = (check, path)
        day = q.DAY[kind]
        for group in _groups(list(checked), memory_bytes):
            progress(_shown(kind, group))
            _recompute(con, store, kind, group, settings, memory_bytes, "fresh")
            current = q.read_files([checked[m][1] for m in group])
            listed = ", ".join(f"'{m}'" for m in group)
            # Only the months checked: a month between them may be incomplete.
            fresh = f"(SELECT * FROM fresh WHERE {q.month_of(day)} IN ({listed}))"
            found = con.execute(
                f"SELECT {q.month_of(day)} AS month, count(*), "
                f"min(employee_id || ' ' || CAST({day} AS VARCHAR)) "
                f"FROM {q.differences(kind, current, fresh)} GROUP BY 1"
            ).fetchall()
            for month, differing, first in found:
                checked[str(month)][0].differing = int(differing)
                checked[str(month)][0].first_difference = str(first)
    return report
