"""Uploads alone: how long ``POST /api/v1/imports/badges`` of a 1M-row file takes with no
reads running, and how the server's memory moves, on ``web_load.py``'s world.

    .venv/bin/python bench/web_load.py --employees 20000 --weeks 33 --setup-only   # once
    .venv/bin/python bench/upload_import.py --employees 20000 --weeks 33 --uploads 3
    DUTYSTATION_IMPORT_CPUS=1 .venv/bin/python bench/upload_import.py --employees 20000 --weeks 33

The server is ``dutystation serve --workers 2`` with this process's ``DUTYSTATION_*``
settings (``DUTYSTATION_IMPORT_CPUS``, ``DUTYSTATION_UPLOAD_IMPORT_NICE``). Each upload
stores a new week (``load_import.py``), sent by ``curl`` as an HR administrator. Printed:
each upload's wall seconds and summary, and the RSS of the server's process tree after
start and 2 s after each upload (when a child that imported it has ended).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from load_import import Upload, badge_file, mark_used, next_week  # noqa: E402
from load_server import free_port, serve, stop, tree_rss_mb  # noqa: E402
from web_load import PG, offices  # noqa: E402
from web_world import environment, source_dir  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--employees", type=int, default=20_000)
    parser.add_argument("--weeks", type=int, default=33)
    parser.add_argument("--uploads", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--work-dir", type=Path, default=BENCH / "data")
    args = parser.parse_args()
    data = args.work_dir / f"web-{args.employees}x{args.weeks}"
    url = f"{PG}/dutystation_bench_web_{args.employees}x{args.weeks}"
    env = environment(data, source_dir(args.work_dir, args.employees, args.weeks), url)
    port = free_port()
    upload = Upload.as_hr(port, data)
    server = serve(env, port, 2)
    sites = offices(url)
    try:
        print(f"server RSS after start: {tree_rss_mb(server.pid):.0f} MB", flush=True)
        for n in range(1, args.uploads + 1):
            monday = next_week(data, args.weeks)
            path = badge_file(data / "upload.csv", args.rows, args.employees, sites, monday)
            started = time.perf_counter()
            sent = subprocess.run(
                upload.command(path),
                input=f"Authorization: Bearer {upload.token}\n",
                capture_output=True,
                text=True,
                check=False,
            )
            seconds = time.perf_counter() - started
            mark_used(data)
            path.unlink(missing_ok=True)
            answer = sent.stdout if sent.returncode == 0 else sent.stdout + sent.stderr
            time.sleep(2.0)
            print(f"upload {n}: {seconds:.1f} s, server RSS then {tree_rss_mb(server.pid):.0f} MB;"
                  f" {answer.strip()[:160]}", flush=True)  # fmt: skip
    finally:
        stop(server)


if __name__ == "__main__":
    main()
