"""Designation benchmark: 250,000 employees and 2,000 offices at real ZIP centroids.

    .venv/bin/python bench/designate.py                    # nearest, plan, service
    .venv/bin/python bench/designate.py --remote-share 1   # everyone needs a designation
    .venv/bin/python bench/designate.py --steps nearest,plan --repeat 3

Seeded synthetic input: 2,000 offices at distinct US ZIP centroids (the ``zipcodes``
package), each owned by one to three of six components and listing 8-20 of 20 job
functions, seats sized to the staff who belong to it, remote ones included (a third tight);
250,000 employees, ``--remote-share`` of them remote with no agency duty station (they need
a designation), the rest on site or teleworking at an office. Homes: on-site staff and 80 %
of the remote within commuting distance of an office, the other remote at random ZIPs
anywhere (many farther than 50 miles from every office).

Each step runs in a fresh child process, so the peak RSS printed is that step's (it
includes the ~0.3 s of input generation, which is not timed):

- ``nearest``: the exact nearest agency office and its WGS84 distance for all 250,000
  homes (k-d tree build, query, exact distances).
- ``plan``: the full capacity-aware plan as ``services.designation_plan.compute`` makes it
  (who needs one, eligibility by component and job function, candidates within 50 miles,
  the min-cost flow, explanations of every choice, nearest eligible office for the
  unplaced) and the plan report's tables.
- ``service``: the same through the store: ``services.designation.plan_designations`` on a
  SQLite database holding the roster, offices and homes (reads, plan, proposals written
  with their audit record). The database is built (untimed) by a separate child first.
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
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).parent
DATA = BENCH / "data" / "designate"
EMPLOYEES = 250_000
OFFICES = 2_000
COMPONENTS = [f"DEA-C{i}" for i in range(1, 7)]
FUNCTIONS = [f"function-{i:02d}" for i in range(20)]
SEED = 20250122
DAY = date(2025, 3, 3)
LIMIT_M = 50 * 1609.344


def generate(employees: int, remote_share: float, seed: int = SEED) -> dict[str, Any]:
    """Everything as numpy arrays; the same seed gives the same input."""
    from dutystation.synthetic.geo import zip_table

    rng = np.random.default_rng(seed)
    z = zip_table()
    office_zip = rng.choice(len(z), OFFICES, replace=False)
    o_lat, o_lon = z.lat[office_zip], z.lon[office_zip]
    owners = [
        tuple(sorted(rng.choice(len(COMPONENTS), rng.integers(1, 4), replace=False)))
        for _ in range(OFFICES)
    ]
    functions = [
        tuple(sorted(rng.choice(len(FUNCTIONS), rng.integers(8, 21), replace=False)))
        for _ in range(OFFICES)
    ]
    remote = rng.random(employees) < remote_share
    station = rng.integers(0, OFFICES, employees)
    # A person's component is one that owns their office; their function one it lists.
    component = np.array([owners[s][rng.integers(len(owners[s]))] for s in station])
    function = np.array([functions[s][rng.integers(len(functions[s]))] for s in station])
    # Homes: within ~40 km of the office (a random nearby offset), or a random ZIP anywhere.
    far = remote & (rng.random(employees) < 0.2)
    h_lat = o_lat[station] + rng.normal(0, 0.15, employees)
    h_lon = o_lon[station] + rng.normal(0, 0.2, employees)
    anywhere = rng.choice(len(z), int(far.sum()))
    h_lat[far], h_lon[far] = z.lat[anywhere], z.lon[anywhere]
    h_lat = np.clip(h_lat, -89.9, 89.9)
    # Sized for everyone who belongs to the office, remote staff included; a third tight.
    demand = np.bincount(station, minlength=OFFICES)
    tight = rng.random(OFFICES) < 0.3
    factor = np.where(tight, rng.uniform(0.7, 0.95, OFFICES), rng.uniform(1.0, 1.4, OFFICES))
    seats = np.maximum(np.ceil(demand * factor).astype(np.int64), 5)
    return {
        "o_lat": o_lat,
        "o_lon": o_lon,
        "o_zip": z.zip[office_zip],
        "owners": owners,
        "functions": functions,
        "seats": seats,
        "remote": remote,
        "station": np.where(remote, -1, station),
        "component": component,
        "function": function,
        "h_lat": h_lat,
        "h_lon": h_lon,
    }


def _sets(g: dict[str, Any]) -> tuple[Any, Any]:
    from dutystation.services.designation_inputs import OfficeSet, StaffSet

    n = len(g["h_lat"])
    sites = [f"S{i:04d}" for i in range(OFFICES)]
    taken = np.bincount(g["station"][g["station"] >= 0], minlength=OFFICES)
    offices = OfficeSet(
        pk=np.arange(1, OFFICES + 1, dtype=np.int64),
        site_id=sites,
        name=[f"Office {s}" for s in sites],
        lat=g["o_lat"].copy(),
        lon=g["o_lon"].copy(),
        seats=g["seats"],
        free=g["seats"] - taken,
        org_units=[tuple(COMPONENTS[c] for c in o) for o in g["owners"]],
        job_functions=[frozenset(FUNCTIONS[f] for f in fs) for fs in g["functions"]],
        located=np.ones(OFFICES, np.bool_),
        closed=np.zeros(OFFICES, np.bool_),
    )
    units = [COMPONENTS[c] for c in g["component"]]
    staff = StaffSet(
        pk=np.arange(1, n + 1, dtype=np.int64),
        employee_id=[f"{i:08d}" for i in range(n)],
        name=[f"Person {i}" for i in range(n)],
        org_unit=units,
        component=units,
        arrangement=np.where(g["remote"], "remote", "onsite").astype("<U8"),
        job_function=[FUNCTIONS[f] for f in g["function"]],
        duty_station=g["station"],
        lat=g["h_lat"],
        lon=g["h_lon"],
        home_state=np.full(n, "", dtype="<U2"),
        home_problem=np.full(n, "", dtype="<U32"),
        limit_m=np.full(n, LIMIT_M),
        directive_ref=["US-RTO-2025@1"] * n,
        subject=g["remote"].copy(),
        designated=np.full(n, -1, np.int64),
        host_key=units,
    )
    return offices, staff


def _chains() -> dict[str, tuple[str, ...]]:
    return {"DEA": ("DEA",), "DEA-OIG": ("DEA", "DEA-OIG"), **{c: ("DEA", c) for c in COMPONENTS}}


def step_nearest(g: dict[str, Any]) -> dict[str, float]:
    from dutystation.analytics.nearest import OfficeIndex

    start = time.perf_counter()
    index = OfficeIndex(g["o_lat"], g["o_lon"])
    _, metres = index.nearest(g["h_lat"], g["h_lon"])
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "beyond_50_mi": float((metres > LIMIT_M).sum())}


def step_plan(g: dict[str, Any]) -> dict[str, float]:
    from dutystation.domain.designation import DesignationRules
    from dutystation.services.designation_plan import compute
    from dutystation.services.designation_report import plan_report

    offices, staff = _sets(g)
    start = time.perf_counter()
    computed = compute(offices, staff, DesignationRules(), _chains())
    parameters: dict[str, object] = {
        "day": DAY.isoformat(),
        "effective_from": DAY.isoformat(),
        "org_unit": None,
        "directives": ["US-RTO-2025@1"],
        "what_if": {},
    }
    plan_report(computed, None, None, parameters)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "needing": float(len(computed.who)),
        "placed": float(computed.count("placed")),
        "shortfall": float(computed.shortfall()),
    }


def _database_url() -> str:
    return f"sqlite:///{DATA / 'bench.sqlite3'}"


def step_setup(g: dict[str, Any]) -> dict[str, float]:
    """Roster, offices and homes straight into a fresh SQLite file (not timed)."""
    from sqlalchemy import Table

    from dutystation.store.bulk import insert_rows
    from dutystation.store.db import make_engine, migrate, write_transaction
    from dutystation.store.schema import Base

    for suffix in ("", "-wal", "-shm"):
        Path(f"{DATA / 'bench.sqlite3'}{suffix}").unlink(missing_ok=True)
    engine = make_engine(_database_url())
    migrate(engine)
    t: dict[str, Table] = dict(Base.metadata.tables)
    units = ["DEA", "DEA-OIG", *COMPONENTS]
    n = len(g["h_lat"])
    with write_transaction(engine) as conn:
        insert_rows(
            conn,
            t["org_unit"],
            ("id", "code", "name", "kind", "parent_id"),
            [
                (i + 1, u, u, "department" if i == 0 else "component", None if i == 0 else 1)
                for i, u in enumerate(units)
            ],
        )
        insert_rows(
            conn,
            t["office"],
            ("id", "site_id", "name", "zip", "latitude", "longitude", "timezone", "seats"),
            (
                (
                    i + 1,
                    f"S{i:04d}",
                    f"Office S{i:04d}",
                    str(g["o_zip"][i]),
                    float(g["o_lat"][i]),
                    float(g["o_lon"][i]),
                    "America/New_York",
                    int(g["seats"][i]),
                )
                for i in range(OFFICES)
            ),
        )
        insert_rows(
            conn,
            t["office_org_unit"],
            ("office_id", "org_unit_id"),
            ((i + 1, int(c) + 3) for i, o in enumerate(g["owners"]) for c in o),
        )
        insert_rows(
            conn,
            t["office_job_function"],
            ("office_id", "job_function"),
            ((i + 1, FUNCTIONS[int(f)]) for i, fs in enumerate(g["functions"]) for f in fs),
        )
        insert_rows(
            conn,
            t["employee"],
            ("id", "employee_id", "name", "active"),
            ((i + 1, f"{i:08d}", f"Person {i}", True) for i in range(n)),
        )
        insert_rows(
            conn,
            t["employee_assignment"],
            (
                "employee_pk",
                "effective_from",
                "org_unit_id",
                "duty_station_id",
                "arrangement",
                "schedule",
                "job_function",
            ),
            (
                (
                    i + 1,
                    date(2025, 1, 6),
                    int(g["component"][i]) + 3,
                    int(g["station"][i]) + 1 if g["station"][i] >= 0 else None,
                    "remote" if g["remote"][i] else "onsite",
                    "5x8",
                    FUNCTIONS[g["function"][i]],
                )
                for i in range(n)
            ),
        )
        insert_rows(
            conn,
            t["employee_home"],
            ("employee_pk", "effective_from", "latitude", "longitude"),
            (
                (i + 1, date(2025, 1, 6), float(g["h_lat"][i]), float(g["h_lon"][i]))
                for i in range(n)
            ),
        )
    engine.dispose()
    return {"seconds": 0.0}


def step_service(g: dict[str, Any]) -> dict[str, float]:
    from dutystation.bootstrap import bootstrap
    from dutystation.domain.access import SYSTEM
    from dutystation.services.designation import PlanRequest, plan_designations
    from dutystation.settings import Settings

    del g  # the database holds it
    settings = Settings(
        data_dir=DATA / "run", database_url=_database_url(), policies_dir=BENCH.parent / "policies"
    )
    runtime = bootstrap(settings)
    start = time.perf_counter()
    outcome = plan_designations(runtime, SYSTEM, PlanRequest(day=DAY))
    seconds = time.perf_counter() - start
    runtime.engine.dispose()
    return {
        "seconds": seconds,
        "needing": float(len(outcome.computed.who)),
        "placed": float(outcome.computed.count("placed")),
        "shortfall": float(outcome.computed.shortfall()),
    }


STEPS = {"nearest": step_nearest, "plan": step_plan, "setup": step_setup, "service": step_service}


def run_child(step: str, employees: int, remote_share: float) -> dict[str, float]:
    g = generate(employees, remote_share)
    before = time.process_time()
    result = STEPS[step](g)
    result["cpu_seconds"] = time.process_time() - before
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _child(step: str, employees: int, remote_share: float) -> dict[str, float]:
    args = [sys.executable, __file__, "--child", step, str(employees), str(remote_share)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{step} failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=EMPLOYEES)
    parser.add_argument("--remote-share", type=float, default=0.3)
    parser.add_argument("--steps", default="nearest,plan,service")
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs per step")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step, employees, share = args.child
        print(json.dumps(run_child(step, int(employees), float(share))))
        return
    DATA.mkdir(parents=True, exist_ok=True)
    print(
        f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f}; {args.employees:,} employees, {OFFICES:,} "
        f"offices, remote share {args.remote_share:g}"
    )
    print(f"{'step':<9} {'wall s':>7} {'CPU s':>7} {'peak RSS MB':>12}  result")
    steps = args.steps.split(",")
    if "service" in steps:
        _child("setup", args.employees, args.remote_share)
    for step in steps:
        runs = [_child(step, args.employees, args.remote_share) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["seconds"])
        extra = {
            k: int(v) for k, v in best.items() if k not in ("seconds", "cpu_seconds", "peak_rss_mb")
        }
        print(
            f"{step:<9} {best['seconds']:>7.2f} {best['cpu_seconds']:>7.1f} "
            f"{best['peak_rss_mb']:>12,.0f}  {extra}"
        )
    if "service" in steps:
        shutil.rmtree(DATA / "run", ignore_errors=True)


if __name__ == "__main__":
    main()
