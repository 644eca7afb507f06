"""An uploaded file's import, run in a child process of the server.

Run in the worker that took the upload, a 1M-row import held that worker's interpreter
for seconds at a time: every read the worker answered meanwhile waited behind it (the
reads' p50 went from 5 to 12 ms and their p99 up 6x, bench/README.md, "Concurrent
import"), and the worker kept the import's memory afterwards. In a child of its own,
the import runs on ``import_cpus`` cores at ``upload_import_nice`` lower CPU priority,
the worker's event loop answers reads while it waits, and the memory goes back to the
system when the child ends.

The child is started with ``spawn``, never ``fork``: the worker has threads and open
database connections that a forked copy would share. It gets the settings, the actor,
the kind, the files and the options, and builds its own runtime; what it returns, or
the ``DutystationError`` it raises, comes back as it would from ``run_import``. An
import is all or nothing (RELIABILITY T12), so a child that dies (killed, out of
memory) has stored nothing, and the answer says so. The child dies with its worker (a
server killed or crashed mid-upload): an import nobody waits for any more does not land
later, unannounced, as it would not have in the worker itself.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from dutystation.analytics.cores import keep_to_cores, lower_priority
from dutystation.bootstrap import bootstrap
from dutystation.domain.access import Actor
from dutystation.errors import ImportInterrupted
from dutystation.ingest.fields import ImportKind
from dutystation.ingest.summary import ImportSummary
from dutystation.services.importing import ImportOptions, run_import
from dutystation.settings import Settings

CHILD_DIED = (
    "the import's process ended before it finished (the machine may be short of memory); "
    "nothing was stored; try again, or import the files in smaller batches"
)


def import_in_child(
    settings: Settings,
    actor: Actor,
    kind: ImportKind,
    paths: list[Path],
    options: ImportOptions,
) -> ImportSummary:
    """``run_import`` of ``paths`` for ``actor``, in a new child process; blocks until
    it ends (call it from a worker thread, not the event loop)."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        try:
            found = pool.submit(_import, os.getpid(), settings, actor, kind, paths, options)
            return found.result()
        except BrokenProcessPool:
            raise ImportInterrupted(CHILD_DIED) from None


def _import(
    parent: int,
    settings: Settings,
    actor: Actor,
    kind: ImportKind,
    paths: list[Path],
    options: ImportOptions,
) -> ImportSummary:
    _die_with(parent)
    # Before the import's threads start: Arrow's, DuckDB's and the read-ahead's inherit both.
    lower_priority(settings.upload_import_nice)
    if settings.import_cpus is not None:
        keep_to_cores(settings.import_cpus)
    return run_import(bootstrap(settings), kind, paths, options, actor=actor)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with(parent: int) -> None:
    """End this process when ``parent`` ends: at once on Linux (the kernel sends SIGKILL),
    within a second elsewhere (a thread that watches)."""
    libc = ctypes.util.find_library("c") if sys.platform == "linux" else None
    if (
        libc is not None
        and ctypes.CDLL(libc, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL) == 0
    ):
        if os.getppid() != parent:  # it ended before the signal was asked for
            os._exit(1)
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
