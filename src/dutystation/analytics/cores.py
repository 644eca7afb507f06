"""The cores this process's analytics may use, and keeping a command to fewer of them
at a lower priority.

DuckDB and Arrow size their thread pools from the machine's core count. An import beside
a server answering reads on the same machine then takes every core in its bursts: on 2
cores a 1M-row badge import used 1.45 cores on average, and the reads' p99 more than
doubled (bench/README.md, "Concurrent import"). ``import_cpus`` keeps an import to fewer
cores; the kernel then leaves the others to the server.
"""

from __future__ import annotations

import os

import pyarrow as pa


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity (``taskset``, a container's
    cpuset, ``keep_to_cores``) where the platform has one, else the machine's."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def keep_to_cores(count: int) -> int:
    """Run this process, its threads and every thread it starts from now on, on at most
    ``count`` of its cores, and size Arrow's pool to match (DuckDB connections opened
    afterwards take ``usable_cores``). Returns the cores kept; on a platform without CPU
    affinity (macOS, Windows) only Arrow's pool shrinks."""
    count = max(1, count)
    if hasattr(os, "sched_setaffinity"):
        # The highest-numbered ones: the kernel tends to put interrupts and new processes
        # on the first cores.
        kept = sorted(os.sched_getaffinity(0))[-count:]
        for thread in _threads():
            try:
                os.sched_setaffinity(thread, kept)
            except ProcessLookupError:  # it ended meanwhile
                continue
        count = usable_cores()
    pa.set_cpu_count(count)
    return count


def lower_priority(by: int) -> None:
    """Run this process, its threads and every thread it starts from now on at ``by``
    lower CPU priority (Unix nice, up to 19). On Linux the nice value is each thread's
    own, and Arrow's and jemalloc's threads are running already: each is lowered, as
    ``keep_to_cores`` does with cores; the threads started later inherit it."""
    if by <= 0 or not hasattr(os, "setpriority"):
        return
    for thread in _threads():
        try:
            now = os.getpriority(os.PRIO_PROCESS, thread)
            os.setpriority(os.PRIO_PROCESS, thread, min(19, now + by))
        except ProcessLookupError:  # it ended meanwhile
            continue


def _threads() -> list[int]:
    """This process's threads (Linux: Arrow's and jemalloc's start when pyarrow is
    imported); the calling one alone where ``/proc`` is missing."""
    try:
        return [int(name) for name in os.listdir("/proc/self/task")]
    except OSError:
        return [0]
