"""The event store's committed evidence for a date range, as DuckDB relations.

Months whose employee-day roll-up is complete are read from it (a row per employee and day
instead of every tap; the T&A rows in force, corrections already applied). The others are
read from the raw events as follows.

Only the month partitions that hold days of the range are read (partition pruning through
the manifests, not a directory listing, so uncommitted files are never seen). Timecards
need the latest batch per employee, day and pay code (a re-sent day is a correction); that
window costs a sort of every row, and it can only change something in a month that more
than one batch wrote: the importer rejects a repeated (employee, day, pay code) inside one
batch, and a month file holds only that month's days. So months written by one batch are
scanned as they are and only the others go through ``latest_timecards_sql``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from dutystation.events.rollups import RollupState, rollup_state
from dutystation.events.schemas import EventKind
from dutystation.events.store import EventStore, latest_timecards_sql, sql_string

TIMECARD_COLUMNS = "employee_id, date, category, hours, site_id"
BADGE_COLUMNS = "employee_id, local_date"


def months_between(start: date, end: date) -> list[str]:
    """``YYYY-MM`` of every month holding a day of ``start..end``."""
    months = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


@dataclass(frozen=True)
class EventSources:
    timecards: str  # relation with TIMECARD_COLUMNS
    badges: str  # relation with BADGE_COLUMNS: at least one row per day with a tap
    timecard_files: int
    badge_files: int
    rolled_up_months: int = 0  # months read from the roll-up rather than raw events


def event_sources(
    store: EventStore, start: date, end: date, *, rollup: bool = True
) -> EventSources:
    """The evidence of ``start..end``: from the employee-day roll-up for every month whose
    roll-up is complete (events/rollups.py), from the raw events for the others (for all
    months when ``rollup`` is false)."""
    months = months_between(start, end)
    manifests = (
        [m.without_rollups() for m in store.manifests()] if not rollup else store.manifests()
    )
    badge_state = rollup_state(manifests, EventKind.BADGES)
    timecard_state = rollup_state(manifests, EventKind.TIMECARDS)
    badge_days = _generations(store, badge_state, months)
    timecard_days = _generations(store, timecard_state, months)
    raw_badges = [m for m in months if not badge_state.complete(m)]
    raw_timecards = {m for m in months if not timecard_state.complete(m)}
    timecards = _raw_timecards(store, raw_timecards)
    if timecard_days:
        timecards.append(f"SELECT {TIMECARD_COLUMNS} FROM {_read(timecard_days)}")
    if not timecards:
        timecards.append(
            f"SELECT {TIMECARD_COLUMNS} FROM {store.scan_sql(EventKind.TIMECARDS, [])}"
        )
    badges = []
    if store.files(EventKind.BADGES, raw_badges):
        badges.append(f"SELECT {BADGE_COLUMNS} FROM {store.scan_sql(EventKind.BADGES, raw_badges)}")
    if not badges and not badge_days:
        badges.append("SELECT NULL::VARCHAR AS employee_id, NULL::DATE AS local_date WHERE false")
    if badge_days:
        badges.append(f"SELECT {BADGE_COLUMNS} FROM {_read(badge_days)}")
    return EventSources(
        timecards="(" + " UNION ALL ".join(timecards) + ")",
        badges="(" + " UNION ALL ".join(badges) + ")",
        timecard_files=len(store.files(EventKind.TIMECARDS, raw_timecards)) + len(timecard_days),
        badge_files=len(store.files(EventKind.BADGES, raw_badges)) + len(badge_days),
        rolled_up_months=len(
            {m for m in months if m in badge_state.current or m in timecard_state.current}
        ),
    )


def _generations(store: EventStore, state: RollupState, months: list[str]) -> list[str]:
    return [
        str(store.root / state.current[m].file.path)
        for m in months
        if m in state.current and state.complete(m)
    ]


def _raw_timecards(store: EventStore, months: set[str]) -> list[str]:
    """T&A rows in force of ``months`` from the raw events (see the module docstring)."""
    batches: dict[str, set[str]] = defaultdict(set)
    files: dict[str, list[str]] = defaultdict(list)
    for manifest in store.manifests(EventKind.TIMECARDS):
        for f in manifest.files:
            if f.month in months:
                batches[f.month].add(manifest.batch_id)
                files[f.month].append(str(store.root / f.path))
    single = [p for m in sorted(files) if len(batches[m]) == 1 for p in files[m]]
    several = [p for m in sorted(files) if len(batches[m]) > 1 for p in files[m]]
    parts = []
    if single:
        parts.append(f"SELECT {TIMECARD_COLUMNS} FROM {_read(single)}")
    if several:
        latest = latest_timecards_sql(_read(several))
        parts.append(f"SELECT {TIMECARD_COLUMNS} FROM {latest}")
    return parts


def _read(paths: list[str]) -> str:
    listed = ", ".join(sql_string(p) for p in paths)
    return f"read_parquet([{listed}], hive_partitioning = false)"
