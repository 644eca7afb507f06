"""Daily presence benchmark: badge events in the event store's Parquet shape -> presence.

    .venv/bin/python bench/presence.py                       # 20M and 100M events
    .venv/bin/python bench/presence.py --sizes 20000000 --repeat 3

Generates (seeded) Parquet files with the event store's badge columns, one file per month
as the store keeps them: 250,000 employees, each at one of 2,000 offices over nine US time
zones, working weekdays of 2025 (the number of days grows with the size asked for). A
person-day is an IN at about 08:00 local and an OUT about 9 h later, with the
imperfections of real exports: 20 % go out and back for lunch, 3 % never tap out, 1.5 %
of taps are re-read 1-3 s later, 0.3 % of days carry on past midnight (a night shift), and
the readers of 10 % of offices record no direction.

Each measured step runs in a fresh child process (peak RSS is that step's alone): daily
presence for every day of the files, exactly as ``services.presence.daily_presence`` runs
it (chunks of days sized to ``duckdb_memory_limit`` by ``day_chunks``, each reading only its
months, through ``presence_sql`` on a connection from ``analytics.engine.connect`` with the
default settings: 1GB, every core), each chunk written to Parquet instead of gathered into
one Arrow table, for the conventions given with ``--conventions``.
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
import pyarrow.parquet as pq

BENCH = Path(__file__).parent
DATA = BENCH / "data"
OUT = BENCH / "out"
EMPLOYEES = 250_000
SITES = 2_000
YEAR = 2025
ZONES = [  # share of offices per zone, as in bench/import_badges.py
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
TAPS_PER_DAY = 2.4  # IN, OUT, lunch out and back for 20 %, re-reads; minus missing OUTs
SCHEMA = pa.schema(
    [
        ("employee_id", pa.string()),
        ("badge_id", pa.string()),
        ("ts_utc", pa.timestamp("us", tz="UTC")),
        ("source_offset_minutes", pa.int16()),
        ("local_date", pa.date32()),
        ("site_id", pa.string()),
        ("direction", pa.string()),
        ("batch_seq", pa.int64()),
        ("event_key", pa.uint64()),
    ]
)
CONVENTIONS = {
    "first-last/reader": ("first_last", "reader"),
    "pairs/reader": ("pairs", "reader"),
    "first-last/alternating": ("first_last", "alternating"),
    "pairs/alternating": ("pairs", "alternating"),
}


def sites_table() -> pa.Table:
    rng = np.random.default_rng(SEED)
    weights = np.array([w for _, w in ZONES], float)
    zone_of_site = rng.choice(len(ZONES), SITES, p=weights / weights.sum())
    return pa.table(
        {
            "site_id": [f"S{i:05d}" for i in range(SITES)],
            "timezone": [ZONES[z][0] for z in zone_of_site],
            "directional": rng.random(SITES) >= 0.1,
        }
    )


def _noon_offsets(days: list[date]) -> np.ndarray:
    """Seconds east of UTC per zone and day, at local noon (office hours never touch the
    02:00 DST switch, so noon's offset holds for the day)."""
    return np.array(
        [
            [
                int(datetime.combine(d, datetime.min.time()).replace(hour=12, tzinfo=ZoneInfo(z))
                    .utcoffset().total_seconds())  # type: ignore[union-attr]
                for d in days
            ]
            for z, _ in ZONES
        ]
    )  # fmt: skip


def data_dir(events: int, ordered: bool) -> Path:
    return DATA / f"presence-{events}{'-sorted' if ordered else ''}"


def generate(events: int, ordered: bool = False) -> Path:
    """One Parquet file per month under bench/data/presence-<events>/; returns the folder.
    ``ordered``: rows in time order, as if the importer sorted each month."""
    folder = data_dir(events, ordered)
    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED + events)
    sites = sites_table()
    zone_names = [z for z, _ in ZONES]
    site_zone = np.array([zone_names.index(z) for z in sites.column("timezone").to_pylist()])
    directional = np.array(sites.column("directional").to_pylist())
    home = rng.integers(0, SITES, EMPLOYEES)
    start_minute = rng.normal(8 * 60, 45, EMPLOYEES).clip(5 * 60, 11 * 60)
    weekdays = [
        date(YEAR, 1, 1) + timedelta(d)
        for d in range(365)
        if (date(YEAR, 1, 1) + timedelta(d)).weekday() < 5
    ]
    n_days = min(len(weekdays), max(1, round(events / TAPS_PER_DAY / EMPLOYEES)))
    days = weekdays[:n_days]
    offsets = _noon_offsets(days)
    employee_ids = pa.array([f"E{i:07d}" for i in range(EMPLOYEES)])
    site_ids = sites.column("site_id").combine_chunks()
    epoch_day = np.array([(d - date(1970, 1, 1)).days for d in days], np.int64)
    by_month: dict[str, list[pa.Table]] = {}
    for d, day in enumerate(days):
        emp = np.arange(EMPLOYEES)
        site = home[emp]
        arrive = start_minute * 60 + rng.normal(0, 600, EMPLOYEES)
        leave = arrive + rng.normal(9 * 3600, 1200, EMPLOYEES)
        night = rng.random(EMPLOYEES) < 0.003
        leave = np.where(night, arrive + rng.uniform(14, 20, EMPLOYEES) * 3600, leave)
        lunch = rng.random(EMPLOYEES) < 0.2
        lunch_out = arrive + rng.uniform(4, 5, EMPLOYEES) * 3600
        lunch_in = lunch_out + rng.uniform(1200, 3000, EMPLOYEES)
        has_out = rng.random(EMPLOYEES) >= 0.03
        parts = [
            (np.ones(EMPLOYEES, bool), arrive, 0),
            (lunch, lunch_out, 1),
            (lunch, lunch_in, 0),
            (has_out, leave, 1),
        ]
        which = np.concatenate([np.flatnonzero(m) for m, _, _ in parts])
        local = np.concatenate([s[m] for m, s, _ in parts]).astype(np.int64)
        direction = np.concatenate([np.full(int(m.sum()), v) for m, _, v in parts])
        reread = rng.random(len(which)) < 0.015
        which = np.concatenate([which, which[reread]])
        local = np.concatenate([local, local[reread] + rng.integers(1, 4, int(reread.sum()))])
        direction = np.concatenate([direction, direction[reread]])
        e_site = site[which]
        utc_s = (epoch_day[d] * 86400 + local - offsets[site_zone[e_site], d]) * 1_000_000
        label = np.where(directional[e_site], direction, 2)
        local_day = np.full(len(which), epoch_day[d]) + local // 86400
        order = np.argsort(utc_s, kind="stable")
        table = pa.table(
            {
                "employee_id": employee_ids.take(pa.array(which[order])),
                "badge_id": pa.nulls(len(which), pa.string()),
                "ts_utc": pa.array(utc_s[order], pa.timestamp("us", tz="UTC")),
                "source_offset_minutes": pa.nulls(len(which), pa.int16()),
                "local_date": pa.array(local_day[order].astype("int32"), pa.date32()),
                "site_id": site_ids.take(pa.array(e_site[order])),
                "direction": pa.array(
                    np.array(["IN", "OUT", None], dtype=object)[label[order]], pa.string()
                ),
                "batch_seq": pa.array(np.ones(len(which), np.int64)),
                "event_key": pa.array(rng.integers(0, 2**63, len(which)).astype(np.uint64)),
            },
            schema=SCHEMA,
        )
        by_month.setdefault(f"{day:%Y-%m}", []).append(table)
        if d + 1 == len(days) or f"{days[d + 1]:%Y-%m}" != f"{day:%Y-%m}":
            month = f"{day:%Y-%m}"
            whole = pa.concat_tables(by_month.pop(month))
            # The store's month files come out of a hash aggregation, in no useful order:
            # shuffled here too, so no row group can be skipped by its local_date range.
            order = np.arange(whole.num_rows) if ordered else rng.permutation(whole.num_rows)
            pq.write_table(
                whole.take(pa.array(order)),
                folder / f"month={month}.parquet",
                compression="zstd",
                use_dictionary=["employee_id", "site_id", "direction", "badge_id"],
            )
    pq.write_table(sites.select(["site_id", "timezone"]), folder / "sites.parquet")
    (folder / "done").write_text(f"{n_days} days\n")
    return folder


