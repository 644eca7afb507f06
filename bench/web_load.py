"""Web load benchmark: "my status" and the component overview at a fixed request rate
against ``dutystation serve``, with 250,000 employees on PostgreSQL (issue 6's figures:
p99 under 100 ms for a status, under 300 ms for an overview, at 200 requests/s, 0 errors).

    .venv/bin/python bench/web_load.py                        # 250,000 employees, PostgreSQL
    .venv/bin/python bench/web_load.py --rate 200 --seconds 60 --workers 2
    .venv/bin/python bench/web_load.py --setup-only           # data, database, two refreshes
    .venv/bin/python bench/web_load.py --skip-setup           # reuse the database and snapshot
    .venv/bin/python bench/web_load.py --skip-setup --scenarios status --seconds 300

Steps:

1. **Data.** The roster, offices and org units of ``bench/evaluate_data.py`` (250,000
   employees, 26 weeks, 94M badge events and 32M T&A rows, generated once under
   ``bench/data/evaluate-<N>x<W>``) are copied from its SQLite file into a fresh
   PostgreSQL database (``COPY``); the event store is shared through a symlink. Then
   1,000 employees get an account with the employee role and an API token, and one TMO an
   account over the whole organisation (through the account services, audited).
2. **Refresh.** ``dutystation evaluate --refresh`` in a child process, as an operator
   runs it, twice (the second replaces the first's rows, as every later refresh does):
   wall time, the steps' seconds and peak RSS are printed.
3. **Serve.** ``dutystation serve --workers W`` (uvicorn, as the product runs).
4. **Load.** For each scenario, ``--rate`` requests per second for ``--seconds``, after 5
   seconds of the scenario that are not counted: ``status`` = ``GET /api/v1/status/me``
   with one of the 1,000 employees' tokens, chosen at random; ``overview`` = ``GET
   /api/v1/overview?org=`` of a random unit (the department, its 10 components or 40
   divisions) as the TMO. Before ``status`` is measured every token is marked as never
   used, so each one's "last used" write (then at most once in five minutes) falls in the
   measured run: 1,000 writes, most of them in its first 30 seconds.

The load client is open-loop: request *i* is sent at ``start + i / rate`` whether or not
earlier ones have been answered, and its latency is counted from that planned instant,
so a slow server cannot slow the client down and hide its own delay (closed-loop tools,
locust's ``constant_throughput`` included, wait for an answer before the next request
of a user and under-report such delays). It is a small asyncio client in this file: one
process, keep-alive HTTP/1.1 connections, as many as requests in flight (no load tool is
installed here; httpx cost 1.8 ms of CPU per request, CPU the server then lacks on the
same two cores). Printed per scenario:
throughput of answered requests, p50/p90/p95/p99/max latency, errors (anything but 200),
the server's RSS (all its processes) sampled every second, the 1-minute load average at
the start and end of the run, and CPU per request (server, PostgreSQL, client).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from evaluate_data import generate  # noqa: E402

PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
DATABASE = "dutystation_bench_web"
USERS = 1_000
WARMUP_SECONDS = 5
ROSTER_TABLES = {
    "org_unit": ("id", "code", "name", "kind", "parent_id"),
    "office": ("id", "site_id", "name", "address", "zip", "latitude", "longitude", "timezone",
               "seats"),
    "office_org_unit": ("office_id", "org_unit_id"),
    "employee": ("id", "employee_id", "name", "email", "active", "separated_on"),
    "employee_assignment": (
        "id", "employee_pk", "effective_from", "effective_to", "org_unit_id", "duty_station_id",
        "arrangement", "schedule", "supervisor_pk", "position", "job_function",
        "bargaining_unit", "telework_eligible",
    ),
}  # fmt: skip
BOOLEANS = {"active", "telework_eligible"}


def source_dir(employees: int, weeks: int) -> Path:
    path = BENCH / "data" / f"evaluate-{employees}x{weeks}"
    marker = path / "generated.json"
    if not marker.exists() or json.loads(marker.read_text()) != {
        "employees": employees,
        "weeks": weeks,
    }:
        print(f"generating {employees:,} employees x {weeks} weeks into {path} ...", flush=True)
        generate(path, employees, weeks)
    return path


def environment(data: Path, source: Path, url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DUTYSTATION_DATA_DIR": str(data),
        "DUTYSTATION_DATABASE_URL": url,
        "DUTYSTATION_POLICIES_DIR": str(source / "policies"),
        "DUTYSTATION_DUCKDB_MEMORY_LIMIT": "3GB",
        "DUTYSTATION_COOKIE_SECURE": "false",
    }


# --- setup ------------------------------------------------------------------------------------


def setup(source: Path, data: Path, url: str) -> dict[str, object]:
    """A fresh database with the bench roster, the accounts and their tokens."""
    from sqlalchemy import create_engine, text

    from dutystation.store.db import make_engine, migrate

    admin = create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    engine = make_engine(url)
    migrate(engine)
    started = time.perf_counter()
    lite = sqlite3.connect(source / "dutystation.sqlite3")
    raw = engine.raw_connection()
    pg = raw.driver_connection
    with pg.cursor() as cursor:
        for table, columns in ROSTER_TABLES.items():
            booleans = [i for i, c in enumerate(columns) if c in BOOLEANS]
            rows = lite.execute(f"SELECT {', '.join(columns)} FROM {table}")
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    values = list(row)
                    for i in booleans:
                        values[i] = None if values[i] is None else bool(values[i])
                    copy.write_row(values)
            if "id" in columns:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
    pg.commit()
    raw.close()
    lite.close()
    print(f"roster copied into PostgreSQL in {time.perf_counter() - started:.1f} s", flush=True)
    data.mkdir(parents=True, exist_ok=True)
    events = data / "events"
    if not events.exists():
        events.symlink_to(source / "events")
    return make_accounts(data, source, url)


def make_accounts(data: Path, source: Path, url: str) -> dict[str, object]:
    from sqlalchemy import select

    from dutystation.bootstrap import bootstrap
    from dutystation.domain.access import Grant, Role
    from dutystation.services import accounts, tokens
    from dutystation.settings import load_settings
    from dutystation.store.schema import Employee

    started = time.perf_counter()
    settings = load_settings(data_dir=data, database_url=url, policies_dir=source / "policies")
    runtime = bootstrap(settings)
    engine = runtime.engine
    accounts.bootstrap_admin(engine, "admin")
    with engine.connect() as conn:
        admin = accounts.load_actor(conn, "admin")
        ids = list(conn.scalars(select(Employee.employee_id).order_by(Employee.id)))
    picked = random.Random(6).sample(ids, USERS)
    secrets: list[str] = []
    for n, employee_id in enumerate(picked):
        name = f"emp{n:04d}"
        accounts.create_user(
            engine, admin, name, employee_id=employee_id, grants=(Grant(Role.EMPLOYEE),)
        )
        secrets.append(
            tokens.create_token(engine, admin, name, "bench", days=30, settings=settings).secret
        )
    accounts.create_user(engine, admin, "tmo", grants=(Grant(Role.TMO),))
    tmo = tokens.create_token(engine, admin, "tmo", "bench", days=30, settings=settings).secret
    from dutystation.store.schema import OrgUnit

    with engine.connect() as conn:
        units = sorted(conn.scalars(select(OrgUnit.code)))
    engine.dispose()
    print(f"{USERS + 2:,} accounts and tokens in {time.perf_counter() - started:.1f} s")
    found = {"employees": secrets, "tmo": tmo, "units": units}
    (data / "tokens.json").write_text(json.dumps(found))
    return found


def refresh(env: dict[str, str]) -> tuple[float, int]:
    """``dutystation evaluate --refresh`` as a child: wall seconds and peak RSS (MB)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [str(ROOT / ".venv/bin/dutystation"), "evaluate", "--refresh", "--quiet"], env=env
    )
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"refresh failed ({status})")
    return seconds, usage.ru_maxrss // 1024


