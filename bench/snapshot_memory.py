"""Peak memory of the snapshot refresh and of a live report at department size (issue 7,
"out-of-core"): each step in a child process, its wall time and peak RSS (``wait4``).

    .venv/bin/python bench/web_load.py --setup-only            # the world, once (PostgreSQL)
    .venv/bin/python bench/snapshot_memory.py                  # 250,000 x 26, limit 3GB
    .venv/bin/python bench/snapshot_memory.py --memory-limit 1GB --steps refresh
    .venv/bin/python bench/snapshot_memory.py --employees 20000 --weeks 33

Steps (``--steps``, in order):

- ``refresh``: ``dutystation evaluate --refresh`` (weeks and pay periods part by part to a
  scratch Parquet file, the tables derived from it by DuckDB: docs/evaluation.md, "The
  snapshot"). Run twice (``refresh`` twice in ``--steps``) to see the first one, which
  computes what the previous code or settings kept, and a later one that reads it back.
- ``report-memory`` / ``report-disk``: ``onsite-share`` of the whole organisation from
  the first Wednesday of the data to its last day (a partial first week, so the snapshot
  cannot serve it), with its evaluation held as one Arrow table (the spill threshold
  raised past it) or kept on disk whatever its size (``services/reporting/file_rows.py``,
  the product's way past 2M rows).

The world is ``web_load.py``'s (the roster copied into PostgreSQL, the event store
hard-linked); this script never changes it beyond a new snapshot generation.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from evaluate_data import START, end_of  # noqa: E402
from load_server import DUTYSTATION  # noqa: E402
from web_world import environment  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
STEPS = ("refresh", "report-memory", "report-disk")
# The child that builds the report: the threshold is the only thing the two steps change.
REPORT = """
import sys
from datetime import date
from dutystation.bootstrap import bootstrap
from dutystation.services.reporting import ReportRequest, build_report, file_rows
file_rows.SPILL_ROWS = 10**12 if sys.argv[1] == "memory" else 0
start, end = date.fromisoformat(sys.argv[2]), date.fromisoformat(sys.argv[3])
report = build_report(bootstrap(), ReportRequest("onsite-share", start=start, end=end))
print(" + ".join(str(s.rows) for s in report.sections), "rows")
"""


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--employees", type=int, default=250_000)
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--memory-limit", default="3GB", help="duckdb_memory_limit")
    parser.add_argument("--steps", default="refresh,refresh,report-memory,report-disk")
    parser.add_argument("--work-dir", type=Path, default=BENCH / "data")
    args = parser.parse_args()
    unknown = set(args.steps.split(",")) - set(STEPS)
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    return args


def run(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """``command`` as a child: wall seconds, peak RSS (MB) and its last line of output."""
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed ({status})")
    lines = out.strip().splitlines()
    return seconds, usage.ru_maxrss // 1024, lines[-1] if lines else ""


def main() -> None:
    args = arguments()
    source = args.work_dir / f"evaluate-{args.employees}x{args.weeks}"
    data = args.work_dir / f"web-{args.employees}x{args.weeks}"
    if not (data / "tokens.json").exists():
        raise SystemExit(
            f"{data} is not set up: run bench/web_load.py --employees {args.employees} "
            f"--weeks {args.weeks} --setup-only first"
        )
    url = f"{PG}/dutystation_bench_web_{args.employees}x{args.weeks}"
    env = {**environment(data, source, url), "DUTYSTATION_DUCKDB_MEMORY_LIMIT": args.memory_limit}
    first = START + timedelta(days=(2 - START.weekday()) % 7)  # the first Wednesday
    last = end_of(args.weeks)
    print(
        f"{args.employees:,} employees x {args.weeks} weeks, duckdb_memory_limit "
        f"{args.memory_limit}, load average {os.getloadavg()[0]:.2f} at start",
        flush=True,
    )
    print(f"{'step':<16} {'wall s':>8} {'peak RSS MB':>12}  output")
    for step in args.steps.split(","):
        if step == "refresh":
            command = [DUTYSTATION, "evaluate", "--refresh", "--quiet"]
        else:
            held = step.removeprefix("report-")
            command = [sys.executable, "-c", REPORT, held, first.isoformat(), last.isoformat()]
        seconds, rss, said = run(command, env)
        print(f"{step:<16} {seconds:>8.1f} {rss:>12,}  {said[:90]}", flush=True)
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
