"""The DuckDB connection analytics queries run on, configured from settings.

One in-process connection per evaluation: ``duckdb_memory_limit`` caps what DuckDB holds
before it spills to ``tmp_dir``; the session time zone is UTC so nothing depends on the
server's zone (office-local days are stored as ``local_date``, never derived here);
extensions are never downloaded (DESIGN.md §4: only parquet, json and icu are built in).

An evaluation opens a scratch database file under ``tmp_dir`` rather than an in-memory
one: its large intermediate tables are then stored compressed and can be paged out (see
``evaluation_days``); the file is deleted with its folder afterwards.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from dutystation.errors import StoreError
from dutystation.settings import Settings


def connect(
    settings: Settings, *, database: Path | None = None, threads: int | None = None
) -> duckdb.DuckDBPyConnection:
    """A fresh connection to ``database`` (a new file, or in memory when None);
    ``threads`` defaults to every core of the machine."""
    settings.tmp_dir.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(
            str(database) if database is not None else ":memory:",
            config={
                "memory_limit": settings.duckdb_memory_limit,
                "temp_directory": str(settings.tmp_dir),
                "threads": threads or max(1, os.cpu_count() or 1),
                # Result order is set by explicit ORDER BY; without insertion order DuckDB
                # streams aggregates and joins instead of buffering to keep it.
                "preserve_insertion_order": False,
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
            },
        )
    except duckdb.Error as exc:
        raise StoreError(
            f"DuckDB could not start ({type(exc).__name__}); check duckdb_memory_limit"
        ) from None
    con.execute("SET TimeZone = 'UTC'")
    return con
