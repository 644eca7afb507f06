"""The concurrent import of ``web_load.py``: a badge file for the bench world, imported
while the status reads go on either as an operator runs it (``dutystation import badges``
in its own process, as a nightly job would) or as an HR user uploads it
(``POST /api/v1/imports/badges``, sent by ``curl`` from its own process, so that sending
50 MB costs the load client nothing).

Each import holds one new week of taps, the week after the world's last (or after the
previous run's import), so it stores its rows rather than finding them all present: the
import measured is a real one, not a no-op re-import.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from evaluate_data import end_of
from load_server import DUTYSTATION

SEED = 20250303


def next_week(data: Path, weeks: int) -> date:
    """Monday of the first week no import has used yet (the count is kept in ``data``;
    a fresh setup starts again from the world's end)."""
    used = data / "imports.json"
    done = json.loads(used.read_text())["imports"] if used.exists() else 0
    return end_of(weeks) + timedelta(days=1 + 7 * done)


def mark_used(data: Path) -> None:
    used = data / "imports.json"
    done = json.loads(used.read_text())["imports"] if used.exists() else 0
    used.write_text(json.dumps({"imports": done + 1}))


def badge_file(path: Path, rows: int, employees: int, sites: int, monday: date) -> Path:
    """``rows`` taps of the world's employees at its offices over the 7 days from
    ``monday``, 06:00-20:00 naive local time (the offices' zone), the generic columns."""
    rng = np.random.default_rng(SEED + rows + monday.toordinal())
    days = pa.array([(monday + timedelta(d)).isoformat() for d in range(7)])
    clock = pa.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)])
    # Strings by take + join from small tables: formatting 1M datetimes one by one is 20x slower.
    stamp = pc.binary_join_element_wise(
        days.take(pa.array(rng.integers(0, 7, rows))),
        clock.take(pa.array(rng.integers(6 * 3600, 20 * 3600, rows))),
        "T",
    )
    ids = pa.array([f"E{i:07d}" for i in range(employees)])
    site_ids = pa.array([f"S{i:05d}" for i in range(sites)])
    table = pa.table(
        {
            "employee_id": ids.take(pa.array(rng.integers(0, employees, rows))),
            "timestamp": stamp,
            "site_id": site_ids.take(pa.array(rng.integers(0, sites, rows))),
            "direction": pa.array(
                np.array(["IN", "OUT", ""], dtype=object)[rng.integers(0, 3, rows)]
            ),
        }
    )
    pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(quoting_style="none"))
    return path


@dataclass(frozen=True)
class Upload:
    """Where and as whom ``Importer`` uploads instead of running the command line."""

    port: int
    token: str

    @classmethod
    def as_hr(cls, port: int, data: Path) -> Upload:
        """As the world's HR administrator (``web_world.make_accounts``)."""
        token = json.loads((data / "tokens.json").read_text()).get("hr")
        if token is None:
            raise SystemExit(
                f"{data} was set up before it had an HR account to upload as; "
                "run web_load.py --setup-only again"
            )
        return cls(port, token)

    def command(self, path: Path) -> list[str]:
        # The token in a header file: never on a command line other users can list.
        return [
            "curl", "--silent", "--show-error", "--fail-with-body", "--max-time", "600",
            "--header", "@-", "--form", f"files=@{path};type=text/csv",
            f"http://127.0.0.1:{self.port}/api/v1/imports/badges",
        ]  # fmt: skip


@dataclass
class Importer:
    """Runs ``dutystation import badges FILE`` (or, with ``upload``, its upload) once,
    ``lead_in`` seconds after it starts (under ``chrt --idle 0`` with ``idle``; its nice
    is the product's ``import_nice``, in ``env``), or the shell command ``stand_in`` in
    its place;
    keeps when the child ran (``perf_counter``) and what it cost."""

    env: dict[str, str]
    path: Path
    rows: int
    lead_in: float
    upload: Upload | None = None
    idle: bool = False
    stand_in: str | None = None
    started: float = 0.0
    ended: float = 0.0
    returncode: int | None = None
    cpu_seconds: float = 0.0
    output: list[str] = field(default_factory=list)
    steal: list[float | None] = field(default_factory=list)  # at lead-in, start and end

    async def run(self) -> None:
        self.steal.append(steal_seconds())
        await asyncio.sleep(self.lead_in)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.steal.append(steal_seconds())
        self.started = time.perf_counter()
        niced = ["chrt", "--idle", "0"] if self.idle else []
        if self.stand_in is not None:
            command, header = ["sh", "-c", self.stand_in], None
        elif self.upload is None:
            command, header = [DUTYSTATION, "import", "badges", str(self.path)], None
        else:
            command = self.upload.command(self.path)
            header = f"Authorization: Bearer {self.upload.token}\n".encode()
        child = await asyncio.create_subprocess_exec(
            *niced, *command, env=self.env, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await child.communicate(header)
        if self.upload is not None and child.returncode == 0:
            out = _upload_summary(out)
        self.ended = time.perf_counter()
        self.steal.append(steal_seconds())
        self.returncode = child.returncode
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu_seconds = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        # The summary on success; the one-sentence error on failure (never row contents).
        shown = out if child.returncode == 0 else out + err
        self.output = shown.decode(errors="replace").strip().splitlines()

    def row(self, run_started: float) -> dict[str, object]:
        """When it ran, in seconds from the start of the read run, and its summary line
        (counts only: the CLI never prints row contents)."""
        return {
            "file_rows": self.rows,
            "from_s": round(self.started - run_started, 1),
            "to_s": round(self.ended - run_started, 1),
            "wall_s": round(self.ended - self.started, 1),
            # An upload's import runs in the server (its CPU is the server's), not in curl.
            "cpu_s": round(self.cpu_seconds, 1) if self.upload is None else None,
            "exit": self.returncode,
            "steal_ms_per_s": self.steal_ms_per_s(),
            "summary": self.output[-3:],
        }

    def steal_ms_per_s(self) -> dict[str, float | None]:
        """The time the host ran something else while this guest's cores had work, in ms
        a second (all cores together): in the lead-in, and while the import ran."""
        known = [s for s in self.steal if s is not None]
        if len(known) < 3:
            return {"lead_in": None, "during": None}
        at_lead_in, at_start, at_end = known
        during = max(0.001, self.ended - self.started)
        return {
            "lead_in": round(1000 * (at_start - at_lead_in) / max(0.001, self.lead_in), 1),
            "during": round(1000 * (at_end - at_start) / during, 1),
        }


def steal_seconds() -> float | None:
    """The guest's stolen time so far, all cores together (Linux's /proc/stat ``steal``:
    its cores were ready to run while the host ran something else); None where there
    is no such count."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    return int(fields[8]) / os.sysconf("SC_CLK_TCK")


def _upload_summary(body: bytes) -> bytes:
    """The answer of an upload as the command line's summary line (counts only)."""
    found = json.loads(body)
    return (
        f"{found['kind']}: {found['rows_read']:,} rows read, {found['rows_stored']:,} stored, "
        f"{found['duplicates']:,} already present or repeated, {found['rows_rejected']:,} "
        f"rejected (batch {found['batch_id']})"
    ).encode()
