"""Connections for short queries (reports, capacity, lookups) on a database this process
keeps open, instead of a new DuckDB database per query.

Opening an in-memory DuckDB database starts a thread pool and a buffer manager: 10-20 ms
on an idle 2-core machine and 50-100 ms on a loaded one, against about a millisecond for
the query a report runs on it. The capacity report ran a dozen of them per page, which
made ``/offices`` take seconds on a world of eight people. ``shared_connection`` hands
out a connection of its own (a DuckDB cursor: same database, own session) on one of a few
databases kept per process, keyed by the settings that configure a database (memory
limit, spill folder, threads). What a caller registers or creates as TEMP is its own and
gone when the ``with`` block ends, so request threads never see each other's tables.

The evaluation, imports and roll-ups keep their own database (``engine.connect``): they
hold large intermediate tables and spill to a scratch file of their own.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb

from dutystation.analytics.cores import usable_cores
from dutystation.analytics.engine import connect
from dutystation.errors import StoreError
from dutystation.settings import Settings

# Databases kept per process: a server has one configuration; a test process sees many
# (one per data dir), and the least recently used idle one is closed beyond this.
KEPT = 4
_Key = tuple[str, str, int]


@dataclass
class _Database:
    con: duckdb.DuckDBPyConnection
    users: int = 0  # open connections handed out: an idle database may be closed


_lock = threading.Lock()
_open: OrderedDict[_Key, _Database] = OrderedDict()
_owner = os.getpid()
# Databases inherited across a fork: their threads are gone in the child, so they are
# neither used nor closed (closing would wait for those threads), only kept referenced.
_inherited: list[_Database] = []


def _key(settings: Settings | None, threads: int) -> _Key:
    if settings is None:
        return ("", "", threads)
    return (settings.duckdb_memory_limit, str(settings.tmp_dir), threads)


def _database(settings: Settings | None, threads: int) -> _Database:
    """The kept database for this configuration, opened when needed (caller holds _lock)."""
    global _owner
    if _owner != os.getpid():
        _inherited.extend(_open.values())
        _open.clear()
        _owner = os.getpid()
    key = _key(settings, threads)
    found = _open.get(key)
    if found is None:
        if settings is None:
            try:
                con = duckdb.connect(
                    config={"threads": threads, "autoload_known_extensions": False}
                )
            except duckdb.Error as exc:
                raise StoreError(f"DuckDB could not start ({type(exc).__name__})") from None
        else:
            con = connect(settings, threads=threads)
        found = _open[key] = _Database(con)
    _open.move_to_end(key)
    return found


def _close_idle() -> None:
    """Close the least recently used idle databases beyond ``KEPT`` (caller holds _lock)."""
    for key in list(_open):
        if len(_open) <= KEPT:
            return
        if _open[key].users == 0:
            _open.pop(key).con.close()


@contextmanager
def shared_connection(
    settings: Settings | None = None, *, threads: int | None = 2
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection of its own on this process's database for ``settings`` (None: no
    memory limit or spill folder of the settings: small tables only), in UTC; ``threads``
    None: every core. It is closed, with everything registered on it, when the block
    ends."""
    threads = threads or usable_cores()
    with _lock:
        database = _database(settings, threads)
        database.users += 1
        try:
            con = database.con.cursor()
        except BaseException:
            database.users -= 1
            raise
    try:
        con.execute("SET TimeZone = 'UTC'")  # a session setting: each connection's own
        yield con
    finally:
        con.close()
        with _lock:
            database.users -= 1
            _close_idle()