# --- server -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    command = [str(ROOT / ".venv/bin/dutystation"), "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start within 60 s")


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's workers), from /proc."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def tree_rss_mb(pid: int) -> float:
    total = 0
    for each in tree(pid):
        try:
            status = Path(f"/proc/{each}/status").read_text()
            total += int(next(x for x in status.splitlines() if x.startswith("VmRSS")).split()[1])
        except (OSError, StopIteration):
            continue
    return total / 1024


def backends() -> list[int]:
    """The PostgreSQL server processes serving the bench database (its pools' connections)."""
    from sqlalchemy import create_engine, text

    admin = create_engine(f"{PG}/postgres")
    with admin.connect() as conn:
        found = conn.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": DATABASE}
        ).all()
    admin.dispose()
    return [int(p) for p in found]


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the server's processes so far."""
    return cpu_seconds(tree(pid))


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for each in pids:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError):
            continue
    return total / ticks


# --- load -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    latencies_ms: list[float] = field(default_factory=list)
    planned: list[float] = field(default_factory=list)  # seconds from the start
    errors: dict[str, int] = field(default_factory=dict)
    rss_mb: list[float] = field(default_factory=list)
    seconds: float = 0.0
    server_cpu_seconds: float = 0.0
    client_cpu_seconds: float = 0.0
    postgres_cpu_seconds: float = 0.0
    load_average: tuple[float, float] = (0.0, 0.0)  # 1-minute, at the start and at the end


