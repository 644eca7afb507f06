"""The badge-event and T&A-hours store: append-only Parquet partitioned by month, one
manifest per committed batch (docs/decisions/0001-event-store-commit-protocol.md)."""

from dutystation.events.manifest import Manifest, PartitionFile, SourceFile
from dutystation.events.schemas import BADGE_EVENTS_SCHEMA, TIMECARDS_SCHEMA, EventKind
from dutystation.events.store import EventStore, StoreLock

__all__ = [
    "BADGE_EVENTS_SCHEMA",
    "TIMECARDS_SCHEMA",
    "EventKind",
    "EventStore",
    "Manifest",
    "PartitionFile",
    "SourceFile",
    "StoreLock",
]