def child(events: int, convention: str, ordered: bool) -> None:
    """Daily presence of every day in the files, chunked as ``services.presence`` does,
    each chunk written to Parquet; prints figures as JSON."""
    from dutystation.analytics.engine import connect
    from dutystation.analytics.event_sources import months_between
    from dutystation.analytics.presence import BYTES_PER_EVENT, day_chunks, presence_sql
    from dutystation.domain.presence import DirectionMode, HoursConvention, PresenceSettings
    from dutystation.services.presence import memory_bytes
    from dutystation.settings import Settings

    folder = data_dir(events, ordered)
    hours, mode = CONVENTIONS[convention]
    config = PresenceSettings(HoursConvention(hours), DirectionMode(mode))
    settings = Settings(data_dir=OUT / "presence-data")
    con = connect(settings)
    files = {p.stem.removeprefix("month="): p for p in folder.glob("month=*.parquet")}
    per_month = {m: pq.read_metadata(p).num_rows for m, p in files.items()}
    first_day, last_day = con.sql(
        f"SELECT min(local_date), max(local_date) FROM read_parquet('{folder}/month=*.parquet')"
    ).fetchall()[0]
    sites = f"read_parquet('{folder}/sites.parquet')"
    max_events = memory_bytes(settings.duckdb_memory_limit) // BYTES_PER_EVENT
    chunks = day_chunks((first_day, last_day), per_month, max_events)
    target = OUT / f"presence-{events}"
    target.mkdir(parents=True, exist_ok=True)
    started, cpu = time.perf_counter(), os.times()
    for i, (first, last) in enumerate(chunks):
        months = months_between(first - timedelta(days=1), last + timedelta(days=1))
        listed = ", ".join(f"'{files[m]}'" for m in months if m in files)
        query = presence_sql(f"read_parquet([{listed}])", sites, config, (first, last))
        con.execute(
            f"COPY (SELECT * FROM {query}) TO '{target}/chunk-{i:03d}.parquet' "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
    seconds = time.perf_counter() - started
    after = os.times()
    out_rows = sum(pq.read_metadata(p).num_rows for p in target.glob("chunk-*.parquet"))
    shutil.rmtree(target)
    rows = sum(per_month.values())
    print(
        json.dumps(
            {
                "events": rows,
                "days": out_rows,
                "seconds": seconds,
                "cpu_seconds": (after.user + after.system) - (cpu.user + cpu.system),
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "chunks": len(chunks),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000_000, 100_000_000])
    parser.add_argument(
        "--conventions", nargs="+", choices=list(CONVENTIONS),
        default=["first-last/reader", "pairs/alternating"],
    )  # fmt: skip
    parser.add_argument(
        "--repeat", type=int, default=1,
        help="runs per size (each in a fresh process); the fastest is shown, since other "
        "load on a shared machine only ever adds time",
    )  # fmt: skip
    parser.add_argument(
        "--sorted", action="store_true",
        help="month files in time order (as if the importer sorted them), so chunks can skip "
        "row groups; default: shuffled, as the event store writes them today",
    )  # fmt: skip
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), args.child[1], args.sorted)
        return
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M}Z, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'events':>12} {'convention':>23} {'chunks':>6} {'days out':>11} {'seconds':>8} "
        f"{'events/s':>11} {'cpu s':>7} {'peak RSS MB':>12}"
    )
    for events in args.sizes:
        generate(events, args.sorted)
        for convention in args.conventions:
            runs = []
            for _ in range(args.repeat):
                done = subprocess.run(
                    [sys.executable, __file__, "--child", str(events), convention]
                    + (["--sorted"] if args.sorted else []),
                    check=True, capture_output=True, text=True,
                )  # fmt: skip
                runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
            r = min(runs, key=lambda run: float(run["seconds"]))
            print(
                f"{r['events']:>12,} {convention:>23} {r['chunks']:>6} {r['days']:>11,} "
                f"{r['seconds']:>8.2f} "
                f"{r['events'] / r['seconds']:>11,.0f} {r['cpu_seconds']:>7.1f} "
                f"{r['rss_mb']:>12,.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
