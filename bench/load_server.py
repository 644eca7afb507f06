"""``dutystation serve`` for ``web_load.py``: start it, find its processes and
PostgreSQL's backends, and read their memory and CPU from /proc."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DUTYSTATION = str(ROOT / ".venv/bin/dutystation")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    command = [DUTYSTATION, "serve", "--port", str(port), "--workers", str(workers)]
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
            if server.poll() is not None:
                raise SystemExit(f"the server exited ({server.returncode}) first") from None
            time.sleep(0.2)
    stop(server)
    raise SystemExit("the server did not start within 60 s")


def stop(server: subprocess.Popen[bytes]) -> None:
    """The server and its workers (its own process group)."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


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


def backends(admin_url: str, database: str) -> list[int]:
    """The PostgreSQL server processes serving ``database`` (its pools' connections)."""
    from sqlalchemy import create_engine, text

    admin = create_engine(admin_url)
    with admin.connect() as conn:
        found = conn.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": database}
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
