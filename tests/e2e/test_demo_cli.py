"""``dutystation demo`` as a user runs it: a subprocess with its own data dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _cli(data_dir, "demo", *args)


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DUTYSTATION_DATA_DIR": str(data_dir), "COLUMNS": "120"}
    env.pop("DUTYSTATION_DATABASE_URL", None)
    env.pop("DUTYSTATION_AS", None)
    return subprocess.run(
        [sys.executable, "-m", "dutystation", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_the_demo_generates_imports_and_prints_what_it_loaded(tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = _run(data, "--employees", "2000")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for header in ("kind", "file", "rows read", "stored", "duplicates", "rejected"):
        assert header in out
    for kind, name in (
        ("org-units", "org-units.csv"),
        ("offices", "offices.xlsx"),
        ("roster", "roster.csv"),
        ("timecards", "timecards.txt"),
        ("badges", "badges.csv.gz"),
    ):
        line = next(line for line in out.splitlines() if name in line)
        assert line.split()[0] == kind
        assert line.split()[-1] == "0", f"{kind}: rows rejected"
    assert "28.9%" in out and "Department of Example Affairs (synthetic)" in out
    assert (data / "demo-files" / "agreements.toml").is_file()
    assert (data / "dutystation.sqlite3").is_file()
    assert "Traceback" not in done.stderr
    # It ends with the accounts to act as: user, role, scope and a command to try.
    people = out[out.index("Try it as each role") :]
    for user, role, example in (
        ("admin", "agency_admin", "dutystation users list --as admin"),
        ("hr", "hr", "--as hr"),
        ("tmo", "tmo", "dutystation notices status US-RTO-2025@1 --as tmo"),
        ("head", "certifying_official", "--as head"),
        ("ra", "ra_coordinator", "--as ra"),
        ("auditor", "auditor", "dutystation audit verify --as auditor"),
        ("leader", "leader", "--as leader"),
        ("supervisor", "supervisor, employee", "dutystation exemptions list --as supervisor"),
        ("employee", "employee", "dutystation notices mine --as employee"),
    ):
        row = next(line for line in people.splitlines() if line.split()[:1] == [user])
        assert role in row and example in row, row
    assert "demo-only-password" in people and "demo only" in people
    assert "dutystation serve" in people
    assert "mails wait in the outbox" in people
    # The commands it prints work as printed (a second run is test_demo_people's).
    verified = _cli(data, "audit", "verify", "--as", "auditor")
    assert verified.returncode == 0, verified.stderr
    assert "the audit trail is intact" in verified.stdout
    listed = _cli(data, "exemptions", "list", "--json", "--as", "supervisor")
    assert listed.returncode == 0, listed.stderr
    statuses = [json.loads(line)["status"] for line in listed.stdout.splitlines()]
    assert {"approved", "denied", "submitted"} <= set(statuses)


def test_an_employee_count_out_of_bounds_is_one_clear_sentence(tmp_path: Path) -> None:
    done = _run(tmp_path / "data", "--employees", "300000")
    assert done.returncode != 0
    assert "between 1,000 and 250,000 employees" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists()


def test_fresh_refuses_to_wipe_a_folder_that_is_not_a_data_dir(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.docx").write_text("years of work")
    done = _run(precious, "--employees", "1000", "--fresh")
    assert done.returncode != 0
    assert "refusing to wipe" in done.stderr
    assert (precious / "thesis.docx").is_file()
