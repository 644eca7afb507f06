"""Evaluation benchmark: the product's ``evaluate`` against a hand-written DuckDB query and a
vectorised pandas implementation of the same weekly figure, on the same data, in one run.

    .venv/bin/python bench/evaluate.py                 # 250,000 employees x 26 weeks
    .venv/bin/python bench/evaluate.py --small         # 20,000 x 8
    .venv/bin/python bench/evaluate.py --employees 100000 --weeks 13

The data (``bench/evaluate_data.py``: roster in SQLite, ~100M badge events and ~32M
timecards in the event-store layout with manifests) is generated once per size under
``bench/data/evaluate-<N>x<W>`` and reused. Each measured step runs in a fresh child
process, so the peak RSS printed is that step's alone:

- ``product``: ``services.evaluate.evaluate`` for ISO weeks (roster read from SQLite,
  directives from the policy file, calendar and bindings built, the evaluation in DuckDB,
  the result as an Arrow table);
- ``product-default``: the same with the default periods, weeks and pay periods (not in
  the comparison: shown for the 30 s target);
- ``scan`` (only with ``--steps``; ``bench/suite.py`` runs it): the floor, DuckDB reading
  the needed Parquet columns and aggregating them per employee (not in the comparison);
- ``handwritten``: ``bench/evaluate_handwritten.sql``, one query, with the roster read
  from SQLite and the calendar as Arrow tables;
- ``pandas``: the same figure in pandas, reading the store one month at a time (100M
  events do not fit in memory as pandas objects; per month they do).

The weekly figure compared, per employee and ISO week: hours required, hours at the duty
station (on site there, or field and travel), hours off site, days present by badge. Every
value must agree between the three (to 1e-6 h). Wall time is measured inside the child
around the work only; writing the figure for the comparison is not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from evaluate_data import START, end_of, generate  # noqa: E402

STEPS = ("product", "handwritten", "pandas", "product-default")
# Not in the comparison (its output is not the figure): the floor, see ``step_scan``.
SCAN = "scan"
FIGURE = ["employee_id", "week", "hours_required", "hours_at_duty_station", "hours_off_site"]
FIGURE += ["days_present_badge"]


def data_dir(employees: int, weeks: int) -> Path:
    return BENCH / "data" / f"evaluate-{employees}x{weeks}"


def ensure_data(employees: int, weeks: int) -> Path:
    path = data_dir(employees, weeks)
    marker = path / "generated.json"
    wanted = {"employees": employees, "weeks": weeks}
    if not marker.exists() or json.loads(marker.read_text()) != wanted:
        started = time.perf_counter()
        print(f"generating {employees:,} employees x {weeks} weeks into {path} ...", flush=True)
        generate(path, employees, weeks)
        print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
    return path


# --- steps (each runs in its own process) ---------------------------------------------------


def roster_arrow(path: Path) -> pa.Table:
    """The assignment versions, read from SQLite the plain way (for the baselines)."""
    con = sqlite3.connect(path / "dutystation.sqlite3")
    rows = con.execute(
        "SELECT e.employee_id, a.effective_from, coalesce(a.effective_to, '9999-12-31'), "
        "o.site_id, a.schedule FROM employee_assignment a "
        "JOIN employee e ON e.id = a.employee_pk LEFT JOIN office o ON o.id = a.duty_station_id"
    ).fetchall()
    columns = list(zip(*rows, strict=True))
    return pa.table(
        {
            "employee_id": pa.array(columns[0], pa.string()),
            "effective_from": pa.array(columns[1]).cast(pa.date32()),
            "effective_until": pa.array(columns[2]).cast(pa.date32()),
            "duty_station": pa.array(columns[3], pa.string()),
            "schedule": pa.array(columns[4], pa.string()),
        }
    )


def event_files(path: Path, kind: str) -> list[str]:
    from dutystation.events.schemas import EventKind
    from dutystation.events.store import EventStore

    return [str(p) for p in EventStore(path / "events").files(EventKind(kind))]


def step_product(
    path: Path,
    weeks: int,
    limit: str,
    periods: tuple[str, ...],
    reads: str = "raw",
    keep: bool = False,
) -> pa.Table:
    """The product's evaluation, from the raw events (``reads="raw"``: the full evaluation
    the issue compares with the hand-written query) or from the employee-day roll-up.
    ``keep``: with kept period results (read back when kept, else computed and kept);
    off, every period is computed."""
    from dutystation.bootstrap import bootstrap
    from dutystation.domain.inputs import EvaluationInputs
    from dutystation.policy_files import load_directives
    from dutystation.services.evaluate import EvaluationRequest, evaluate
    from dutystation.settings import load_settings

    settings = load_settings(
        data_dir=path, duckdb_memory_limit=limit, evaluation_reads=reads, keep_period_results=keep
    )
    runtime = bootstrap(settings)
    result = evaluate(
        runtime,
        EvaluationRequest(START, end_of(weeks), periods=periods),
        inputs=EvaluationInputs(),
        directives=load_directives(path / "policies"),
    )
    return result.employee_periods


def step_export(path: Path, weeks: int, limit: str, out: Path) -> int:
    """The product's evaluation by ISO week streamed to a Parquet file
    (``dutystation evaluate --export``): the rows never all in memory. Returns the rows."""
    from dutystation.bootstrap import bootstrap
    from dutystation.services.disclosures import stated
    from dutystation.services.evaluate import EvaluationRequest
    from dutystation.services.evaluation_export import export_evaluation
    from dutystation.settings import load_settings

    settings = load_settings(
        data_dir=path,
        duckdb_memory_limit=limit,
        evaluation_reads="raw",
        policies_dir=str(path / "policies"),
    )
    request = EvaluationRequest(START, end_of(weeks), periods=("week",))
    done = export_evaluation(bootstrap(settings), request, out, stated("benchmark"))
    return done.rows


def product_figure(table: pa.Table) -> pa.Table:
    con = duckdb.connect()
    con.register("t", table)
    return con.sql(
        "SELECT employee_id, CAST(period_label AS VARCHAR) AS week, hours_required, "
        "hours_on_site + hours_field_travel AS hours_at_duty_station, hours_off_site, "
        "days_present_badge FROM t WHERE period_kind = 'week'"
    ).to_arrow_table()


def step_handwritten(path: Path, weeks: int, limit: str) -> pa.Table:
    from dutystation.analytics.calendar_table import schedule_hours

    con = duckdb.connect(
        config={
            "memory_limit": limit,
            "temp_directory": str(path / "tmp"),
            "preserve_insertion_order": False,
        }
    )
    con.register("roster", roster_arrow(path))
    con.register("calendar", schedule_hours(START, end_of(weeks)))
    sql = (BENCH / "evaluate_handwritten.sql").read_text()
    query = sql.format(
        timecards=repr(event_files(path, "timecards")),
        badges=repr(event_files(path, "badges")),
        start=f"DATE '{START.isoformat()}'",
        end=f"DATE '{end_of(weeks).isoformat()}'",
    )
    return con.sql(query).to_arrow_table()


def step_pandas(path: Path, weeks: int) -> pa.Table:
    from evaluate_pandas import weekly_figure

    return weekly_figure(roster_arrow(path), path, START, end_of(weeks))


def step_scan(path: Path, limit: str) -> pa.Table:
    """The floor: DuckDB reading only the Parquet columns the figure needs (badges:
    employee, local date; timecards: employee, date, category, hours, site) and
    aggregating them trivially per employee. No evaluation can read the events faster."""
    con = duckdb.connect(
        config={
            "memory_limit": limit,
            "temp_directory": str(path / "tmp"),
            "preserve_insertion_order": False,
        }
    )
    badges, timecards = event_files(path, "badges"), event_files(path, "timecards")
    return con.sql(
        f"""WITH b AS (
            SELECT employee_id, count(*) AS badge_events, max(local_date) AS last_badge
            FROM read_parquet({badges!r}) GROUP BY employee_id
        ), t AS (
            SELECT employee_id, sum(hours) AS hours, count(category) AS timecards,
                count(site_id) AS with_site, max(date) AS last_timecard
            FROM read_parquet({timecards!r}) GROUP BY employee_id
        )
        SELECT * FROM b FULL OUTER JOIN t USING (employee_id)"""
    ).to_arrow_table()


def run_step(step: str, path: Path, weeks: int, limit: str, out: Path) -> None:
    started, cpu = time.perf_counter(), time.process_time()
    if step == "product-export":
        rows = step_export(path, weeks, limit, out)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(
            json.dumps({"wall_s": wall, "cpu_s": cpu, "rows": rows, "peak_rss_mb": peak_rss_mb()})
        )
        return
    if step == "product":
        table = step_product(path, weeks, limit, ("week",))
    elif step == "product-rollup":
        table = step_product(path, weeks, limit, ("week",), reads="rollup")
    elif step == "product-kept":
        table = step_product(path, weeks, limit, ("week",), reads="rollup", keep=True)
    elif step == "product-default":
        table = step_product(path, weeks, limit, ("week", "pay_period"))
    elif step == "handwritten":
        table = step_handwritten(path, weeks, limit)
    elif step == SCAN:
        table = step_scan(path, limit)
    else:
        table = step_pandas(path, weeks)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    rows = table.num_rows
    if step.startswith("product"):
        table = product_figure(table)
    pq.write_table(table if step == SCAN else table.select(FIGURE), out)
    peak_mb = peak_rss_mb()
    print(json.dumps({"wall_s": wall, "cpu_s": cpu, "rows": rows, "peak_rss_mb": peak_mb}))


def peak_rss_mb() -> float:
    """This process's peak resident set. VmHWM, not ru_maxrss: Linux carries ru_maxrss
    over exec, so a child would report its parent's peak if that was higher."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the parent ----------------------------------------------------------------------------


