"""The roll-up's rows computed from raw events, on a DuckDB connection (events/rollups.py).

Both kinds are computed for an **affected set** and merged into the month's previous
generation: the previous rows outside the set stay, the set's rows are replaced by fresh
ones computed from every committed event plus the batch's. The affected set is

- badges: the batch's employees on every day from the day before its first to the day
  after its last (a tap can change its neighbours' hours: a pair over midnight, rule 6
  of ``domain/presence.py``);
- T&A: the batch's (employee, day) pairs (rows in force are per employee, day, pay code).

A full rebuild is the same computation with every employee and day of the month affected
and no previous generation, which is why rebuild and incremental agree.

The SQL is DuckDB's. A rebuild or check on Spark (``analytics = "spark"``) runs the same
text through ``analytics.spark_engine.SparkConnection`` (translated by ``spark_sql``); only
the writing of a generation differs: DuckDB's ``COPY``, or Spark's rows collected as Arrow
and written here with the same schema, order, compression and metadata.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from dutystation.analytics.presence import badge_days_sql
from dutystation.domain.presence import PresenceSettings
from dutystation.events.rollups import ROLLUP_SCHEMAS
from dutystation.events.schemas import EventKind
from dutystation.events.store import latest_timecards_sql, sql_string

# The column that holds each kind's day.
DAY = {EventKind.BADGES: "local_date", EventKind.TIMECARDS: "date"}
# Hours compared after rounding: the pairs convention sums a day's pairs, and a sum's last
# bit depends on the order DuckDB's threads add in.
_ROUND = 9
METADATA_KEY = "dutystation"


class Connection(Protocol):
    """What the roll-up's SQL runs on: a DuckDB connection, or a ``SparkConnection``."""

    def register(self, name: str, table: pa.Table, /) -> object: ...

    def execute(self, sql: str, /) -> Any: ...

    def sql(self, query: str, /) -> Any: ...


def read_files(paths: list[Path] | list[str]) -> str:
    if not paths:
        raise ValueError("no files")
    listed = ", ".join(sql_string(str(p)) for p in paths)
    return f"read_parquet([{listed}], hive_partitioning = false)"


def relation(con: Connection, kind: EventKind, paths: list[str], name: str) -> str:
    """``paths`` read as ``kind``'s roll-up rows, or an empty relation of its columns."""
    if paths:
        return read_files(paths)
    con.register(name, ROLLUP_SCHEMAS[kind].empty_table())
    return name


def presence_key(settings: PresenceSettings) -> str:
    """The badge settings a badge roll-up's hours depend on (kept in each file's metadata,
    so ``verify`` can say a roll-up was built with other settings). ``rules`` numbers the
    presence rules themselves: 2 since debounce stays within a day (rule 3), so a roll-up
    built by an earlier release is reported as built with other settings, and rebuilt."""
    return (
        f"rules=2;direction={settings.direction_mode.value};"
        f"debounce={settings.debounce_seconds:g};"
        f"max_pair_hours={settings.max_pair_hours:g}"
    )


def fresh_badge_days(
    con: Connection,
    events: list[str],
    settings: PresenceSettings,
    days: tuple[date, date],
    employees: str | None,
    into: str,
) -> None:
    """``CREATE TEMP TABLE into`` with the badge days of ``days`` computed from the
    Parquet files ``events`` (which must hold the day either side); the sites relation is
    ``rollup_sites`` (registered by the caller)."""
    query = badge_days_sql(read_files(events), "rollup_sites", settings, days, employees)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {into} AS SELECT * FROM {query}")


def insert_badge_days(
    con: Connection,
    events: list[str],
    settings: PresenceSettings,
    days: tuple[date, date],
    into: str,
) -> None:
    query = badge_days_sql(read_files(events), "rollup_sites", settings, days)
    con.execute(f"INSERT INTO {into} SELECT * FROM {query}")


