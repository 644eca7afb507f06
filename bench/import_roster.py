"""Roster import benchmark: 250,000 employees into SQLite and PostgreSQL.

    .venv/bin/python bench/import_roster.py                       # SQLite only
    .venv/bin/python bench/import_roster.py --pg postgresql+psycopg://postgres@127.0.0.1/x
    DUTYSTATION_TEST_DATABASE_URL=... .venv/bin/python bench/import_roster.py

Generates (seeded, so every run measures the same files) org units, offices and a roster
under bench/data/, then times, per backend and each in a fresh child process so peak RSS
belongs to that step alone: the first roster import, and the re-import of the same file
(must add 0 rows). PostgreSQL runs in a scratch database that is dropped afterwards.
Target (DESIGN / brief): each import under 60 s on the 2-core CI box.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

DATA = Path(__file__).parent / "data"
DAY = "2025-01-06"


def generate(folder: Path, employees: int, seed: int = 20250120) -> dict[str, Path]:
    """Department > 8 components > 8 divisions > 6 branches; 300 offices; a supervisor
    tree with 10 reports per manager; every employee has a badge and a home ZIP."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {k: folder / f"{k}-{employees}.csv" for k in ("org", "offices", "roster")}
    units = [("DEPT", "Department", "", "department")]
    for c in range(8):
        units.append((f"C{c}", f"Component {c}", "DEPT", "component"))
        for d in range(8):
            units.append((f"C{c}-D{d}", f"Division {c}.{d}", f"C{c}", "division"))
            units += [
                (f"C{c}-D{d}-B{b}", f"Branch {c}.{d}.{b}", f"C{c}-D{d}", "other") for b in range(6)
            ]
    leaves = [u[0] for u in units if u[3] == "other"]
    with paths["org"].open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["org_unit", "name", "parent", "kind"])
        out.writerows(units)
    zones = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"]
    sites = [f"S{i:03d}" for i in range(300)]
    with paths["offices"].open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(
            [
                "site_id",
                "name",
                "address",
                "zip",
                "latitude",
                "longitude",
                "timezone",
                "seats",
                "org_unit",
                "job_functions",
            ]
        )
        for i, site in enumerate(sites):
            out.writerow(
                [
                    site,
                    f"Office {i}",
                    f"{i} Federal Plaza",
                    f"{20001 + i:05d}",
                    f"{rng.uniform(25, 48):.5f}",
                    f"{rng.uniform(-123, -70):.5f}",
                    zones[i % 4],
                    rng.randint(50, 2000),
                    f"C{i % 8};DEPT",
                    "analysis;legal;field",
                ]
            )
    arrangements = ["onsite"] * 5 + ["telework"] * 4 + ["remote"]
    with paths["roster"].open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(
            [
                "employee_id",
                "name",
                "email",
                "org_unit",
                "duty_station",
                "arrangement",
                "effective_date",
                "schedule",
                "supervisor_id",
                "position",
                "job_function",
                "bargaining_unit",
                "telework_eligible",
                "badge_id",
                "home_zip",
                "home_latitude",
                "home_longitude",
            ]
        )
        for i in range(employees):
            arrangement = rng.choice(arrangements)
            out.writerow(
                [
                    f"{i:08d}",
                    f"Employee {i}",
                    f"e{i}@agency.example.gov",
                    rng.choice(leaves),
                    "" if arrangement == "remote" else rng.choice(sites),
                    arrangement,
                    DAY,
                    rng.choice(["5x8", "4x10", "5-4/9"]),
                    "" if i == 0 else f"{(i - 1) // 10:08d}",
                    "Analyst",
                    "analysis",
                    rng.choice(["", "AFGE-1", "NTEU-2"]),
                    rng.choice(["Y", "N"]),
                    f"B{i:09d}",
                    f"{rng.randint(1000, 99950):05d}",
                    f"{rng.uniform(25, 48):.4f}",
                    f"{rng.uniform(-123, -70):.4f}",
                ]
            )
    return paths


def run_step(url: str, step: str, paths: dict[str, Path]) -> dict[str, float]:
    """One measured step, in this (child) process."""
    from sqlalchemy import func, select

    from dutystation.services.import_records import (
        import_offices,
        import_org_units,
        import_roster,
    )
    from dutystation.settings import Settings
    from dutystation.store.db import make_engine, migrate
    from dutystation.store.schema import EmployeeAssignment

    settings = Settings(data_dir=DATA / "run")
    engine = make_engine(url)
    if step == "import":
        migrate(engine)
        import_org_units(engine, [paths["org"]], settings=settings)
        import_offices(engine, [paths["offices"]], settings=settings)
    start = time.perf_counter()
    summary = import_roster(engine, [paths["roster"]], settings=settings)
    seconds = time.perf_counter() - start
    with engine.connect() as conn:
        versions = conn.scalar(select(func.count()).select_from(EmployeeAssignment))
    engine.dispose()
    return {
        "seconds": seconds,
        "rows": summary.rows_read,
        "stored": summary.rows_stored,
        "versions": float(versions or 0),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _child(url: str, step: str, paths: dict[str, Path]) -> dict[str, float]:
    encoded = json.dumps({k: str(v) for k, v in paths.items()})
    args = [sys.executable, __file__, "--child", step, url, encoded]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{step} on {url.split(':')[0]} failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _pg_scratch(base: str) -> tuple[str, str]:
    from sqlalchemy.engine import make_url

    name = f"dutystation_bench_{uuid.uuid4().hex[:10]}"
    return name, make_url(base).set(database=name).render_as_string(hide_password=False)


def _pg_admin(base: str, sql: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base).set(database="postgres", drivername="postgresql+psycopg")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=250_000)
    parser.add_argument("--pg", default=os.environ.get("DUTYSTATION_TEST_DATABASE_URL"))
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step, url, raw = args.child
        paths = {k: Path(v) for k, v in json.loads(raw).items()}
        print(json.dumps(run_step(url, step, paths)))
        return
    start = time.perf_counter()
    paths = generate(DATA, args.employees)
    print(
        f"generated {args.employees:,} employees in {time.perf_counter() - start:.1f} s "
        f"({paths['roster'].stat().st_size / 1e6:.0f} MB)"
    )
    backends: list[tuple[str, str]] = []
    sqlite_file = DATA / "bench.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{sqlite_file}{suffix}").unlink(missing_ok=True)
    backends.append(("sqlite", f"sqlite:///{sqlite_file}"))
    pg_name = None
    if args.pg:
        pg_name, pg_url = _pg_scratch(args.pg)
        _pg_admin(args.pg, f'CREATE DATABASE "{pg_name}"')
        backends.append(("postgresql", pg_url))
    print(
        f"{'backend':<11} {'step':<9} {'wall s':>7} {'rows/s':>9} {'stored':>8} "
        f"{'versions':>9} {'peak RSS MB':>12}"
    )
    try:
        for backend, url in backends:
            for step in ("import", "reimport"):
                r = _child(url, step, paths)
                print(
                    f"{backend:<11} {step:<9} {r['seconds']:>7.1f} "
                    f"{r['rows'] / r['seconds']:>9,.0f} {int(r['stored']):>8,} "
                    f"{int(r['versions']):>9,} {r['peak_rss_mb']:>12,.0f}"
                )
    finally:
        if pg_name is not None:
            _pg_admin(args.pg, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
