"""The evaluation on Spark (local mode) against DuckDB, on the bench suite's data.

    .venv/bin/python bench/spark.py                 # 2M: 1.5 min on a quiet VM, mostly Spark
    .venv/bin/python bench/spark.py --size 20M      # 100,000 employees x 14 weeks
    .venv/bin/python bench/spark.py --master 'local[2]' --driver-memory 4g

Three steps, each in a fresh child process (``bench/suite.py``'s data, reused):

- ``overhead``: Spark's fixed cost: the session start (the JVM) and then a tiny
  evaluation (200 employees x 1 week, ~3,000 badge events), each timed on its own;
- ``duckdb``: ``services.evaluate.evaluate`` for ISO weeks from the raw events, DuckDB
  (the suite's ``product`` step);
- ``spark``: the same call with ``analytics = "spark"``; the session is started before
  the clock starts (its cost is the ``overhead`` step's), so this is the evaluation alone.

CPU seconds are the whole process tree's (Python and the JVM), steadier than wall time
when other jobs load the machine. Peak RSS is the tree's too (Spark's JVM is a child of
the Python driver), sampled from /proc every 0.2 s: a spike shorter than that can be
missed, so it is a lower bound (the Python process's own VmHWM is printed beside it). The
weekly figures of the two engines must agree on every employee-week (``evaluate.compare``);
otherwise the table is still printed and the script exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from evaluate import (  # noqa: E402
    FIGURE,
    compare,
    ensure_data,
    event_files,
    peak_rss_mb,
    product_figure,
)
from evaluate_data import START, end_of  # noqa: E402
from suite import SIZES  # noqa: E402

TINY = (200, 1)  # employees x weeks of the overhead step's evaluation
STEPS = ("overhead", "duckdb", "spark")


# --- the child -------------------------------------------------------------------------------


def _evaluate(path: Path, weeks: int, **settings: Any) -> Any:
    from dutystation.bootstrap import bootstrap
    from dutystation.domain.inputs import EvaluationInputs
    from dutystation.policy_files import load_directives
    from dutystation.services.evaluate import EvaluationRequest, evaluate
    from dutystation.settings import load_settings

    runtime = bootstrap(load_settings(data_dir=path, evaluation_reads="raw", **settings))
    return evaluate(
        runtime,
        EvaluationRequest(START, end_of(weeks), periods=("week",)),
        inputs=EvaluationInputs(),
        directives=load_directives(path / "policies"),
    ).employee_periods


def run_child(args: argparse.Namespace) -> None:
    spark = {"analytics": "spark", "spark_master": args.master}
    figures: dict[str, float] = {}
    me = os.getpid()
    started, cpu = time.perf_counter(), tree_cpu_s(me)
    if args.step in ("overhead", "spark"):
        from dutystation.analytics.spark_engine import spark_session
        from dutystation.settings import load_settings

        spark_session(load_settings(data_dir=args.path, **spark))
        figures["session_s"] = time.perf_counter() - started
        figures["session_cpu_s"] = tree_cpu_s(me) - cpu
        started, cpu = time.perf_counter(), tree_cpu_s(me)
    if args.step == "duckdb":
        table = _evaluate(args.path, args.weeks, duckdb_memory_limit=args.memory_limit)
    else:
        table = _evaluate(args.path, args.weeks, **spark)
    figures["wall_s"] = time.perf_counter() - started
    figures["cpu_s"] = tree_cpu_s(me) - cpu  # the JVM's too: it is still running
    figures["rows"] = table.num_rows
    figures["vmhwm_mb"] = peak_rss_mb()  # the Python process alone
    pq.write_table(product_figure(table).select(FIGURE), args.out)
    print(json.dumps(figures))


# --- the parent ------------------------------------------------------------------------------


def _tree(root: int) -> list[int]:
    """``root`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_rss_mb(root: int) -> float:
    """Resident memory of ``root`` and its descendants."""
    total_kb = 0
    for pid in _tree(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


def tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) used so far by ``root`` and its living descendants."""
    ticks = 0
    for pid in _tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def run_in_child(step: str, args: argparse.Namespace, path: Path, weeks: int) -> dict[str, float]:
    out = BENCH / "out" / f"spark-{path.name}-{step}.parquet"
    command = [sys.executable, __file__, "--child", step, "--path", str(path)]
    command += ["--weeks", str(weeks), "--out", str(out), "--master", args.master]
    command += ["--memory-limit", args.memory_limit]
    env = {**os.environ}
    if args.driver_memory:
        # Read by spark-submit when the JVM starts; the session's own config is too late.
        env["PYSPARK_SUBMIT_ARGS"] = f"--driver-memory {args.driver_memory} pyspark-shell"
    wall_started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    peak = [0.0]

    def sample() -> None:
        while child.poll() is None:
            peak[0] = max(peak[0], tree_rss_mb(child.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = child.communicate()
    sampler.join()
    if child.returncode != 0:
        sys.exit(f"step {step} failed:\n{stderr.decode(errors='replace')[-3000:]}")
    figures: dict[str, float] = json.loads(stdout.decode().strip().splitlines()[-1])
    figures["process_s"] = time.perf_counter() - wall_started
    figures["tree_rss_mb"] = peak[0]
    figures["out"] = str(out)  # type: ignore[assignment]
    return figures


def report(results: dict[str, dict[str, Any]], badge_rows: int) -> list[str]:
    lines = [
        "| step | session start s (CPU s) | evaluation s | CPU s | badge events/s "
        "| whole process s | peak RSS MB (tree) | Python VmHWM MB | / DuckDB (CPU) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    duck = results.get("duckdb")
    for step, r in results.items():
        session = f"{r['session_s']:.1f} ({r['session_cpu_s']:.1f})" if "session_s" in r else "-"
        per_s = f"{badge_rows / r['wall_s']:,.0f}" if step != "overhead" else "-"
        ratio = "-"
        if duck and step == "spark":
            ratio = f"{r['wall_s'] / duck['wall_s']:.1f} ({r['cpu_s'] / duck['cpu_s']:.1f})"
        lines.append(
            f"| {step} | {session} | {r['wall_s']:.2f} | {r['cpu_s']:.1f} | {per_s} | "
            f"{r['process_s']:.1f} | {r['tree_rss_mb']:,.0f} | {r['vmhwm_mb']:,.0f} | {ratio} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="2M", type=str.upper, choices=sorted(SIZES))
    parser.add_argument("--steps", default=",".join(STEPS))
    parser.add_argument("--master", default="local[2]", help="spark_master")
    parser.add_argument("--driver-memory", help="the JVM's heap (spark-submit's), e.g. 4g")
    parser.add_argument("--memory-limit", default="3GB", help="DuckDB memory_limit")
    parser.add_argument("--child", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--weeks", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.step = args.child
        run_child(args)
        return
    steps = args.steps.split(",")
    if unknown := set(steps) - set(STEPS):
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    employees, weeks = SIZES[args.size]
    path = ensure_data(employees, weeks)
    tiny = ensure_data(*TINY)
    badge_rows = sum(pq.read_metadata(f).num_rows for f in event_files(path, "badges"))
    import pyspark

    print(
        f"{employees:,} employees x {weeks} weeks: {badge_rows:,} badge events; "
        f"{os.cpu_count()} cores; pyspark {pyspark.__version__}, master {args.master}; "
        f"DuckDB memory_limit {args.memory_limit}; load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    (BENCH / "out").mkdir(exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    loads = [os.getloadavg()[0]]
    for step in steps:
        where, span = (tiny, TINY[1]) if step == "overhead" else (path, weeks)
        results[step] = run_in_child(step, args, where, span)
        loads.append(os.getloadavg()[0])
        print(f"  {step}: {results[step]['wall_s']:.2f} s (load {loads[-1]:.2f})", flush=True)
    differing = None
    if "duckdb" in results and "spark" in results:
        outputs = {
            "product": Path(results["duckdb"]["out"]),
            "spark": Path(results["spark"]["out"]),
        }
        differing = compare(outputs)["spark"]
    print(f"\nload average (1 min) during the run {min(loads):.2f}-{max(loads):.2f}")
    print("\n".join(report(results, badge_rows)))
    if differing is not None:
        print(f"\nemployee-weeks differing between Spark and DuckDB: {differing:,}")
    print(f"run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    if differing:
        sys.exit(f"Spark and DuckDB disagree on {differing:,} employee-weeks")


if __name__ == "__main__":
    main()
