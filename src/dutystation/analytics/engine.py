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

import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from dutystation.analytics.cores import usable_cores
from dutystation.errors import OutOfMemory, StoreError
from dutystation.settings import Settings

_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS.update({"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40})
# Below this DuckDB fails on fixed costs (buffers, the scratch file) whatever the data.
_FLOOR = 256 * 10**6


def connect(
    settings: Settings, *, database: Path | None = None, threads: int | None = None
) -> duckdb.DuckDBPyConnection:
    """A fresh connection to ``database`` (a new file, or in memory when None);
    ``threads`` defaults to every core this process may use."""
    settings.tmp_dir.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(
            str(database) if database is not None else ":memory:",
            config={
                "memory_limit": settings.duckdb_memory_limit,
                "temp_directory": str(settings.tmp_dir),
                "threads": threads or usable_cores(),
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


def _limit_bytes(limit: str) -> int:
    """``duckdb_memory_limit`` in bytes (settings only accept "<number> <unit>")."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*", limit.lower())
    return int(float(found.group(1)) * _UNITS[found.group(2)]) if found else _FLOOR


def _machine_bytes() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):  # not every platform names them
        return 0


# What makes a job smaller, when this machine cannot give it more memory.
SMALLER_EVALUATION = "evaluate a shorter range or one org unit"


def raise_limit_advice(limit: str, smaller: str = SMALLER_EVALUATION) -> str:
    """What to do when a job ran out of ``limit``: the figure to raise it to (twice the
    limit, at least 256MB, in whole MB or GB), or, when that is more than 3/4 of this
    machine's memory, ``smaller`` (how to make the job smaller)."""
    wanted = max(2 * _limit_bytes(limit), _FLOOR)
    machine = _machine_bytes()
    if machine and wanted > machine * 3 // 4:
        return f"this machine's {machine / 10**9:.0f}GB cannot hold more; {smaller}"
    figure = (
        f"{math.ceil(wanted / 10**9)}GB" if wanted >= 10**9 else f"{math.ceil(wanted / 10**6)}MB"
    )
    return f"raise it to {figure} (DUTYSTATION_DUCKDB_MEMORY_LIMIT={figure}) and run again"


def out_of_memory(settings: Settings, job: str, smaller: str = SMALLER_EVALUATION) -> OutOfMemory:
    """The one sentence for ``job`` (``the import``...) having run out of
    ``duckdb_memory_limit``: the setting, the figure to raise it to, nothing stored."""
    limit = settings.duckdb_memory_limit
    return OutOfMemory(
        f"{job} needs more memory than duckdb_memory_limit ({limit}) allows; "
        f"{raise_limit_advice(limit, smaller)}; nothing was stored"
    )


@contextmanager
def memory_errors(
    settings: Settings, job: str, smaller: str = SMALLER_EVALUATION
) -> Iterator[None]:
    """DuckDB's OutOfMemoryException (several lines of tuning hints about SET commands a
    user cannot type) as one sentence naming the setting and the figure to raise it to
    (``out_of_memory``). Used around work whose results are only stored after it
    succeeds."""
    try:
        yield
    except duckdb.OutOfMemoryException:
        raise out_of_memory(settings, job, smaller) from None
