"""Where the privacy tests look for values that must not be there (RELIABILITY T04
``medical_canary_containment``, T10 ``pii_log_scan``): every log record at DEBUG, the
standard error of a real server run at DEBUG, files (XLSX and other ZIP parts opened),
database rows, and the temporary folder.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import httpx2

from api_world import free_port

# The server's logging: everything, from every library, at DEBUG, to standard error.
DEBUG_LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"level": "DEBUG", "handlers": ["stderr"]},
}


class Recorder(logging.Handler):
    """Every record of every logger, formatted with its traceback, as text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@contextlib.contextmanager
def recording_debug_logs() -> Iterator[Recorder]:
    """The root logger at DEBUG for the duration, every record kept."""
    root = logging.getLogger()
    recorder = Recorder()
    level = root.level
    root.addHandler(recorder)
    root.setLevel(logging.DEBUG)
    try:
        yield recorder
    finally:
        root.removeHandler(recorder)
        root.setLevel(level)


@contextlib.contextmanager
def debug_server(env: dict[str, str], folder: Path) -> Iterator[tuple[str, Path]]:
    """``dutystation``'s served app under uvicorn in a child process, logging everything at
    DEBUG to standard error (kept in ``folder/server-stderr.log``); yields the base URL and
    that file. ``env`` holds the DUTYSTATION_* settings."""
    config = folder / "debug-logging.json"
    config.write_text(json.dumps(DEBUG_LOGGING), encoding="utf-8")
    stderr_path = folder / "server-stderr.log"
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "dutystation.api.served:create_served_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-config",
        str(config),
        "--log-level",
        "debug",
    ]
    with stderr_path.open("wb") as stderr:
        server = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=stderr, stderr=stderr, cwd=folder
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                if server.poll() is not None:
                    raise RuntimeError(stderr_path.read_text(errors="replace")[-2000:])
                with contextlib.suppress(httpx2.HTTPError):
                    if httpx2.get(f"{base}/api/v1/openapi.json", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("the debug server did not start")
                time.sleep(0.2)
            yield base, stderr_path
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def file_bytes(path: Path) -> bytes:
    """A file's bytes, with the inflated parts of a ZIP (XLSX) appended."""
    data = path.read_bytes()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            data += b"".join(archive.read(name) for name in archive.namelist())
    return data


def files_holding(
    folders: Iterable[Path], needles: Iterable[bytes], newer_than: float = 0
) -> list[str]:
    """Files under ``folders`` (changed after ``newer_than``) holding any of ``needles``."""
    needles = list(needles)
    found = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            try:
                if not path.is_file() or path.stat().st_mtime < newer_than:
                    continue
                data = file_bytes(path)
            except OSError:
                continue  # gone meanwhile (another process's temporary file)
            hits = [n.decode(errors="replace") for n in needles if n in data]
            if hits:
                found.append(f"{path}: {hits}")
    return found


def temp_files_holding(needles: Iterable[bytes], since: float, skip: Path) -> list[str]:
    """Files in the system's temporary folder written since ``since`` (pytest's own
    folder ``skip`` apart, which holds the test's inputs)."""
    top = Path(tempfile.gettempdir())
    found = []
    for entry in top.iterdir():
        if entry == skip or skip.is_relative_to(entry):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir():
                found += files_holding([entry], needles, since)
            elif entry.is_file() and entry.stat().st_mtime >= since:
                data = file_bytes(entry)
                found += [f"{entry}: {n.decode(errors='replace')}" for n in needles if n in data]
    return found


def rows_holding(
    database: Path, needles: Iterable[str], skip_prefix: str = "medical_"
) -> list[str]:
    """Tables (other than those starting with ``skip_prefix``) with a row holding a needle."""
    needles = list(needles)
    con = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    found = []
    try:
        tables = [
            name
            for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not name.startswith(skip_prefix)
        ]
        for table in tables:
            for row in con.execute(f'SELECT * FROM "{table}"'):
                text = repr(row)
                hits = [n for n in needles if n in text]
                if hits:
                    found.append(f"table {table}: {hits}")
                    break
    finally:
        con.close()
    return found
