"""What the API kill -9 tests share (RELIABILITY T19: test_api_kill9.py, decisions;
test_api_kill9_recompute.py, roster-driven status recomputation): the store they kill
processes on, and those processes.

Run as a script, this file is the child: ``python serve_harness.py MARKER ARGS...`` loads
the package and the modules the command runs (the app's for ``serve``), so interpreter
start-up does not count, creates the file MARKER, waits for a line on stdin, then runs
``dutystation ARGS...`` (``serve --port N``, ``evaluate --refresh``) through the command
line's ``main``. Settings come from the environment.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from dutystation.settings import Settings

HARNESS = Path(__file__)
ORDER = """\
id = "KILL-RTO"
version = 1
issuer = "Test"
title = "Kill test order"
issued = 2025-01-20
effective = 2025-01-20
[scope]
org_units = ["DEPT"]
arrangements = ["telework", "remote"]
presumed_compliant = ["onsite", "field"]
[requirement]
onsite_share_of_hours = 1.0
[exemptions]
categories = ["compelling_reason"]
certification_required_by = ["supervisor"]
"""
ROSTER_HEADER = ["employee_id", "name", "org_unit", "duty_station", "arrangement"]
ROSTER_HEADER += ["supervisor_id", "effective_date"]


@dataclass
class Store:
    settings: Settings
    url: str
    token: str  # mgr1's API token: the supervisor of W1, who files the requests
    admin_token: str  # the agency administrator's: imports
    pending: deque[int] = field(default_factory=deque)
    days_used: int = 0


def write_csv(path: Path, header: list[str], rows: list[tuple[str, ...]]) -> Path:
    lines = [",".join(header), *(",".join(r) for r in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def prepare(root: Path, url: str) -> Store:
    """The organisation, an employee (w1) and their supervisor (mgr1) with an API token,
    and an agency administrator with one, on a migrated store."""
    from api_world import OFFICES, ORG_UNITS, PEOPLE, world_settings
    from dutystation.bootstrap import bootstrap
    from dutystation.domain.access import Grant, Role
    from dutystation.ingest.fields import ImportKind
    from dutystation.services import accounts, tokens
    from dutystation.services.importing import run_import
    from dutystation.store.db import make_engine, migrate

    policies = root / "policies"
    policies.mkdir(parents=True)
    (policies / "kill.toml").write_text(ORDER, encoding="utf-8")
    settings = world_settings(root / "data", database_url=url, policies_dir=policies)
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    runtime = bootstrap(settings)
    header = ["org_unit", "name", "parent", "kind"]
    run_import(runtime, ImportKind.ORG_UNITS, [write_csv(root / "org.csv", header, ORG_UNITS)])
    header = ["site_id", "name", "zip", "latitude", "longitude", "timezone", "seats", "org_unit"]
    run_import(runtime, ImportKind.OFFICES, [write_csv(root / "offices.csv", header, OFFICES)])
    roster = [(*p, "2025-01-06") for p in PEOPLE]
    run_import(runtime, ImportKind.ROSTER, [write_csv(root / "roster.csv", ROSTER_HEADER, roster)])
    engine = runtime.engine
    accounts.bootstrap_admin(engine, "admin", display_name="Admin")
    with engine.connect() as conn:
        admin = accounts.load_actor(conn, "admin")
    employee = Grant(Role.EMPLOYEE)
    accounts.create_user(engine, admin, "w1", employee_id="W1", grants=[employee])
    supervisor = (employee, Grant(Role.SUPERVISOR))
    accounts.create_user(engine, admin, "mgr1", employee_id="MGR1", grants=supervisor)
    made = tokens.create_token(engine, admin, "mgr1", "kill9", days=30, settings=settings)
    own = tokens.create_token(engine, admin, "admin", "kill9", days=30, settings=settings)
    engine.dispose()
    return Store(settings, url, made.secret, own.secret)


class Child:
    """``dutystation ARGS...`` on the store, in a child process started ahead of its run:
    ``go()`` lets it run."""

    def __init__(self, store: Store, log: Path, args: list[str]) -> None:
        settings = store.settings
        self.marker = log.with_suffix(".loaded")
        env = {
            **os.environ,
            "DUTYSTATION_DATA_DIR": str(settings.data_dir),
            "DUTYSTATION_DATABASE_URL": store.url,
            "DUTYSTATION_POLICIES_DIR": str(settings.policies_dir),
            "DUTYSTATION_COOKIE_SECURE": "false",
            "DUTYSTATION_CONFIG": str(log.parent / "none.toml"),
        }
        command = [sys.executable, str(HARNESS), str(self.marker), *args]
        self.log = log.open("w")
        self.process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.PIPE,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def go(self) -> None:
        """Run the command (once the package is loaded); returns when it was told to."""
        deadline = time.monotonic() + 120
        while not self.marker.exists():
            assert self.process.poll() is None, "the child exited while loading"
            assert time.monotonic() < deadline, "the child did not load"
            time.sleep(0.02)
        assert self.process.stdin is not None
        self.process.stdin.write(b"go\n")
        self.process.stdin.flush()

    def kill(self) -> bool:
        """SIGKILL; False when the command had already ended by itself (exit status 0)."""
        with contextlib.suppress(ProcessLookupError):  # it ended by itself
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        killed = self.process.returncode == -signal.SIGKILL
        assert killed or self.process.returncode == 0, Path(self.log.name).read_text()
        self.close()
        return killed

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.log.close()


class Server(Child):
    """``dutystation serve`` on the store; ``go()`` returns when it answers."""

    def __init__(self, store: Store, log: Path) -> None:
        from api_world import free_port

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        super().__init__(store, log, ["serve", "--port", str(self.port)])

    def go(self) -> None:
        super().go()
        self.wait_ready()

    def wait_ready(self) -> None:
        import httpx2

        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx2.get(f"{self.base}/api/v1/auth/me", timeout=2).status_code == 401:
                    return
            except httpx2.TransportError:
                pass
            assert self.process.poll() is None, "the server exited before it answered"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)

    def kill(self) -> bool:
        killed = super().kill()
        assert killed, "the server ended by itself"
        return killed


if __name__ == "__main__":
    from dutystation.cli import _register, main

    if sys.argv[2] == "serve":
        import uvicorn  # noqa: F401

        import dutystation.api.served  # the app, its routes and services
    else:
        import dutystation.services.snapshot  # noqa: F401  (what evaluate --refresh runs)
    _register()
    Path(sys.argv[1]).touch()
    sys.stdin.readline()
    sys.argv = ["dutystation", *sys.argv[2:]]
    main()
