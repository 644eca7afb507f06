"""Web load benchmark (issue 6, RELIABILITY T27): "my status", the overview and a
component's report at fixed request rates against ``dutystation serve`` on PostgreSQL,
status reads during a 1M-row badge import, and a regression gate against a stored
baseline of the same machine kind.

    .venv/bin/python bench/web_load.py                        # 250,000 employees, all scenarios
    .venv/bin/python bench/web_load.py --setup-only           # data, database, two refreshes
    .venv/bin/python bench/web_load.py --skip-setup --scenarios status --seconds 300
    .venv/bin/python bench/web_load.py --skip-setup --gate    # exit 1 on a p99 regression
    .venv/bin/python bench/web_load.py --skip-setup --record-baseline
    .venv/bin/python bench/web_load.py --employees 20000 --weeks 8 --seconds 20

Steps:

1. **Data.** The roster, offices and org units of ``bench/evaluate_data.py`` (generated
   once under ``bench/data/evaluate-<N>x<W>``) are copied into a fresh PostgreSQL
   database (``COPY``); its event store is copied as hard links (imports land in the copy).
   Accounts with API tokens: ``--users`` employees, a TMO over the whole organisation, a
   leader per component, an HR administrator (uploads) (``web_world.py``).
2. **Refresh.** ``dutystation evaluate --refresh`` in a child process, as an operator
   runs it, twice (the second replaces the first's rows, as every later refresh does).
3. **Serve.** ``dutystation serve --workers W`` (uvicorn, as the product runs).
4. **Load**, per scenario after ``--warmup`` seconds that are not counted:

   - ``status``: ``GET /api/v1/status/me`` at ``--rate`` with one of the employees'
     tokens at random; every token marked as never used first, so each one's "last used"
     write (then at most once in five minutes) falls in the measured run.
   - ``overview``: ``GET /api/v1/overview?org=`` of a random unit, as the TMO, at ``--rate``.
   - ``report``: ``GET /api/v1/reports/onsite-share?org=C`` (``--report-kind``; the memo's
     measure, what a component's leader pulls) for a random component C, as that
     component's leader, at ``--report-rate``, over the period from the directive
     (2025-01-20) to the world's last day (the default "since-directive" of a fresh world,
     fixed so that the import scenario's new week does not lengthen it). At most
     ``--report-max-in-flight`` unanswered; a request planned beyond that is not sent
     and counts as an error (``shed``).
   - ``import``: ``--imports`` times, status reads at ``--rate`` for ``--import-lead-in``
     seconds alone, then on while ``dutystation import badges`` stores ``--import-rows``
     taps of a new week in its own process (until it ends) on ``--import-cpus`` cores
     (``DUTYSTATION_IMPORT_CPUS``, default 1: the setting docs/configuration.md gives a
     2-core server that answers reads during imports), with ``--import-nice`` as its
     ``import_nice`` (default the product's, 10), and under ``chrt --idle 0`` with
     ``--import-idle``. With
     ``--import-via api`` the file is uploaded instead (``POST /api/v1/imports/badges``
     as an HR administrator, by ``curl`` in its own process): the import then runs in
     the server's child process, with the server's ``import_cpus`` and
     ``upload_import_nice`` (``--import-nice``; default the product's, 10).
     The row ``status-alone`` pools the lead-ins' reads,
     ``status-during-import`` those planned while the imports ran, with
     ``ratio_to_alone`` = its p99 / the lead-ins' p99 (target <= 2) and each import's own
     p99 and its lead-in's, and the slowest read of every second (``max_ms_by_s``, lead-in
     included: where an import's stalls fall), and the time the host took from the
     guest's cores (``steal_ms_per_s``, Linux's steal count, in the lead-in and during
     the import: on a virtual machine, a delay no setting inside it controls). Each
     import is paired with the minutes around it, so drift of the machine (a neighbour
     on the host, PostgreSQL's checkpoints) weighs on both sides alike: one 1M-row
     import lasts 6-10 s, 1,200-2,000 reads, whose p99 alone varies by half from run to
     run. ``--stand-in COMMAND`` runs a shell command in each import's place
     (``bench/spin.py``: a core kept busy), to tell what the import does from what any
     work of its shape does.

The client is open-loop (``load_client.py``: request *i* leaves at ``start + i / rate``
whatever happened before, latency counted from that planned instant). Printed per
scenario: throughput, p50/p90/p95/p99/max, errors (anything but 200), the server's RSS,
the 1-minute load average at start and end, CPU per request (server, PostgreSQL,
client), and how late the client itself sent (``client_lag_ms``: a client short of CPU
would look like a slow server; its collector is kept off what it loaded at start, as
the server's is). ``--results FILE`` writes the run; ``--gate`` / ``--record-baseline``
compare it with / store it as the baseline of this machine kind (``load_gate.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from evaluate_data import end_of  # noqa: E402
from load_client import Outcome, drive, percentile, summarize, window  # noqa: E402
from load_gate import BASELINES, check, left_out, machine_kind, record  # noqa: E402
from load_import import Importer, Upload, badge_file, mark_used, next_week  # noqa: E402
from load_server import (  # noqa: E402
    backends,
    cpu_seconds,
    free_port,
    serve,
    stop,
    tree_cpu_seconds,
    tree_rss_mb,
)
from web_world import admin_url, database_name, environment, refresh, setup, source_dir  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
REPORT_TIMEOUT = 1800.0
DIRECTIVE_DAY = date(2025, 1, 20)  # the reference directive's (evaluate_data's policies)
HOW = (
    "bench/web_load.py: open-loop fixed-rate client on loopback; dutystation serve on "
    "PostgreSQL; percentiles over the answered requests of the measured seconds after warm-up"
)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--employees", type=int, default=250_000)
    add("--weeks", type=int, default=26)
    add("--rate", type=float, default=200.0, help="status and overview requests/s")
    add("--seconds", type=float, default=60.0, help="measured seconds per scenario")
    add("--warmup", type=float, default=5.0, help="seconds of each scenario not counted")
    add("--workers", type=int, default=2)
    add("--scenarios", default="status,overview,report,import")
    add("--report-kind", default="onsite-share")
    add("--report-rate", type=float, default=20.0)
    add("--report-max-in-flight", type=int, default=10)
    add("--import-rows", type=int, default=1_000_000)
    add("--import-cpus", type=int, default=1, help="the import's import_cpus (0: all cores)")
    add(
        "--import-nice",
        type=int,
        help="the import's nice: import_nice (cli) or upload_import_nice (api); "
        "default the product's",
    )
    add(
        "--import-idle",
        action="store_true",
        help="run the command in Linux's idle scheduling class: chrt --idle 0 (cli only)",
    )
    add(
        "--stand-in",
        metavar="COMMAND",
        help="a shell command run in place of each import (e.g. 'python bench/spin.py 4'): "
        "what any work of that shape does to the reads",
    )
    add("--import-via", choices=("cli", "api"), default="cli", help="command line or upload")
    add("--import-lead-in", type=float, default=10.0, help="seconds of reads before each import")
    add("--imports", type=int, default=3, help="imports whose reads are pooled")
    add("--users", type=int, default=1_000, help="employee tokens the status requests use")
    add("--refreshes", type=int, default=2)
    add("--skip-setup", action="store_true", help="reuse the database and snapshot")
    add("--setup-only", action="store_true", help="data and refreshes, no load")
    add("--work-dir", type=Path, default=BENCH / "data", help="where the data is generated")
    add("--database-url", help="default: a database per size on the local PostgreSQL")
    add("--results", type=Path, help="write the run (JSON) to this file")
    add("--gate", action="store_true", help="exit non-zero on a regression or no baseline")
    add("--record-baseline", action="store_true", help="store the run as this kind's baseline")
    add("--baselines", type=Path, default=BASELINES)
    args = parser.parse_args()
    if args.weeks < 3:
        parser.error("--weeks must be at least 3: the world starts two weeks before the directive")
    unknown = set(args.scenarios.split(",")) - {"status", "overview", "report", "import"}
    if unknown:
        parser.error(f"unknown scenario {', '.join(sorted(unknown))}")
    return args


class Run:
    """The server and what a scenario needs to measure it."""

    def __init__(self, args: argparse.Namespace, env: dict[str, str], url: str) -> None:
        self.args, self.env, self.url = args, env, url
        self.port = free_port()
        self.server = serve(env, self.port, args.workers)

    def measure(
        self,
        make: Callable[[], tuple[str, str]],
        rate: float,
        *,
        max_in_flight: int | None = None,
        importer: Importer | None = None,
        after_warmup: Callable[[], None] | None = None,
        seconds: float | None = None,
    ) -> Outcome:
        """Warm-up, then the measured run (``seconds``, default ``--seconds``; with an
        importer, on until it ends), with CPU of the server, PostgreSQL, client."""
        pid, seconds = self.server.pid, seconds or self.args.seconds
        # Capped runs wait for every answer (load_client.drive): the cap then bounds the
        # reports the server computes at once, and so its memory.
        wait = {"max_in_flight": max_in_flight, "timeout": REPORT_TIMEOUT} if max_in_flight else {}
        asyncio.run(drive(self.port, make, rate, self.args.warmup, pid, **wait))  # type: ignore[arg-type]
        if after_warmup is not None:
            after_warmup()
        load = os.getloadavg()[0]
        cpu, client = tree_cpu_seconds(pid), time.process_time()
        where = (admin_url(self.url), database_name(self.url))
        pg = {p: cpu_seconds([p]) for p in backends(*where)}

        async def run() -> Outcome:
            if importer is None:
                return await drive(self.port, make, rate, seconds, pid, **wait)  # type: ignore[arg-type]
            task = asyncio.create_task(importer.run())
            outcome = await drive(
                self.port, make, rate, seconds, pid, keep_going=lambda: not task.done()
            )
            await task
            return outcome

        outcome = asyncio.run(run())
        outcome.server_cpu_seconds = tree_cpu_seconds(pid) - cpu
        outcome.client_cpu_seconds = time.process_time() - client
        outcome.load_average = (round(load, 2), round(os.getloadavg()[0], 2))
        # Backends opened during the run count from 0; those closed meanwhile are lost.
        outcome.postgres_cpu_seconds = sum(
            cpu_seconds([p]) - pg.get(p, 0.0) for p in backends(*where)
        )
        return outcome


def forget_token_uses(url: str) -> None:
    """Every token as never used, so that each one's "last used" write (then at most once
    in five minutes, ``tokens.USED_RESOLUTION``) falls in the measured run."""
    _set_token_uses(url, "NULL")


def fresh_token_uses(url: str) -> None:
    """Every token as used now, so that no "last used" write (at most once in five
    minutes) falls in the next five minutes: the import scenario measures the import, and
    the writes' burst when the five minutes are up is the status scenario's."""
    _set_token_uses(url, "now()")


def _set_token_uses(url: str, value: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE api_token SET last_used_at = {value}"))
    engine.dispose()


def offices(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        found = int(conn.scalar(text("SELECT count(*) FROM office")) or 0)
    engine.dispose()
    return found


def max_by_second(outcome: Outcome) -> list[float]:
    """The slowest read planned in each second of a run (lead-in and import): where in
    an import its stalls fall (``from_s`` is when the import started)."""
    slowest: list[float] = []
    for planned, latency in zip(outcome.planned, outcome.latencies_ms, strict=True):
        second = int(planned)
        slowest.extend([0.0] * (second + 1 - len(slowest)))
        slowest[second] = max(slowest[second], round(latency, 1))
    return slowest


def show(row: dict[str, object]) -> dict[str, object]:
    print(json.dumps(row), flush=True)
    return row


def import_scenario(
    run: Run, data: Path, status: Callable[[], tuple[str, str]]
) -> list[dict[str, object]]:
    """Status reads during ``--imports`` badge imports of a new week each (module
    docstring): the reads of each import's lead-in pooled as ``status-alone``, those
    while it ran as ``status-during-import``."""
    args = run.args
    alone, during = Outcome(), Outcome()
    imports: list[dict[str, object]] = []
    for _ in range(args.imports):
        importer, outcome = one_import(run, data, status)
        first, last = importer.started - outcome.started, importer.ended - outcome.started
        lead_in = pool(alone, outcome, 0.0, first)
        latencies = pool(during, outcome, first, last)
        # Errors carry no time: all count against the reads during the import.
        for error, count in outcome.errors.items():
            during.errors[error] = during.errors.get(error, 0) + count
        if importer.returncode != 0:
            during.errors["import failed"] = during.errors.get("import failed", 0) + 1
        p99 = round(percentile(latencies, 99), 1) if latencies else None
        before = round(percentile(lead_in, 99), 1) if lead_in else None
        imports.append(
            {
                **importer.row(outcome.started),
                "p99_ms": p99,
                "lead_in_p99_ms": before,
                "max_ms_by_s": max_by_second(outcome),
                "client_lag_max_ms": round(max(lags_between(outcome, first, last), default=0), 1),
            }
        )
    rows = [
        summarize("status-alone", args.rate, alone),
        summarize("status-during-import", args.rate, during),
    ]
    pooled_p99, base = rows[1]["p99_ms"], rows[0]["p99_ms"]
    rows[1]["ratio_to_alone"] = round(pooled_p99 / base, 2) if pooled_p99 and base else None  # type: ignore[operator]
    rows[1]["imports"] = imports
    # CPU per request is not given: the server's and PostgreSQL's were measured over whole
    # runs (lead-in and import together); each import's own CPU is its cpu_s. Windows of
    # 10 s mean nothing across pooled runs.
    for row in rows:
        for key in ("p99_ms_by_10s", "cpu_ms_per_request"):
            row.pop(key, None)
    return [show(row) for row in rows]


def pool(into: Outcome, outcome: Outcome, first: float, last: float) -> list[float]:
    """Adds the reads of ``outcome`` planned from ``first`` to ``last`` (seconds from its
    start) to ``into``; returns their latencies."""
    latencies = window(outcome, first, last)
    into.latencies_ms += latencies
    into.lag_ms += lags_between(outcome, first, last)
    into.planned += [t for t in outcome.planned if first <= t <= last]
    into.rss_mb += outcome.rss_mb
    into.seconds += max(0.001, last - first)
    into.load_average = outcome.load_average
    return latencies


def lags_between(outcome: Outcome, first: float, last: float) -> list[float]:
    """How late the client sent the requests planned from ``first`` to ``last``."""
    return outcome.lag_ms[math.ceil(first * outcome.rate) : int(last * outcome.rate) + 1]


def one_import(
    run: Run, data: Path, status: Callable[[], tuple[str, str]]
) -> tuple[Importer, Outcome]:
    """Status reads at the rate while one import of a new week runs."""
    args = run.args
    monday = next_week(data, args.weeks)
    started = time.perf_counter()
    path = badge_file(
        data / "badges-import.csv", args.import_rows, args.employees, offices(run.url), monday
    )
    print(f"{args.import_rows:,} badge rows for the week of {monday} written in "
          f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    cpus = import_env(args) if args.import_via == "cli" else {}
    upload = None
    if args.import_via == "api":
        upload = Upload.as_hr(run.port, data)
    importer = Importer(
        {**run.env, **cpus},
        path,
        args.import_rows,
        args.import_lead_in,
        upload,
        idle=args.import_via == "cli" and args.import_idle,
        stand_in=args.stand_in,
    )
    fresh_token_uses(run.url)
    try:
        # The reads go on until the import ends; the run after it is not counted.
        outcome = run.measure(status, args.rate, importer=importer, seconds=1.0)
    finally:
        mark_used(data)
        path.unlink(missing_ok=True)
    return importer, outcome


def import_env(args: argparse.Namespace) -> dict[str, str]:
    """The settings of ``--import-cpus`` and ``--import-nice``: the command's own, or the
    server's for an upload (``NICE_SETTING``)."""
    found = {"DUTYSTATION_IMPORT_CPUS": str(args.import_cpus)} if args.import_cpus else {}
    if args.import_nice is not None:
        found[f"DUTYSTATION_{NICE_SETTING[args.import_via].upper()}"] = str(args.import_nice)
    return found