def run_in_child(step: str, employees: int, weeks: int, limit: str, out: Path) -> dict[str, float]:
    """Run one step in a fresh interpreter (so its peak RSS is its own) and return its
    figures: wall_s, cpu_s, rows, peak_rss_mb. Exits naming the step if it fails."""
    command = [sys.executable, __file__, "--step", step, "--out", str(out)]
    command += ["--employees", str(employees), "--weeks", str(weeks), "--memory-limit", limit]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"step {step} failed:\n{done.stderr[-3000:]}")
    run: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return run


def compare(outputs: dict[str, Path]) -> dict[str, int]:
    """Rows of each step's figure that differ from the product's (or are missing)."""
    con = duckdb.connect()
    base = outputs["product"]
    found = {}
    for step, path in outputs.items():
        if step in ("product", "product-default", SCAN):
            continue
        differing = con.execute(
            f"""SELECT count(*) FROM read_parquet('{base}') AS a
            FULL OUTER JOIN read_parquet('{path}') AS b USING (employee_id, week)
            WHERE a.employee_id IS NULL OR b.employee_id IS NULL
               OR abs(a.hours_required - b.hours_required) > 1e-6
               OR abs(a.hours_at_duty_station - b.hours_at_duty_station) > 1e-6
               OR abs(a.hours_off_site - b.hours_off_site) > 1e-6
               OR a.days_present_badge <> b.days_present_badge"""
        ).fetchone()
        found[step] = int(differing[0]) if differing else -1
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--employees", type=int, default=250_000)
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--small", action="store_true", help="20,000 employees x 8 weeks")
    parser.add_argument(
        "--memory-limit", default="3GB", help="DuckDB memory_limit of the product's steps"
    )
    parser.add_argument(
        "--baseline-memory-limit",
        default="3GB",
        help="DuckDB memory_limit of the hand-written query (it runs out at 1.5GB)",
    )
    parser.add_argument("--steps", default=",".join(STEPS))
    parser.add_argument("--repeat", type=int, default=1, help="runs per step; the best is kept")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    employees, weeks = (20_000, 8) if args.small else (args.employees, args.weeks)
    path = data_dir(employees, weeks)
    if args.step:
        run_step(args.step, path, weeks, args.memory_limit, Path(args.out))
        return
    ensure_data(employees, weeks)
    out_dir = BENCH / "out"
    out_dir.mkdir(exist_ok=True)
    badge_rows = sum(pq.read_metadata(f).num_rows for f in event_files(path, "badges"))
    timecard_rows = sum(pq.read_metadata(f).num_rows for f in event_files(path, "timecards"))
    print(
        f"{employees:,} employees x {weeks} weeks from {START}: {badge_rows:,} badge events, "
        f"{timecard_rows:,} timecards; {os.cpu_count()} cores; load average at start "
        f"{os.getloadavg()[0]:.2f}; DuckDB memory_limit {args.memory_limit} (hand-written "
        f"query {args.baseline_memory_limit})",
        flush=True,
    )
    results: dict[str, dict[str, float]] = {}
    outputs: dict[str, Path] = {}
    # Rounds rather than one step repeated: load from other jobs drifts, and interleaving
    # gives every step the same chances.
    for round_ in range(args.repeat):
        for step in args.steps.split(","):
            outputs[step] = out_dir / f"evaluate-{step}.parquet"
            limit = args.baseline_memory_limit if step == "handwritten" else args.memory_limit
            load = os.getloadavg()[0]
            run = run_in_child(step, employees, weeks, limit, outputs[step])
            print(f"  round {round_ + 1} {step}: {run['wall_s']:.1f} s (load {load:.2f})")
            if step not in results or run["wall_s"] < results[step]["wall_s"]:
                results[step] = run
    differing = compare({k: v for k, v in outputs.items() if k in results})
    base = results["product"]["wall_s"] if "product" in results else None
    print(f"\nload average at end {os.getloadavg()[0]:.2f}")
    print("| step | wall s | CPU s | peak RSS MB | rows | wall / product | differing rows |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for step, r in results.items():
        ratio = f"{r['wall_s'] / base:.2f}" if base else "-"
        diff = differing.get(step, "-" if step.startswith("product") or step == SCAN else "?")
        print(
            f"| {step} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['peak_rss_mb']:,.0f} | "
            f"{r['rows']:,} | {ratio} | {diff} |"
        )
    print(f"\nrun {date.today().isoformat()}")


if __name__ == "__main__":
    main()
