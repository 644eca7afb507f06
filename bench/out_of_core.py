"""Evaluation as the data outgrows memory: the growth curve, and 1 billion events.

    .venv/bin/python bench/out_of_core.py                        # 13, 26, 52 weeks
    .venv/bin/python bench/out_of_core.py --weeks 13,26,52,78 --memory-limit 2GB

250,000 employees (``bench/evaluate.py``'s data, about 3.6M badge events a week), more
and more weeks; each size evaluated by ISO week from the raw events (the product step of
``bench/evaluate.py``, a fresh child process each) under one DuckDB ``memory_limit``.
Prints wall time, peak RSS and events per second per size, then a least-squares line
(seconds = a + b x events) through the points and what it gives for 1 billion events.
Peak RSS is DuckDB's limit plus the Python side, which holds the result (one row per
employee and week): that part grows with employee-weeks, not with events.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pyarrow.parquet as pq

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from evaluate import ensure_data, event_files, run_in_child  # noqa: E402

EMPLOYEES = 250_000
BILLION = 1_000_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weeks", default="13,26,52", help="sizes, in weeks of 250,000 people")
    parser.add_argument("--memory-limit", default="3GB")
    args = parser.parse_args()
    out_dir = BENCH / "out"
    out_dir.mkdir(exist_ok=True)
    points: list[tuple[int, float, float, int]] = []
    print(f"{os.cpu_count()} cores; DuckDB memory_limit {args.memory_limit}", flush=True)
    print("| weeks | badge events | timecards | wall s | peak RSS MB | events/s | rows |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for weeks in (int(w) for w in args.weeks.split(",")):
        path = ensure_data(EMPLOYEES, weeks)
        events = sum(pq.read_metadata(f).num_rows for f in event_files(path, "badges"))
        cards = sum(pq.read_metadata(f).num_rows for f in event_files(path, "timecards"))
        load = os.getloadavg()[0]
        run = run_in_child("product", EMPLOYEES, weeks, args.memory_limit, out_dir / "ooc.parquet")
        points.append((events, run["wall_s"], run["peak_rss_mb"], int(run["rows"])))
        print(
            f"| {weeks} | {events:,} | {cards:,} | {run['wall_s']:.1f} | "
            f"{run['peak_rss_mb']:,.0f} | {events / run['wall_s']:,.0f} | {int(run['rows']):,} |"
            f" (load {load:.1f})",
            flush=True,
        )
    if len(points) >= 2:
        n = len(points)
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        mean_x, mean_y = sum(xs) / n, sum(ys) / n
        slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum(
            (x - mean_x) ** 2 for x in xs
        )
        intercept = mean_y - slope * mean_x
        rows_per_event = points[-1][3] / points[-1][0]
        print(
            f"\nfit: seconds = {intercept:.1f} + {slope * 1e6:.3f} x million events; "
            f"1 billion events: about {intercept + slope * BILLION:,.0f} s "
            f"({(intercept + slope * BILLION) / 60:.0f} min); result about "
            f"{rows_per_event * BILLION / 1e6:,.0f}M employee-week rows"
        )


if __name__ == "__main__":
    main()
