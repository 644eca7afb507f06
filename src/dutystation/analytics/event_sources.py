"""The event store's committed files for a date range, as DuckDB relations.

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
    badges: str  # relation with BADGE_COLUMNS
    timecard_files: int
    badge_files: int


def event_sources(store: EventStore, start: date, end: date) -> EventSources:
    months = set(months_between(start, end))
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
    if not parts:
        parts.append(f"SELECT {TIMECARD_COLUMNS} FROM {store.scan_sql(EventKind.TIMECARDS, [])}")
    badge_files = store.files(EventKind.BADGES, months)
    return EventSources(
        timecards="(" + " UNION ALL ".join(parts) + ")",
        badges=f"(SELECT {BADGE_COLUMNS} FROM {store.scan_sql(EventKind.BADGES, months)})",
        timecard_files=len(single) + len(several),
        badge_files=len(badge_files),
    )


def _read(paths: list[str]) -> str:
    listed = ", ".join(sql_string(p) for p in paths)
    return f"read_parquet([{listed}], hive_partitioning = false)"
