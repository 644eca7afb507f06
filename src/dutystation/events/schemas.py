"""The canonical columns of each event dataset. Every Parquet file of a kind has exactly
this schema; ``tests/integration/test_event_store.py`` reads files back and checks it."""

from __future__ import annotations

from enum import StrEnum

import pyarrow as pa


class EventKind(StrEnum):
    BADGES = "badges"
    TIMECARDS = "timecards"


BADGE_EVENTS_SCHEMA = pa.schema(
    [
        ("employee_id", pa.string()),
        ("badge_id", pa.string()),  # null when the source named the employee directly
        ("ts_utc", pa.timestamp("us", tz="UTC")),
        # The UTC offset the source wrote (ISO 8601 "+hh:mm" or "Z"); null when it wrote a
        # naive local time, so an audit can tell measured offsets from derived ones.
        ("source_offset_minutes", pa.int16()),
        ("local_date", pa.date32()),  # the workday on the office's clock, not UTC
        ("site_id", pa.string()),
        ("direction", pa.string()),  # IN, OUT or null
        ("batch_seq", pa.int64()),
        # First 8 bytes of md5 over the identity of the event (see ingest/badges.py): stable
        # across DuckDB versions and reproducible in Spark, unlike DuckDB's hash().
        ("event_key", pa.uint64()),
    ]
)

TIMECARDS_SCHEMA = pa.schema(
    [
        ("employee_id", pa.string()),
        ("date", pa.date32()),
        ("category", pa.string()),  # a HoursCategory value
        ("source_code", pa.string()),  # the agency's pay code before the profile mapped it
        ("hours", pa.float64()),
        ("site_id", pa.string()),
        ("batch_seq", pa.int64()),
    ]
)

SCHEMAS: dict[EventKind, pa.Schema] = {
    EventKind.BADGES: BADGE_EVENTS_SCHEMA,
    EventKind.TIMECARDS: TIMECARDS_SCHEMA,
}