def fresh_timecard_days(con: Connection, events: list[str], keys: str | None, into: str) -> None:
    """``CREATE TEMP TABLE into``: the T&A rows in force in ``events`` (all of a month's
    files), only for the (employee_id, date) pairs of ``keys`` when given."""
    rows = read_files(events)
    if keys is not None:
        rows = f"(SELECT r.* FROM {rows} AS r SEMI JOIN {keys} AS k USING (employee_id, date))"
    columns = ", ".join(ROLLUP_SCHEMAS[EventKind.TIMECARDS].names)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {into} AS SELECT {columns} FROM {latest_timecards_sql(rows)}"
    )


def month_of(day: str) -> str:
    return f"strftime({day}, '%Y-%m')"


def write_generation(
    con: Connection,
    kind: EventKind,
    month: str,
    previous: str,
    kept: str,
    fresh: str,
    out: Path,
    metadata: str,
) -> int:
    """Write the month's new generation: the ``previous`` rows ``kept`` selects (a
    condition on ``o``), and ``fresh``'s rows of the month. Returns its rows."""
    day = DAY[kind]
    columns = ", ".join(ROLLUP_SCHEMAS[kind].names)
    rows = f"""
            SELECT {columns} FROM {previous} AS o
            WHERE {month_of(f"o.{day}")} = '{month}' AND {kept}
            UNION ALL
            SELECT {columns} FROM {fresh} AS f WHERE {month_of(f"f.{day}")} = '{month}'
            ORDER BY {day}, employee_id"""
    out.parent.mkdir(parents=True, exist_ok=True)
    if not isinstance(con, duckdb.DuckDBPyConnection):
        # Spark: the month's rows come back to this process (a row per employee-day) and
        # are written here, so the file is the one DuckDB would write, at the same path.
        schema = ROLLUP_SCHEMAS[kind]
        found = con.sql(rows).to_arrow_reader().read_all().cast(schema)
        # Spark marks some columns NOT NULL; the file keeps the schema's (nullable) fields.
        table = pa.Table.from_arrays(found.columns, schema=schema)
        if table.num_rows:
            table = table.replace_schema_metadata({METADATA_KEY: metadata})
            pq.write_table(table, out, compression="zstd", row_group_size=122_880)
        return int(table.num_rows)
    con.execute(f"""
        COPY ({rows}) TO {sql_string(str(out))}
        (FORMAT parquet, COMPRESSION zstd, KV_METADATA {{{METADATA_KEY}: {sql_string(metadata)}}})
    """)
    row = con.execute(f"SELECT count(*) FROM read_parquet({sql_string(str(out))})").fetchall()[0]
    return int(row[0]) if row else 0


def file_metadata(path: str) -> tuple[int, str]:
    """A generation's rows and the settings it was built with (its ``dutystation`` key)."""
    found = pq.read_metadata(path)
    value = (found.metadata or {}).get(METADATA_KEY.encode(), b"")
    return found.num_rows, value.decode()


def comparable(kind: EventKind, rel: str) -> str:
    """``rel``'s rows with hours rounded, for set comparisons."""
    if kind is EventKind.BADGES:
        return (
            f"(SELECT employee_id, local_date, taps, first_in, last_out, "
            f"round(hours_first_last, {_ROUND}) AS hours_first_last, "
            f"round(hours_pairs, {_ROUND}) AS hours_pairs, site_id FROM {rel})"
        )
    return (
        f"(SELECT employee_id, date, category, source_code, round(hours, {_ROUND}) AS hours, "
        f"site_id FROM {rel})"
    )


def differences(kind: EventKind, left: str, right: str) -> str:
    """Rows in one of two relations and not the other (as multisets), with ``side``."""
    a, b = comparable(kind, left), comparable(kind, right)
    return (
        f"(SELECT *, 'left' AS side FROM ({a} EXCEPT ALL {b}) "
        f"UNION ALL SELECT *, 'right' AS side FROM ({b} EXCEPT ALL {a}))"
    )


def margin(days: tuple[date, date], by: int) -> tuple[date, date]:
    return days[0] - timedelta(days=by), days[1] + timedelta(days=by)


def sites_table(con: Connection, sites: pa.Table) -> None:
    con.register("rollup_sites", sites)
