"""The DuckDB connection analytics queries run on, configured from settings.

One in-process connection per evaluation: ``duckdb_memory_limit`` caps what DuckDB holds
before it spills to ``tmp_dir``; the session time zone is UTC so nothing depends on the
server's zone (office-local days are stored as ``local_date``, never derived here);
extensions are never downloaded (DESIGN.md §4: only parquet, json and icu are built in).
"""

from __future__ import annotations

import os

import duckdb

from dutystation.errors import StoreError
from dutystation.settings import Settings


def connect(settings: Settings, *, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh connection; ``threads`` defaults to every core of the machine."""
    settings.tmp_dir.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(
            config={
                "memory_limit": settings.duckdb_memory_limit,
                "temp_directory": str(settings.tmp_dir),
                "threads": threads or max(1, os.cpu_count() or 1),
                # Result order is set by explicit ORDER BY; without insertion order DuckDB
                # streams aggregates and joins instead of buffering to keep it.
                "preserve_insertion_order": False,
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
            }
        )
    except duckdb.Error as exc:
        raise StoreError(
            f"DuckDB could not start ({type(exc).__name__}); check duckdb_memory_limit"
        ) from None
    con.execute("SET TimeZone = 'UTC'")
    return con
