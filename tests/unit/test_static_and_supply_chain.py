"""RELIABILITY T17 ``static_and_supply_chain``: 0 new bandit findings over src/ (each
accepted one justified in .bandit-baseline.json), and a dependency audit that exits
non-zero and says "not checked" whenever a package could not be checked — never a pass.

The audit tests run pip-audit for real against an OSV-shaped advisory service served on
127.0.0.1 (the public one is not reachable from here): unreachable, answering, knowing a
vulnerability, failing for one package."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
GATE = ROOT / "tools" / "bandit_gate.py"
AUDIT = ROOT / "tools" / "dependency_audit.py"
BASELINE = ROOT / ".bandit-baseline.json"
LOCK = ROOT / "requirements" / "lock.txt"


def run(script: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


# --- bandit -------------------------------------------------------------------------------


def test_bandit_finds_nothing_new_in_src_and_every_accepted_finding_is_justified() -> None:
    done = run(GATE)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 new findings" in done.stdout
    entries = json.loads(BASELINE.read_text(encoding="utf-8"))["results"]
    assert all(len(e["justification"]) >= 20 for e in entries)


SQL_ONE = 'def first(con, table):\n    return con.execute(f"SELECT * FROM {table}")\n'
SQL_TWO = (
    SQL_ONE
    + "\n\ndef second(con, name):\n    return con.execute(f\"DELETE FROM t WHERE n = '{name}'\")\n"
)


def _tree(tmp_path: Path, source: str) -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "queries.py").write_text(source, encoding="utf-8")
    return tmp_path


def test_a_second_finding_of_the_same_kind_in_a_baselined_file_is_caught(tmp_path: Path) -> None:
    """bandit's own ``-b`` would pass it (it matches by file and test only); the gate
    matches the flagged line and counts."""
    root = _tree(tmp_path, SQL_ONE)
    baseline = tmp_path / "baseline.json"
    assert run(GATE, "--root", str(root), "--baseline", str(baseline), "--update").returncode == 0
    document = json.loads(baseline.read_text(encoding="utf-8"))
    document["results"][0]["justification"] = "the table name is a constant of this module"
    baseline.write_text(json.dumps(document), encoding="utf-8")
    assert run(GATE, "--root", str(root), "--baseline", str(baseline)).returncode == 0

    _tree(tmp_path, SQL_TWO)
    done = run(GATE, "--root", str(root), "--baseline", str(baseline))
    assert done.returncode == 1
    assert "new finding: src/queries.py:6 B608" in done.stdout
    plain = subprocess.run(
        [sys.executable, "-m", "bandit", "-r", "src", "-ll", "-ii", "-q", "-b", str(baseline)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert plain.returncode == 0  # why the gate exists


def test_a_baseline_entry_without_a_reason_fails(tmp_path: Path) -> None:
    root = _tree(tmp_path, SQL_ONE)
    baseline = tmp_path / "baseline.json"
    run(GATE, "--root", str(root), "--baseline", str(baseline), "--update")
    done = run(GATE, "--root", str(root), "--baseline", str(baseline))
    assert done.returncode == 1
    assert "baseline entry without a justification" in done.stdout


# --- dependency audit ---------------------------------------------------------------------

Answer = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]


@pytest.fixture
def advisory_service() -> Iterator[Callable[[Answer], str]]:
    """Serve an OSV ``/v1/query`` endpoint on 127.0.0.1 that answers with ``answer``."""
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Answer) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status, body = answer(query)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/v1/query"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _requirements(tmp_path: Path) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text("jinja2==3.1.6\nidna==3.10\n", encoding="utf-8")
    return path


def audit(tmp_path: Path, url: str) -> subprocess.CompletedProcess[str]:
    pins = str(_requirements(tmp_path))
    return run(
        AUDIT,
        "--service",
        "osv",
        "--osv-url",
        url,
        "--",
        "-r",
        pins,
        "--no-deps",
        "--disable-pip",
        "--cache-dir",
        str(tmp_path / "cache"),
    )


def test_an_unreachable_advisory_service_is_reported_not_checked(tmp_path: Path) -> None:
    # Port 9 (discard) on the loopback: nothing listens, the connection is refused.
    done = audit(tmp_path, "http://127.0.0.1:9/v1/query")
    assert done.returncode == 2
    assert "not checked" in done.stdout
    assert "passed" not in done.stdout and "No known vulnerabilities" not in done.stdout


def test_a_package_the_service_cannot_answer_for_makes_the_audit_not_checked(
    tmp_path: Path, advisory_service: Callable[[Answer], str]
) -> None:
    def answer(query: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return (503, {}) if query["package"]["name"] == "idna" else (200, {})

    done = audit(tmp_path, advisory_service(answer))
    assert done.returncode == 2
    assert "not checked" in done.stdout and "passed" not in done.stdout


def test_a_reachable_service_with_no_advisories_is_a_pass_naming_the_count(
    tmp_path: Path, advisory_service: Callable[[Answer], str]
) -> None:
    done = audit(tmp_path, advisory_service(lambda query: (200, {})))
    assert done.returncode == 0, done.stdout
    assert "passed — 2 packages checked" in done.stdout


def test_a_known_vulnerability_fails_the_audit_and_is_named(
    tmp_path: Path, advisory_service: Callable[[Answer], str]
) -> None:
    advisory = {
        "id": "GHSA-test-0000-0000",
        "summary": "a test advisory",
        "affected": [
            {
                "package": {"name": "jinja2", "ecosystem": "PyPI"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "9.9"}]}
                ],
            }
        ],
    }

    def answer(query: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return (200, {"vulns": [advisory]} if query["package"]["name"] == "jinja2" else {})

    done = audit(tmp_path, advisory_service(answer))
    assert done.returncode == 1
    assert "jinja2 3.1.6: GHSA-test-0000-0000 (fixed in 9.9)" in done.stdout


def test_by_default_the_audit_checks_every_pin_of_the_lock_file(
    advisory_service: Callable[[Answer], str],
) -> None:
    """`make audit` audits what `make install` installs: requirements/lock.txt's pins (the
    ones for this platform), read as written rather than resolved."""
    asked: set[str] = set()

    def answer(query: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        asked.add(query["package"]["name"])
        return 200, {}

    done = run(AUDIT, "--service", "osv", "--osv-url", advisory_service(answer))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"passed — {len(asked)} packages checked" in done.stdout
    everywhere = re.findall(r"^([a-z0-9][a-z0-9._-]*)==\S+ \\$", LOCK.read_text(), re.M)
    assert len(everywhere) > 50 and set(everywhere) <= asked
