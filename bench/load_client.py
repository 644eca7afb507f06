"""The open-loop load client of ``web_load.py``: requests at fixed planned instants on
keep-alive HTTP/1.1 connections, latency counted from the planned instant.

Why not locust (RELIABILITY T27 names its ``constant_throughput``): a locust user waits
for each answer before it sends the next request, so a stalled server slows the client
down and the stall never shows in the latencies (coordinated omission); here request *i*
leaves at ``start + i / rate`` whatever happened before. The bare client costs 0.25 ms of
CPU a request where httpx cost 1.8 ms: on two cores, CPU the server keeps.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from load_server import tree_rss_mb

TIMEOUT_SECONDS = 30
SHED = "shed"  # not sent: the cap on requests in flight was reached


@dataclass
class Outcome:
    latencies_ms: list[float] = field(default_factory=list)
    planned: list[float] = field(default_factory=list)  # seconds from the start
    lag_ms: list[float] = field(default_factory=list)  # request i (planned i / rate): sent how late
    rate: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    rss_mb: list[float] = field(default_factory=list)
    started: float = 0.0  # perf_counter of the first planned instant
    seconds: float = 0.0
    server_cpu_seconds: float = 0.0
    client_cpu_seconds: float = 0.0
    postgres_cpu_seconds: float = 0.0
    load_average: tuple[float, float] = (0.0, 0.0)  # 1-minute, at the start and at the end


class Connections:
    """Keep-alive HTTP/1.1 connections to the server, one request at a time on each: a
    bare client (request bytes out, status line and ``Content-Length`` body in)."""

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
    port: int,
    make_request: Callable[[], tuple[str, str]],
    rate: float,
    seconds: float,
    server_pid: int,
    *,
    max_in_flight: int | None = None,
    keep_going: Callable[[], bool] | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> Outcome:
    """``rate`` requests a second for ``seconds`` (and on while ``keep_going()``).
    ``max_in_flight``: a request planned while that many are unanswered is not sent and
    counts as an error (``shed``): a server that far behind has failed already, and an
    unbounded backlog of reports would only fill the machine's memory. With a cap, give
    a ``timeout`` longer than any answer: the server goes on with a request the client
    gave up on, so only answered requests prove the server is free again."""
    # What the client holds so far (the bench's modules, Arrow, SQLAlchemy) out of the
    # collector's reach, as the server's workers do (api/served.py): a full collection
    # of it held this event loop for 85 ms, and every request planned meanwhile went out
    # late and counted as the server's latency.
    gc.collect()
    gc.freeze()
    outcome = Outcome(rate=rate)
    total = int(rate * seconds)
    pool = Connections(port)
    in_flight = 0

    def error(key: str) -> None:
        outcome.errors[key] = outcome.errors.get(key, 0) + 1

    async def one(planned: float, path: str, token: str) -> None:
        nonlocal in_flight
        in_flight += 1
        try:
            status = await asyncio.wait_for(pool.get(path, token), timeout=timeout)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, StopIteration) as exc:
            error(type(exc).__name__)
            return
        finally:
            in_flight -= 1
        if status != 200:
            error(str(status))
            return
        outcome.latencies_ms.append((time.perf_counter() - planned) * 1000)
        outcome.planned.append(planned - start)

    async def sample_rss() -> None:
        while True:
            outcome.rss_mb.append(tree_rss_mb(server_pid))
            await asyncio.sleep(1)

    sampler = asyncio.create_task(sample_rss())
    tasks = []
    start = outcome.started = time.perf_counter() + 0.1
    i = 0
    while i < total or (keep_going is not None and keep_going()):
        planned = start + i / rate
        i += 1
        delay = planned - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        # How late the client itself sends: counted in the latency, but not the server's.
        outcome.lag_ms.append(max(0.0, (time.perf_counter() - planned) * 1000))
        if max_in_flight is not None and in_flight >= max_in_flight:
            error(SHED)
            continue
        path, token = make_request()
        tasks.append(asyncio.create_task(one(planned, path, token)))
    await asyncio.gather(*tasks)
    outcome.seconds = time.perf_counter() - start
    sampler.cancel()
    pool.close()
    return outcome


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def window(outcome: Outcome, first: float, last: float) -> list[float]:
    """Latencies of the requests planned between ``first`` and ``last`` (seconds from the
    start of the run)."""
    return [
        ms
        for ms, t in zip(outcome.latencies_ms, outcome.planned, strict=True)
        if first <= t <= last
    ]


def summarize(name: str, rate: float, outcome: Outcome) -> dict[str, object]:
    """One scenario's figures as a JSON-ready row."""
    lat = outcome.latencies_ms

    def at(p: float) -> float | None:
        return round(percentile(lat, p), 1) if lat else None

    return {
        "scenario": name,
        "rate": rate,
        "seconds": round(outcome.seconds, 1),
        "answered_per_s": round(len(lat) / outcome.seconds, 1) if outcome.seconds else 0.0,
        "requests": len(lat) + sum(outcome.errors.values()),
        "p50_ms": at(50),
        "p90_ms": at(90),
        "p95_ms": at(95),
        "p99_ms": at(99),
        "max_ms": round(max(lat), 1) if lat else None,
        "mean_ms": round(statistics.fmean(lat), 1) if lat else None,
        "errors": outcome.errors,
        "rss_mb_max": round(max(outcome.rss_mb), 0) if outcome.rss_mb else None,
        "load_average": outcome.load_average,
        # How late the client sent: a client short of CPU looks like a slow server.
        "client_lag_ms": {
            "p99": round(percentile(outcome.lag_ms, 99), 1) if outcome.lag_ms else None,
            "max": round(max(outcome.lag_ms), 1) if outcome.lag_ms else None,
        },
        # p99 of each 10-second window: a stall shows where it happened.
        "p99_ms_by_10s": [
            round(percentile(chunk, 99), 1)
            for w in range(int(outcome.seconds // 10) + 1)
            if (chunk := window(outcome, w * 10, w * 10 + 9.999))
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
