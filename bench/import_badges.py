"""Badge import benchmark: 1M and 10M badge rows into the Parquet event store.

    .venv/bin/python bench/import_badges.py                  # 1M and 10M rows
    .venv/bin/python bench/import_badges.py --sizes 1000000  # one size

Generates (seeded, so every run measures the same files) CSVs with the generic columns
``employee_id,timestamp,site_id,direction`` for 250,000 employees at 2,000 offices across
nine US time zones: 80 % naive local times, 10 % UTC with ``Z``, 10 % with a numeric
offset, all in 2025 between 06:00 and 20:00 office time (no DST gap or fold, so nothing
is rejected), and 0.5 % exact repeats (collapsed as duplicates). Each size is imported
into a fresh scratch data dir by a fresh child process, so the peak RSS printed is that
import's alone. Target (brief): >= 1,000,000 rows/s on 10M rows, peak RSS < 1.5 GB, on
the 2-core CI box. Results and the machine go in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

BENCH = Path(__file__).parent
DATA = BENCH / "data"
OUT = BENCH / "out"
EMPLOYEES = 250_000
SITES = 2_000
YEAR = 2025
ZONES = [  # share of offices per zone, roughly where federal staff sit
    ("America/New_York", 40),
    ("America/Chicago", 25),
    ("America/Denver", 8),
    ("America/Phoenix", 4),
    ("America/Los_Angeles", 15),
    ("America/Anchorage", 2),
    ("Pacific/Honolulu", 2),
    ("America/Puerto_Rico", 2),
    ("Pacific/Guam", 2),
]
SEED = 20250120


def reference_files() -> tuple[Path, Path]:
    """Employees and offices (with their zones) as Parquet, the shape the store hands over."""
    employees, sites = DATA / "badges-employees.parquet", DATA / "badges-sites.parquet"
    if not (employees.exists() and sites.exists()):
        DATA.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(SEED)
        weights = np.array([w for _, w in ZONES], float)
        zone_of_site = rng.choice(len(ZONES), SITES, p=weights / weights.sum())
        pq.write_table(
            pa.table({"employee_id": [f"E{i:07d}" for i in range(EMPLOYEES)]}), employees
        )
        pq.write_table(
            pa.table(
                {
                    "site_id": [f"S{i:05d}" for i in range(SITES)],
                    "timezone": [ZONES[z][0] for z in zone_of_site],
                }
            ),
            sites,
        )
    return employees, sites


def generate(rows: int) -> Path:
    path = DATA / f"badges-{rows}.csv"
    if path.exists():
        return path
    _, sites_path = reference_files()
    rng = np.random.default_rng(SEED + rows)
    site_zone = pq.read_table(sites_path).column("timezone").to_pylist()
    zone_names = [z for z, _ in ZONES]
    zone_index = np.array([zone_names.index(z) for z in site_zone])
    days = (date(YEAR + 1, 1, 1) - date(YEAR, 1, 1)).days
    # UTC offset (seconds) of each zone at noon of each day of the year.
    offsets = np.array(
        [
            [
                int(
                    datetime.combine(date(YEAR, 1, 1) + timedelta(d), datetime.min.time())
                    .replace(hour=12, tzinfo=ZoneInfo(z))
                    .utcoffset()  # type: ignore[union-attr]
                    .total_seconds()
                )
                for d in range(days)
            ]
            for z in zone_names
        ]
    )
    # Timestamps are assembled from a table of day strings and one of time-of-day strings
    # (take + join), 20x faster than formatting 10M datetimes one by one.
    day_text = pa.array(
        [(date(YEAR, 1, 1) + timedelta(d)).isoformat() for d in range(-1, days + 1)]
    )
    clock_text = pa.array(
        [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]
    )
    offset_text = {
        o: f"{'-' if o < 0 else '+'}{abs(o) // 3600:02d}:{abs(o) // 60 % 60:02d}"
        for o in np.unique(offsets)
    }
    chunks = []
    employee_ids = pa.array([f"E{i:07d}" for i in range(EMPLOYEES)])
    site_ids = pa.array([f"S{i:05d}" for i in range(SITES)])
    for start in range(0, rows, 1_000_000):
        size = min(1_000_000, rows - start)
        n = size - size // 200  # the rest of the chunk repeats some of these rows
        site = rng.integers(0, SITES, n)
        day = rng.integers(0, days, n)
        second = rng.integers(6 * 3600, 20 * 3600, n)
        zone = zone_index[site]
        offset = offsets[zone, day]
        kind = rng.random(n)
        utc_second = second - offset
        utc_day = day + np.floor_divide(utc_second, 86400)
        utc_second = np.mod(utc_second, 86400)
        local = pc.binary_join_element_wise(
            pc.take(day_text, pa.array(day + 1)), pc.take(clock_text, pa.array(second)), "T"
        )
        utc = pc.binary_join_element_wise(
            pc.take(day_text, pa.array(utc_day + 1)),
            pc.take(clock_text, pa.array(utc_second)),
            "T",
        )
        with_offset = pc.binary_join_element_wise(
            local,
            pa.array([offset_text[o] for o in np.unique(offset)]).take(
                pa.array(np.searchsorted(np.unique(offset), offset))
            ),
            "",
        )
        stamp = pc.if_else(
            pa.array(kind < 0.8),
            local,
            pc.if_else(
                pa.array(kind < 0.9), pc.binary_join_element_wise(utc, "Z", ""), with_offset
            ),
        )
        direction = pa.array(np.array(["IN", "OUT", ""], dtype=object)[rng.integers(0, 3, n)])
        employee = employee_ids.take(pa.array(rng.integers(0, EMPLOYEES, n)))
        site_id = site_ids.take(pa.array(site))
        table = pa.table(
            {
                "employee_id": employee,
                "timestamp": stamp,
                "site_id": site_id,
                "direction": direction,
            }
        )
        repeats = rng.choice(n, size - n, replace=False)  # 0.5 % delivered twice
        chunks.append(pa.concat_tables([table, table.take(pa.array(repeats))]))
    table = pa.concat_tables(chunks)
    partial = path.with_suffix(".partial")
    pacsv.write_csv(table, partial, write_options=pacsv.WriteOptions(quoting_style="none"))
    partial.rename(path)
    return path


def child(rows: int) -> None:
    """Import one file into a fresh data dir; print rows, seconds, peak RSS as JSON."""
    from dutystation.ingest.fields import ImportKind
    from dutystation.ingest.profiles import default_profile
    from dutystation.ingest.reference import BADGES_SCHEMA, ReferenceData
    from dutystation.services.import_events import import_badges
    from dutystation.settings import Settings

    employees, sites = reference_files()
    reference = ReferenceData(
        pq.read_table(employees), BADGES_SCHEMA.empty_table(), pq.read_table(sites)
    )
    data_dir = OUT / f"badges-{rows}"
    shutil.rmtree(data_dir, ignore_errors=True)
    settings = Settings(data_dir=data_dir)
    source = DATA / f"badges-{rows}.csv"
    started, cpu = time.perf_counter(), os.times()
    summary = import_badges(settings, [source], default_profile(ImportKind.BADGES), reference)
    seconds = time.perf_counter() - started
    after = os.times()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    again = time.perf_counter()
    second = import_badges(settings, [source], default_profile(ImportKind.BADGES), reference)
    reimport = time.perf_counter() - again
    print(
        json.dumps(
            {
                "rows": summary.rows_read,
                "stored": summary.rows_stored,
                "duplicates": summary.duplicates,
                "seconds": seconds,
                "cpu_seconds": (after.user + after.system) - (cpu.user + cpu.system),
                "rss_mb": rss_mb,
                "reimport_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "reimport_seconds": reimport,
                "reimport_stored": second.rows_stored,
            }
        )
    )
    shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument(
        "--repeat", type=int, default=1,
        help="runs per size (each in a fresh process); the fastest is shown, since other "
        "load on a shared machine only ever adds time",
    )  # fmt: skip
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M}Z, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'rows':>12} {'seconds':>8} {'rows/s':>11} {'cpu s':>7} {'peak RSS MB':>12} "
        f"{'stored':>12} {'re-import s':>12} {'its RSS MB':>11}"
    )
    for rows in args.sizes:
        generate(rows)
        runs = []
        for _ in range(args.repeat):
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(rows)],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        r = min(runs, key=lambda run: float(run["seconds"]))
        print(
            f"{r['rows']:>12,} {r['seconds']:>8.2f} {r['rows'] / r['seconds']:>11,.0f} "
            f"{r['cpu_seconds']:>7.1f} {r['rss_mb']:>12,.0f} {r['stored']:>12,} "
            f"{r['reimport_seconds']:>12.2f} {r['reimport_rss_mb']:>11,.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