class Connections:
    """Keep-alive HTTP/1.1 connections to the server, one request at a time on each: a
    bare client (request bytes out, status line and ``Content-Length`` body in) cost 0.25
    ms of CPU per request where httpx cost 1.8 ms: on a 2-core machine, CPU the server
    keeps."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def get(self, path: str, token: str) -> int:
        if self.idle:
            try:
                return await self._send(*self.idle.pop(), path, token)
            except (asyncio.IncompleteReadError, ConnectionError):
                # The server closed it while it sat idle (uvicorn's keep-alive timeout,
                # 5 s): nothing was answered, so the request goes again on a new one.
                pass
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        return await self._send(reader, writer, path, token)

    async def _send(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, token: str
    ) -> int:
        head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}"
        writer.write(f"{head}\r\n\r\n".encode())
        answer = await reader.readuntil(b"\r\n\r\n")
        lines = answer.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next(
            int(line.split(":", 1)[1])
            for line in lines
            if line.lower().startswith("content-length")
        )
        await reader.readexactly(length)
        self.idle.append((reader, writer))
        return status

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def drive(
    port: int, make_request: object, rate: float, seconds: float, server_pid: int
) -> Outcome:
    outcome = Outcome()
    total = int(rate * seconds)
    pool = Connections(port)

    async def one(planned: float, path: str, token: str) -> None:
        try:
            status = await asyncio.wait_for(pool.get(path, token), timeout=30)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, StopIteration) as exc:
            key = type(exc).__name__
            outcome.errors[key] = outcome.errors.get(key, 0) + 1
            return
        if status != 200:
            outcome.errors[str(status)] = outcome.errors.get(str(status), 0) + 1
            return
        outcome.latencies_ms.append((time.perf_counter() - planned) * 1000)
        outcome.planned.append(planned - start)

    async def sample_rss() -> None:
        while True:
            outcome.rss_mb.append(tree_rss_mb(server_pid))
            await asyncio.sleep(1)

    sampler = asyncio.create_task(sample_rss())
    tasks = []
    start = time.perf_counter() + 0.1
    for i in range(total):
        planned = start + i / rate
        delay = planned - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        path, token = make_request()  # type: ignore[operator]
        tasks.append(asyncio.create_task(one(planned, path, token)))
    await asyncio.gather(*tasks)
    outcome.seconds = time.perf_counter() - start
    sampler.cancel()
    pool.close()
    return outcome


def forget_token_uses(url: str) -> None:
    """Every token as never used, so that each one's "last used" write (then at most once
    in five minutes, ``tokens.USED_RESOLUTION``) falls in the measured run."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE api_token SET last_used_at = NULL"))
    engine.dispose()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(name: str, rate: float, outcome: Outcome) -> dict[str, object]:
    lat = outcome.latencies_ms
    row = {
        "scenario": name,
        "rate": rate,
        "answered_per_s": round(len(lat) / outcome.seconds, 1),
        "requests": len(lat) + sum(outcome.errors.values()),
        "p50_ms": round(percentile(lat, 50), 1) if lat else None,
        "p90_ms": round(percentile(lat, 90), 1) if lat else None,
        "p95_ms": round(percentile(lat, 95), 1) if lat else None,
        "p99_ms": round(percentile(lat, 99), 1) if lat else None,
        "max_ms": round(max(lat), 1) if lat else None,
        "mean_ms": round(statistics.fmean(lat), 1) if lat else None,
        "errors": outcome.errors,
        "rss_mb_max": round(max(outcome.rss_mb), 0) if outcome.rss_mb else None,
        "load_average": outcome.load_average,
        # p99 of each 10-second window: a stall shows where it happened.
        "p99_ms_by_10s": [
            round(percentile(chunk, 99), 1)
            for w in range(int(outcome.seconds // 10) + 1)
            if (
                chunk := [
                    ms
                    for ms, t in zip(lat, outcome.planned, strict=True)
                    if w * 10 <= t < w * 10 + 10
                ]
            )
        ],
        # CPU per answered request, which moves much less than latency with other jobs on
        # the machine: the server (all uvicorn processes), PostgreSQL (the bench database's
        # backends) and this client.
        "cpu_ms_per_request": {
            who: round(1000 * seconds / max(1, len(lat)), 2)
            for who, seconds in (
                ("server", outcome.server_cpu_seconds),
                ("postgres", outcome.postgres_cpu_seconds),
                ("client", outcome.client_cpu_seconds),
            )
        },
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--employees", type=int, default=250_000)
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scenarios", default="status,overview")
    parser.add_argument("--skip-setup", action="store_true", help="Reuse database and snapshot.")
    parser.add_argument("--setup-only", action="store_true", help="Data and refreshes, no load.")
    parser.add_argument(
        "--users", type=int, default=USERS, help="Employee tokens the status requests use."
    )
    args = parser.parse_args()

    source = source_dir(args.employees, args.weeks)
    data = BENCH / "data" / f"web-{args.employees}x{args.weeks}"
    url = f"{PG}/{DATABASE}"
    env = environment(data, source, url)
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    if not args.skip_setup:
        setup(source, data, url)
        # The first refresh fills empty tables; the second also deletes the first's rows,
        # as every later one does.
        for step in ("first refresh", "second refresh"):
            seconds, rss = refresh(env)
            row = {"step": step, "seconds": round(seconds, 1), "peak_rss_mb": rss}
            print(json.dumps(row), flush=True)
    if args.setup_only:
        return
    found = json.loads((data / "tokens.json").read_text())
    employees, tmo, units = found["employees"][: args.users], found["tmo"], found["units"]
    pick = random.Random(20250120)
    scenarios = {
        "status": lambda: ("/api/v1/status/me", pick.choice(employees)),
        "overview": lambda: (f"/api/v1/overview?org={pick.choice(units)}", tmo),
    }
    port = free_port()
    server = serve(env, port, args.workers)
    try:
        print(f"server RSS after start: {tree_rss_mb(server.pid):.0f} MB", flush=True)
        for name in args.scenarios.split(","):
            make = scenarios[name]
            asyncio.run(drive(port, make, args.rate, WARMUP_SECONDS, server.pid))
            # Every token's first use, and so its "last used" write, in the measured run:
            # 1,000 writes, most in its first 30 s (more than the steady 3 a second).
            if name == "status":
                forget_token_uses(url)
            load = os.getloadavg()[0]
            cpu, client = tree_cpu_seconds(server.pid), time.process_time()
            pg = {pid: cpu_seconds([pid]) for pid in backends()}
            outcome = asyncio.run(drive(port, make, args.rate, args.seconds, server.pid))
            outcome.server_cpu_seconds = tree_cpu_seconds(server.pid) - cpu
            outcome.client_cpu_seconds = time.process_time() - client
            outcome.load_average = (round(load, 2), round(os.getloadavg()[0], 2))
            # Backends opened during the run count from 0; those closed meanwhile are lost.
            outcome.postgres_cpu_seconds = sum(
                cpu_seconds([pid]) - pg.get(pid, 0.0) for pid in backends()
            )
            report(name, args.rate, outcome)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    print(f"load average at end: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
