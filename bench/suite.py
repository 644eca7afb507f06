"""The benchmark suite behind ``make bench``: the product's evaluation against a hand-written
DuckDB query, vectorised pandas and a bare columnar scan, on the same data, in one table.

    make bench                      # SIZE=2M: a couple of minutes
    make bench SIZE=20M             # or 100M (about 3 minutes once its data exists)
    .venv/bin/python bench/suite.py --size 20M --repeat 2

Sizes are badge events: employees x weeks of ``evaluate_data.generate`` (about 14.5 badge
events per employee and week), generated once per size under ``bench/data`` and reused.
The steps are ``bench/evaluate.py``'s, each in a fresh child process (its own peak RSS):

- ``product``: ``services.evaluate.evaluate`` for ISO weeks;
- ``handwritten``: ``bench/evaluate_handwritten.sql``;
- ``pandas``: ``bench/evaluate_pandas.py``;
- ``scan``: the floor, DuckDB reading only the Parquet columns the figure needs and
  counting/summing them per employee.

The first three must agree on every employee-week (to 1e-6 h): if one does not, the table
is still printed and the suite exits non-zero naming the step. Ratios are wall-time ratios
(step / reference), so 0.5 under "/ pandas" means twice as fast as pandas.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from evaluate import SCAN, compare, ensure_data, event_files, run_in_child  # noqa: E402

# Badge events -> (employees, weeks). 100M is the department of bench/evaluate.py's
# default run (94.1M events), so its figures compare with that section of the README.
SIZES = {"2M": (20_000, 7), "20M": (100_000, 14), "100M": (250_000, 26)}
COMPARED = ("product", "handwritten", "pandas")
STEPS = (*COMPARED, SCAN)
LABELS = {
    "product": "product (weeks)",
    "handwritten": "hand-written query",
    "pandas": "pandas",
    SCAN: "bare columnar scan",
}
TARGETS = "targets: product <= 1.2x hand-written, >= 3x faster than pandas, < 0.5x its RSS"


def compare_figures(outputs: dict[str, Path]) -> dict[str, int]:
    """Rows of the hand-written and pandas figures that differ from the product's (or are
    missing from either side); nothing to compare without the product."""
    if "product" not in outputs:
        return {}
    return compare({step: outputs[step] for step in COMPARED if step in outputs})


def disagreement(differing: dict[str, int]) -> str | None:
    """The sentence the suite exits with when a step's figure is not the product's."""
    wrong = [f"{step} ({rows:,} rows)" for step, rows in differing.items() if rows != 0]
    return f"disagreement with the product's figure: {', '.join(wrong)}" if wrong else None


def ratio(value: float, reference: dict[str, float] | None, key: str = "wall_s") -> str:
    return f"{value / reference[key]:.2f}" if reference and reference[key] > 0 else "-"


def report(
    results: dict[str, dict[str, float]], differing: dict[str, int], badge_rows: int
) -> list[str]:
    """The table (Markdown, pasted as is into bench/README.md) and the targets line."""
    hand, pandas, scan = (results.get(s) for s in ("handwritten", "pandas", SCAN))
    lines = [
        "| step | wall s | CPU s | badge events/s | peak RSS MB | / hand-written | / pandas "
        "| / scan | RSS / pandas | differing rows |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for step, r in results.items():
        diff = differing.get(step, "-")
        lines.append(
            f"| {LABELS.get(step, step)} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | "
            f"{badge_rows / r['wall_s']:,.0f} | {r['peak_rss_mb']:,.0f} | "
            f"{ratio(r['wall_s'], hand)} | {ratio(r['wall_s'], pandas)} | "
            f"{ratio(r['wall_s'], scan)} | {ratio(r['peak_rss_mb'], pandas, 'peak_rss_mb')} | "
            f"{diff} |"
        )
    product = results.get("product")
    if product and hand and pandas:
        to_hand = product["wall_s"] / hand["wall_s"]
        faster = pandas["wall_s"] / product["wall_s"]
        memory = product["peak_rss_mb"] / pandas["peak_rss_mb"]
        verdict = "met" if to_hand <= 1.2 and faster >= 3 and memory < 0.5 else "NOT met"
        # CPU seconds move much less with other jobs' load than wall time: shown beside it.
        cpu_hand = product["cpu_s"] / hand["cpu_s"]
        cpu_faster = pandas["cpu_s"] / product["cpu_s"]
        lines.append(
            f"\n{TARGETS}: {to_hand:.2f}x, {faster:.2f}x faster, {memory:.2f}x RSS -> {verdict}"
            f" (CPU seconds: {cpu_hand:.2f}x, {cpu_faster:.2f}x faster)"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="2M", type=str.upper, choices=sorted(SIZES))
    parser.add_argument("--employees", type=int, help="instead of --size, with --weeks")
    parser.add_argument("--weeks", type=int, help="instead of --size, with --employees")
    parser.add_argument("--memory-limit", default="3GB", help="DuckDB memory_limit, every step")
    parser.add_argument("--steps", default=",".join(STEPS))
    parser.add_argument("--repeat", type=int, default=1, help="rounds; each step's best is kept")
    args = parser.parse_args()
    employees, weeks = SIZES[args.size]
    if args.employees or args.weeks:
        if not (args.employees and args.weeks):
            parser.error("--employees and --weeks go together")
        employees, weeks = args.employees, args.weeks
    steps = args.steps.split(",")
    if unknown := set(steps) - set(STEPS):
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    if "product" not in steps and any(s in steps for s in COMPARED):
        parser.error("the comparison needs the product step")

    path = ensure_data(employees, weeks)
    badge_rows = sum(pq.read_metadata(f).num_rows for f in event_files(path, "badges"))
    timecard_rows = sum(pq.read_metadata(f).num_rows for f in event_files(path, "timecards"))
    print(
        f"{employees:,} employees x {weeks} weeks: {badge_rows:,} badge events, "
        f"{timecard_rows:,} timecards; {os.cpu_count()} cores; DuckDB {duckdb.__version__}, "
        f"Python {platform.python_version()}; memory_limit {args.memory_limit}; "
        f"load average at start {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    out_dir = BENCH / "out"
    out_dir.mkdir(exist_ok=True)
    results: dict[str, dict[str, float]] = {}
    outputs: dict[str, Path] = {}
    loads: list[float] = []
    # Rounds, not one step repeated: load from other jobs drifts, interleaving is fairer.
    for round_ in range(args.repeat):
        for step in steps:
            outputs[step] = out_dir / f"suite-{employees}x{weeks}-{step}.parquet"
            loads.append(os.getloadavg()[0])
            run = run_in_child(step, employees, weeks, args.memory_limit, outputs[step])
            print(f"  round {round_ + 1} {step}: {run['wall_s']:.2f} s (load {loads[-1]:.2f})")
            if step not in results or run["wall_s"] < results[step]["wall_s"]:
                results[step] = run
    differing = compare_figures(outputs)
    loads.append(os.getloadavg()[0])
    print(f"\nload average (1 min) during the run {min(loads):.2f}-{max(loads):.2f}")
    print("\n".join(report(results, differing, badge_rows)))
    print(f"\nrun {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    if message := disagreement(differing):
        sys.exit(message)


if __name__ == "__main__":
    main()
