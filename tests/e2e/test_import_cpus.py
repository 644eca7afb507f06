"""``import_cpus`` and ``import_nice``: an import beside a live server keeps to the cores
it is given, at the lower priority it is given, every thread of it (its own, DuckDB's,
Arrow's and jemalloc's), as an operator sees in ``/proc``. Real processes; nothing here
reaches into the package."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs Linux CPU affinity and at least two cores to keep an import to fewer",
)

ORGS = [["org_unit", "name", "parent", "kind"], ["D", "Dept", "", "department"]]
OFFICES = [
    ["site_id", "name", "zip", "latitude", "longitude", "timezone", "seats", "org_unit"],
    ["NYC1", "New York", "10007", "40.71", "-74.0", "America/New_York", "50", "D"],
]
ROSTER = [["employee_id", "name", "org_unit", "duty_station", "arrangement", "effective_date"]]
ROSTER += [[f"E{i:06d}", f"Person {i}", "D", "NYC1", "onsite", "2025-01-01"] for i in range(20)]


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _env(data: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "DUTYSTATION_DATA_DIR": str(data), **extra}


def _cores(listing: str) -> int:
    """How many cores a ``Cpus_allowed_list`` such as ``0-1,4`` names."""
    total = 0
    for part in listing.split(","):
        first, _, last = part.partition("-")
        total += int(last or first) - int(first) + 1
    return total


def _niceness(stat: str) -> int:
    # /proc/.../stat: the command is in parentheses and may hold spaces; nice is the 19th
    # field, the 17th after them.
    return int(stat.rsplit(")", 1)[1].split()[16])


def _watch(command: list[str], env: dict[str, str]) -> tuple[int, dict[int, int]]:
    """Run ``command``; every few milliseconds read each of its threads' allowed cores.
    Returns its exit status and, per thread, the cores it was last seen allowed."""
    code, cores, _ = _watch_all(command, env)
    return code, cores


def _watch_all(
    command: list[str], env: dict[str, str]
) -> tuple[int, dict[int, int], dict[int, int]]:
    """``_watch``, and per thread the nice value it was last seen at."""
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    last: dict[int, int] = {}
    nice: dict[int, int] = {}
    while child.poll() is None:
        try:
            threads = os.listdir(f"/proc/{child.pid}/task")
        except OSError:
            break
        for thread in threads:
            try:
                status = Path(f"/proc/{child.pid}/task/{thread}/status").read_text()
            except OSError:
                continue  # the thread (or the process) ended meanwhile
            for line in status.splitlines():
                if line.startswith("Cpus_allowed_list:"):
                    last[int(thread)] = _cores(line.split(":", 1)[1].strip())
            try:
                nice[int(thread)] = _niceness(
                    Path(f"/proc/{child.pid}/task/{thread}/stat").read_text()
                )
            except OSError:
                continue
        time.sleep(0.002)
    _, err = child.communicate(timeout=300)
    assert child.returncode == 0, err
    return child.returncode, last, nice


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    """A data dir with one office and 20 employees, and a badge file of 200,000 taps."""
    data = tmp_path / "data"
    for kind, rows in (("org-units", ORGS), ("offices", OFFICES), ("roster", ROSTER)):
        path = _csv(tmp_path / f"{kind}.csv", rows)
        done = subprocess.run(
            [sys.executable, "-m", "dutystation", "import", kind, str(path)],
            env=_env(data), capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    taps = [["employee_id", "timestamp", "site_id", "direction"]]
    taps += [
        [f"E{n % 20:06d}", f"2025-02-{3 + n // 20 // 36000:02d}T{8 + n // 20 % 36000 // 3600:02d}"
         f":{n // 20 % 3600 // 60:02d}:{n // 20 % 60:02d}", "NYC1", "IN"]
        for n in range(200_000)
    ]  # fmt: skip
    return data, _csv(tmp_path / "badges.csv", taps)


def test_an_import_keeps_every_thread_to_import_cpus(world: tuple[Path, Path]) -> None:
    data, badges = world
    command = [sys.executable, "-m", "dutystation", "import", "badges", "--quiet", str(badges)]
    _, limited = _watch(command, _env(data, DUTYSTATION_IMPORT_CPUS="1"))
    # DuckDB's and Arrow's pools, the read-ahead and jemalloc: several threads, each
    # allowed one core by the end (the main thread starts on all of them).
    assert len(limited) >= 3
    assert set(limited.values()) == {1}


def test_without_import_cpus_an_import_uses_every_core(world: tuple[Path, Path]) -> None:
    data, badges = world
    command = [sys.executable, "-m", "dutystation", "import", "badges", "--quiet", str(badges)]
    _, free = _watch(command, _env(data))
    assert max(free.values()) == len(os.sched_getaffinity(0))


def test_import_cpus_of_zero_is_one_sentence(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dutystation", "import", "org-units",
         str(_csv(tmp_path / "o.csv", ORGS))],
        env=_env(tmp_path / "data", DUTYSTATION_IMPORT_CPUS="0"),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2
    assert "import_cpus" in done.stderr and "greater than 0" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_import_runs_every_thread_at_import_nice_lower_priority(
    world: tuple[Path, Path],
) -> None:
    data, badges = world
    command = [sys.executable, "-m", "dutystation", "import", "badges", "--quiet", str(badges)]
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    _, _, nice = _watch_all(command, _env(data, DUTYSTATION_IMPORT_NICE="7"))
    # The threads running before the import lowered itself (Arrow's, jemalloc's) and
    # those started after: each 7 below this shell by the end.
    assert len(nice) >= 3
    assert set(nice.values()) == {min(19, mine + 7)}
    # By default 10 lower; 0 leaves it as it was.
    _, _, default = _watch_all(command, _env(data))
    assert set(default.values()) == {min(19, mine + 10)}
    _, _, unchanged = _watch_all(command, _env(data, DUTYSTATION_IMPORT_NICE="0"))
    assert set(unchanged.values()) == {mine}
