"""Evaluation as the data outgrows memory: the growth curve, and 1 billion events.

    .venv/bin/python bench/out_of_core.py                        # 13, 26, 52 weeks
    .venv/bin/python bench/out_of_core.py --weeks 26,65 --memory-limit 1GB --export
    .venv/bin/python bench/out_of_core.py --employees 1000000 --weeks 70 --export  # 1B events

250,000 employees by default (``bench/evaluate.py``'s data, about 3.6M badge events a
week per 250,000), more and more weeks; each size evaluated by ISO week from the raw
events (the product step of ``bench/evaluate.py``, a fresh child process each) under one
DuckDB ``memory_limit``. Prints wall time, peak RSS and events per second per size, then
two least-squares lines through the points (seconds against events, peak RSS against
result rows) and what they give for 1 billion events. DuckDB keeps to its limit, spilling
past it. Without ``--export`` the peak grows with the result the caller holds (one row
per employee and week); with it the rows are streamed to a Parquet file
(``dutystation evaluate --export``) and the peak stays flat.
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
    parser.add_argument("--weeks", default="13,26,52", help="sizes, in weeks of --employees")
    parser.add_argument("--employees", type=int, default=EMPLOYEES)
    parser.add_argument("--memory-limit", default="3GB")
    parser.add_argument(
        "--export",
        action="store_true",
        help="stream the rows to a Parquet file (dutystation evaluate --export) instead of "
        "handing them to the caller whole",
    )
    args = parser.parse_args()
    out_dir = BENCH / "out"
    out_dir.mkdir(exist_ok=True)
    points: list[tuple[int, float, float, int]] = []
    how = "streamed to a Parquet file" if args.export else "handed to the caller whole"
    print(f"{os.cpu_count()} cores; DuckDB memory_limit {args.memory_limit}; rows {how}")
    print("| weeks | badge events | timecards | wall s | peak RSS MB | events/s | rows |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for weeks in (int(w) for w in args.weeks.split(",")):
        path = ensure_data(args.employees, weeks)
        events = sum(pq.read_metadata(f).num_rows for f in event_files(path, "badges"))
        cards = sum(pq.read_metadata(f).num_rows for f in event_files(path, "timecards"))
        load = os.getloadavg()[0]
        step = "product-export" if args.export else "product"
        run = run_in_child(step, args.employees, weeks, args.memory_limit, out_dir / "ooc.parquet")
        points.append((events, run["wall_s"], run["peak_rss_mb"], int(run["rows"])))
        print(
            f"| {weeks} | {events:,} | {cards:,} | {run['wall_s']:.1f} | "
            f"{run['peak_rss_mb']:,.0f} | {events / run['wall_s']:,.0f} | {int(run['rows']):,} |"
            f" (load {load:.1f})",
            flush=True,
        )
    if len(points) >= 2:
        a, b = _line([p[0] for p in points], [p[1] for p in points])
        c, d = _line([p[3] for p in points], [p[2] for p in points])
        rows = points[-1][3] / points[-1][0] * BILLION
        print(
            f"\nfit: seconds = {a:.1f} + {b * 1e6:.3f} x million events; peak RSS MB = "
            f"{c:,.0f} + {d * 1e6:.1f} x million result rows\n1 billion events: about "
            f"{a + b * BILLION:,.0f} s ({(a + b * BILLION) / 60:.0f} min), a result of "
            f"{rows / 1e6:,.0f}M employee-week rows, peak RSS about {(c + d * rows) / 1024:,.1f} GB"
        )


def _line(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least squares: (intercept, slope) of y = a + b x."""
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mean_x) ** 2 for x in xs
    )
    return mean_y - slope * mean_x, slope


if __name__ == "__main__":
    main()
