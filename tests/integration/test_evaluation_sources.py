"""The event files an evaluation reads: only the months of its range, committed batches
only, and for timecards the latest batch of a re-sent day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dutystation.analytics.event_sources import event_sources
from dutystation.events.schemas import TIMECARDS_SCHEMA, EventKind
from dutystation.events.store import EventStore


def commit(
    store: EventStore, batch: str, sequence: int, rows: list[tuple[str, date, float]]
) -> None:
    table = pa.table(
        {
            "employee_id": [r[0] for r in rows],
            "date": pa.array([r[1] for r in rows], pa.date32()),
            "category": ["onsite"] * len(rows),
            "source_code": ["REG"] * len(rows),
            "hours": [r[2] for r in rows],
            "site_id": ["S1"] * len(rows),
            "batch_seq": [sequence] * len(rows),
        },
        schema=TIMECARDS_SCHEMA,
    )
    with store.lock() as held:
        staged = []
        for month in sorted({r[1].strftime("%Y-%m") for r in rows}):
            path = held.staging_dir(batch) / f"{month}.parquet"
            part = table.filter(pc.equal(pc.strftime(table["date"], "%Y-%m"), month))
            pq.write_table(part, path)
            staged.append((month, path))
        held.commit(
            kind=EventKind.TIMECARDS,
            batch_id=batch,
            sequence=sequence,
            created_at=datetime.now(UTC),
            profile="test",
            sources=[],
            staged=staged,
            rows_read=table.num_rows,
            duplicates=0,
            rejected=0,
        )


def test_a_resent_day_counts_once_with_its_latest_hours(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "events")
    commit(store, "b1", 1, [("E1", date(2025, 2, 3), 8.0), ("E1", date(2025, 3, 3), 8.0)])
    commit(store, "b2", 2, [("E1", date(2025, 2, 3), 6.0)])  # a correction of February
    sources = event_sources(store, date(2025, 2, 1), date(2025, 3, 31))
    rows = duckdb.sql(f"SELECT date, hours FROM {sources.timecards} ORDER BY date").fetchall()
    assert rows == [(date(2025, 2, 3), 6.0), (date(2025, 3, 3), 8.0)]
    assert sources.timecard_files == 3


def test_only_the_months_of_the_range_are_read(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "events")
    commit(store, "b1", 1, [("E1", date(2025, 2, 3), 8.0), ("E1", date(2025, 3, 3), 8.0)])
    sources = event_sources(store, date(2025, 3, 1), date(2025, 3, 31))
    assert sources.timecard_files == 1
    assert "month=2025-02" not in sources.timecards
    assert sources.badge_files == 0
    assert duckdb.sql(f"SELECT count(*) FROM {sources.badges}").fetchall() == [(0,)]
