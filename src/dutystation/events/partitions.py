"""A checked batch → its month partition files, minus what the store already holds.

Both importers leave their valid rows in a DuckDB table named ``staged`` (columns listed
at each function); this module de-duplicates them within the batch and against the
committed files of the months they touch (docs/decisions/0001), and writes one Parquet
file per month into a staging directory that ``StoreLock.commit`` then publishes.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import duckdb

from dutystation.events.parquet import write_events
from dutystation.events.schemas import BADGE_EVENTS_SCHEMA, TIMECARDS_SCHEMA, EventKind
from dutystation.events.store import EventStore, latest_timecards_sql, sql_string

_BATCH_ROWS = 131_072
_WRITERS = 2
# Columns with few distinct values per month file are dictionary encoded; for employee
# ids, instants and keys a dictionary costs CPU and makes the file larger (measured on a
# 820k-event month: 20.1 bytes per event this way, 22.7 with dictionaries everywhere).
_BADGE_DICTIONARY = ["badge_id", "source_offset_minutes", "local_date", "site_id",
                     "direction", "batch_seq"]  # fmt: skip
_TIMECARD_DICTIONARY = ["category", "source_code", "site_id", "batch_seq"]


def staged_months(con: duckdb.DuckDBPyConnection, date_column: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT strftime(date_trunc('month', {date_column}), '%Y-%m') "
            "FROM staged ORDER BY 1"
        ).fetchall()
    ]


def staged_rows(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT count(*) FROM staged").fetchone()
    return int(row[0]) if row else 0


def write_badge_months(
    con: duckdb.DuckDBPyConnection, store: EventStore, out_dir: Path, batch_seq: int
) -> None:
    """Write the distinct staged badge events the store lacks, one file per month.

    ``staged``: employee_id, badge_id, utc_us, src_off, local_date, site_id, direction,
    event_key (the non-TEMP table, so that each writer's cursor sees it).

    Identical events (same employee, office, instant and direction) are one event
    delivered twice. Copies may differ in what does not identify the event (the badge
    number read, the offset the instant was written with); the smallest of each is kept,
    so the stored event does not depend on row or file order. One month at a time keeps
    the de-duplication hash table small whatever the batch size; two months at once keep
    both cores busy, as a month alternates between DuckDB's parallel aggregation and
    single-threaded Parquet encoding.
    """
    months = staged_months(con, "local_date")
    with ThreadPoolExecutor(max_workers=_WRITERS, thread_name_prefix="event-writer") as pool:
        pending = [pool.submit(_badge_month, con, store, m, out_dir, batch_seq) for m in months]
        for job in pending:
            job.result()


def _badge_month(
    con: duckdb.DuckDBPyConnection, store: EventStore, month: str, out_dir: Path, seq: int
) -> None:
    first = date.fromisoformat(f"{month}-01")
    after = (first + timedelta(days=32)).replace(day=1)
    existing = store.scan_sql(EventKind.BADGES, [month])
    query = f"""WITH d AS (
          SELECT employee_id, site_id, utc_us, direction, min(badge_id) AS badge_id,
            min(src_off) AS src_off, any_value(local_date) AS local_date,
            any_value(event_key) AS event_key
          FROM staged WHERE local_date >= DATE '{first}' AND local_date < DATE '{after}'
          GROUP BY employee_id, site_id, utc_us, direction
        ), k AS (SELECT d.*, make_timestamptz(utc_us) AS ts_utc FROM d)
        SELECT k.employee_id, k.badge_id, k.ts_utc, k.src_off AS source_offset_minutes,
          k.local_date, k.site_id, k.direction, {int(seq)}::BIGINT AS batch_seq, k.event_key
        FROM k WHERE NOT EXISTS (
          SELECT 1 FROM {existing} x WHERE x.event_key = k.event_key
            AND x.employee_id = k.employee_id AND x.site_id = k.site_id
            AND x.ts_utc = k.ts_utc AND x.direction IS NOT DISTINCT FROM k.direction)"""
    target = out_dir / f"month={month}"
    target.mkdir(parents=True, exist_ok=True)
    cursor = con.cursor()  # a connection of its own, to the same database
    try:
        cursor.execute("SET TimeZone = 'UTC'")
        rows = cursor.sql(query).to_arrow_reader(_BATCH_ROWS)
        write_events(rows, target / "part.parquet", BADGE_EVENTS_SCHEMA,
                     dictionary=_BADGE_DICTIONARY)  # fmt: skip
    finally:
        cursor.close()


def write_timecard_months(
    con: duckdb.DuckDBPyConnection, store: EventStore, out_dir: Path, batch_seq: int
) -> int:
    """Write the staged timecards that are new or correct a stored row; returns how many
    are corrections. ``staged``: employee_id, date, category, source_code, hours, site_id.

    A row equal to the row in force for its employee, day and pay code is a duplicate;
    one that differs in hours, category or office corrects it (stored with the later
    batch sequence; readers take the latest)."""
    months = staged_months(con, "date")
    current = latest_timecards_sql(store.scan_sql(EventKind.TIMECARDS, months))
    con.execute(
        f"""CREATE TEMP TABLE outgoing AS
        WITH d AS (
          SELECT employee_id, date, source_code, hours, category, site_id
          FROM staged GROUP BY ALL
        )
        SELECT d.*, c.employee_id IS NOT NULL AS corrects FROM d
        LEFT JOIN {current} c ON c.employee_id = d.employee_id AND c.date = d.date
          AND c.source_code = d.source_code
        WHERE c.employee_id IS NULL OR c.hours <> d.hours OR c.category <> d.category
          OR c.site_id IS DISTINCT FROM d.site_id"""
    )
    for month in months:
        target = out_dir / f"month={month}"
        target.mkdir(parents=True, exist_ok=True)
        rows = con.sql(
            f"""SELECT employee_id, date, category, source_code, hours, site_id,
              {int(batch_seq)}::BIGINT AS batch_seq FROM outgoing
            WHERE strftime(date, '%Y-%m') = {sql_string(month)}"""
        ).to_arrow_reader(_BATCH_ROWS)
        write_events(rows, target / "part.parquet", TIMECARDS_SCHEMA,
                     dictionary=_TIMECARD_DICTIONARY)  # fmt: skip
    row = con.execute("SELECT count(*) FROM outgoing WHERE corrects").fetchone()
    return int(row[0]) if row else 0