# The setting that lowers the import's priority: the command's own, or the server's for
# the child that imports an upload.
NICE_SETTING = {"cli": "import_nice", "api": "upload_import_nice"}


def import_nice(args: argparse.Namespace) -> int:
    """The import's nice as it ran: ``--import-nice``, or the product's default."""
    if args.import_nice is not None:
        return int(args.import_nice)
    from dutystation.settings import Settings

    return int(Settings.model_fields[NICE_SETTING[args.import_via]].default)


def machine(url: str) -> dict[str, object]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        version = str(conn.scalar(text("SHOW server_version")))
    engine.dispose()
    cpu = next(
        (x.split(":", 1)[1].strip() for x in Path("/proc/cpuinfo").read_text().splitlines()
         if x.startswith("model name")), platform.processor(),
    )  # fmt: skip
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "python": platform.python_version(),
        "postgresql": version,
    }


def main() -> None:
    args = arguments()
    source = source_dir(args.work_dir, args.employees, args.weeks)
    data = args.work_dir / f"web-{args.employees}x{args.weeks}"
    url = args.database_url or f"{PG}/dutystation_bench_web_{args.employees}x{args.weeks}"
    env = environment(data, source, url)
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    if not args.skip_setup:
        (data / "imports.json").unlink(missing_ok=True)
        setup(source, data, url, args.users)
        # The first refresh fills empty tables; the second also deletes the first's rows,
        # as every later one does.
        for n in range(args.refreshes):
            seconds, rss = refresh(env)
            show({"step": f"refresh {n + 1}", "seconds": round(seconds, 1), "peak_rss_mb": rss})
    if args.setup_only:
        return
    results: dict[str, object] = {
        "machine_kind": machine_kind(),
        "machine": machine(url),
        "data": {"employees": args.employees, "weeks": args.weeks},
        "workers": args.workers,
        "import_cpus": args.import_cpus or None,
        "import_nice": import_nice(args),
        "import_idle": bool(args.import_via == "cli" and args.import_idle),
        "import_stand_in": args.stand_in,
        "import_via": args.import_via,
        "import_lead_in_s": args.import_lead_in,
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%MZ"),
        "command": " ".join(["bench/web_load.py", *sys.argv[1:]]),
        "how": HOW,
        "load_average": round(os.getloadavg()[0], 2),
    }
    found = json.loads((data / "tokens.json").read_text())
    employees, tmo, units = found["employees"][: args.users], found["tmo"], found["units"]
    leaders: dict[str, str] = found["leaders"]
    pick = random.Random(20250120)
    period = f"from={DIRECTIVE_DAY}&to={end_of(args.weeks)}"

    def status() -> tuple[str, str]:
        return "/api/v1/status/me", pick.choice(employees)

    def overview() -> tuple[str, str]:
        return f"/api/v1/overview?org={pick.choice(units)}", tmo

    def report() -> tuple[str, str]:
        unit = pick.choice(sorted(leaders))
        return f"/api/v1/reports/{args.report_kind}?org={unit}&{period}", leaders[unit]

    scenarios: dict[str, dict[str, object]] = {}
    # An upload's import is the server's child: it takes the settings from the server.
    run = Run(args, {**env, **import_env(args)} if args.import_via == "api" else env, url)
    try:
        print(f"server RSS after start: {tree_rss_mb(run.server.pid):.0f} MB", flush=True)
        for name in args.scenarios.split(","):
            if name == "import":
                rows = import_scenario(run, data, status)
            elif name == "report":
                cap = args.report_max_in_flight
                outcome = run.measure(report, args.report_rate, max_in_flight=cap)
                rows = [show(summarize("report", args.report_rate, outcome))]
            elif name == "status":
                # Every token's first use, and so its "last used" write, in the run: 1,000
                # writes, most in its first 30 s (more than the steady 3 a second).
                outcome = run.measure(
                    status, args.rate, after_warmup=lambda: forget_token_uses(url)
                )
                rows = [show(summarize(name, args.rate, outcome))]
            else:
                rows = [show(summarize(name, args.rate, run.measure(overview, args.rate)))]
            scenarios.update({str(r["scenario"]): r for r in rows})
    finally:
        stop(run.server)
    print(f"load average at end: {os.getloadavg()[0]:.2f}", flush=True)
    results["scenarios"] = scenarios
    if args.results:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(results, indent=2) + "\n")
    if args.record_baseline:
        print(f"baseline stored in {record(results, args.baselines)}")
        print("\n".join(left_out(results)))
    if args.gate:
        verdict = check(results, args.baselines)
        print("\n".join(verdict.lines))
        sys.exit(verdict.status)


if __name__ == "__main__":
    main()
