"""The employee-day roll-up: where it lives in the event store and which files are current.

Every import writes, in the same batch as its events (one manifest, one rename), a new
**generation** of the roll-up of each month it touched: the whole month, one Parquet file::

    rollup/badges/month=YYYY-MM/<batch_id>.parquet      BADGE_DAYS_SCHEMA
    rollup/timecards/month=YYYY-MM/<batch_id>.parquet   TIMECARD_DAYS_SCHEMA

The current generation of a month is the one named by the latest manifest of that kind
that names one. A month is **complete** when no batch of its events is newer than its
current generation; readers use the roll-up of complete months and the raw events of the
others (a store written before roll-ups existed, until ``dutystation rollup rebuild``).
Superseded generations are deleted by the next import, one generation late, so a reader
that listed the manifests just before an import can still open the files it listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from dutystation.events.manifest import Manifest, PartitionFile
from dutystation.events.schemas import EventKind

ROLLUP_DIR = "rollup"

# One row per employee and office-local day with a kept tap (analytics/presence.py), with
# the hours of both pairing conventions so a change of ``badge_hours`` needs no rebuild.
BADGE_DAYS_SCHEMA = pa.schema(
    [
        ("employee_id", pa.string()),
        ("local_date", pa.date32()),
        ("taps", pa.int64()),
        ("first_in", pa.timestamp("us")),  # office-local wall time
        ("last_out", pa.timestamp("us")),
        ("hours_first_last", pa.float64()),
        ("hours_pairs", pa.float64()),
        ("site_id", pa.string()),  # the office of the day's first kept tap
    ]
)

# The T&A rows in force: for each employee, day and pay code the row of the latest batch.
TIMECARD_DAYS_SCHEMA = pa.schema(
    [
        ("employee_id", pa.string()),
        ("date", pa.date32()),
        ("category", pa.string()),
        ("source_code", pa.string()),
        ("hours", pa.float64()),
        ("site_id", pa.string()),
    ]
)

ROLLUP_SCHEMAS: dict[EventKind, pa.Schema] = {
    EventKind.BADGES: BADGE_DAYS_SCHEMA,
    EventKind.TIMECARDS: TIMECARD_DAYS_SCHEMA,
}


def rollup_path(kind: EventKind, month: str, batch_id: str) -> str:
    """Where a generation is published, relative to the events directory."""
    return f"{ROLLUP_DIR}/{kind}/month={month}/{batch_id}.parquet"


@dataclass(frozen=True)
class Generation:
    file: PartitionFile
    sequence: int


@dataclass(frozen=True)
class RollupState:
    """The roll-up of one kind as the manifests describe it."""

    current: dict[str, Generation]  # month -> current generation
    superseded: list[PartitionFile]  # older generations, oldest first
    newest_events: dict[str, int]  # month -> sequence of the latest batch with events there

    def complete(self, month: str) -> bool:
        """True when the month's roll-up includes every batch of its events (a month
        without events is complete: there is nothing to roll up)."""
        newest = self.newest_events.get(month)
        if newest is None:
            return True
        generation = self.current.get(month)
        return generation is not None and generation.sequence >= newest

    def months(self) -> list[str]:
        return sorted(set(self.current) | set(self.newest_events))


def rollup_state(manifests: Sequence[Manifest], kind: EventKind) -> RollupState:
    """``manifests`` are the store's (any order); only those of ``kind`` count."""
    current: dict[str, Generation] = {}
    superseded: list[PartitionFile] = []
    newest: dict[str, int] = {}
    for manifest in sorted(manifests, key=lambda m: m.sequence):
        if manifest.kind != kind:
            continue
        for f in manifest.files:
            newest[f.month] = manifest.sequence
        for f in manifest.rollups:
            if f.month in current:
                superseded.append(current[f.month].file)
            current[f.month] = Generation(f, manifest.sequence)
    return RollupState(current, superseded, newest)
