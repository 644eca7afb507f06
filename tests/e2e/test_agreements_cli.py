"""``dutystation agreements`` and ``dutystation grievances`` as people run them: real
processes against a SQLite data dir, the exit codes and the sentences printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from test_import_records_builders import (
    load_organisation,
    person,
    roster_csv,
    settings_for,
)

from dutystation.domain.access import SYSTEM, Grant, Role
from dutystation.services.accounts import create_user
from dutystation.services.import_records import import_roster
from dutystation.store.db import make_engine, migrate

pytestmark = pytest.mark.slow  # a dozen processes, about 1.5 s each
FILE = """
[[agreement]]
code = "EEU-2023"
units = ["U1"]
union = "Example Union"
title = "Master Agreement"
effective_from = 2023-10-01
effective_to = 2026-09-30

[[agreement.clause]]
ref = "Art. 31 §4"
max_telework_days_per_pay_period = 6

[[agreement.clause.status]]
status = "disputed"
on = 2025-02-03
source = "OPM memo 2025-02-03"
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """E1, E2 (unit U1) in COMP-A; users hr (HR), leader.b (leader of COMP-B), e1."""
    data = tmp_path / "data"
    engine = make_engine(f"sqlite:///{data / 'dutystation.sqlite3'}")
    migrate(engine)
    load_organisation(engine, tmp_path)
    people = [person("E1", bargaining_unit="U1"), person("E2", bargaining_unit="U1")]
    import_roster(engine, [roster_csv(tmp_path, people)], settings=settings_for(tmp_path))
    create_user(engine, SYSTEM, "hr", grants=[Grant(Role.HR)])
    create_user(engine, SYSTEM, "leader.b", grants=[Grant(Role.LEADER, "COMP-B")])
    create_user(engine, SYSTEM, "e1", employee_id="E1", grants=[Grant(Role.EMPLOYEE)])
    engine.dispose()
    (tmp_path / "agreements.toml").write_text(FILE, encoding="utf-8")
    return data


def _run(data: Path, *args: str, user: str | None = "hr") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DUTYSTATION_DATA_DIR": str(data), "COLUMNS": "160"}
    env.pop("DUTYSTATION_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "dutystation", *args, *(["--as", user] if user else [])],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def _refused(done: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert done.returncode == code, done.stdout + done.stderr
    assert text in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_hr_imports_agreements_records_a_ruling_and_files_a_grievance(data_dir: Path) -> None:
    path = str(data_dir.parent / "agreements.toml")
    assert "1 created" in _ok(_run(data_dir, "agreements", "import", path))
    assert "(nothing changed)" in _ok(_run(data_dir, "agreements", "import", path))
    ruling = _run(
        data_dir,
        "agreements",
        "clause-status",
        "EEU-2023",
        "Art. 31 §4",
        "--status",
        "held-unenforceable",
        "--on",
        "2025-06-01",
        "--source",
        "FLRA decision",
    )
    assert "the clause does not bind: the directive applies" in _ok(ruling)
    shown = _ok(_run(data_dir, "agreements", "show", "EEU-2023"))
    assert "up to 6 telework days per pay period" in shown
    assert "disputed" in shown and "held_unenforceable" in shown and "FLRA decision" in shown
    assert "disputed" in _ok(_run(data_dir, "agreements", "list", "--on", "2025-03-01"))

    filed = _run(
        data_dir,
        "grievances",
        "file",
        "--agreement",
        "EEU-2023",
        "--component",
        "COMP-A",
        "--filed-on",
        "2025-02-10",
        "--subject",
        "Hybrid schedules",
        "--employee",
        "E1",
        "--employee",
        "E2",
    )
    assert "grievance 1 (COMP-A, under EEU-2023): filed since 2025-02-10; 2 employee(s)" in _ok(
        filed
    )
    _ok(
        _run(data_dir, "grievances", "status", "1", "--status", "in-progress", "--on", "2025-02-24")
    )
    assert "in_progress" in _ok(_run(data_dir, "grievances", "list"))
    # The report command runs without --as (as every report kind does today).
    report = json.loads(_ok(_run(data_dir, "report", "grievances", "--format", "json", user=None)))
    assert '"Hybrid schedules"' in json.dumps(report) and '"in_progress"' in json.dumps(report)


def test_mistakes_and_refusals_are_one_sentence(data_dir: Path) -> None:
    path = str(data_dir.parent / "agreements.toml")
    _ok(_run(data_dir, "agreements", "import", path))
    _ok(
        _run(
            data_dir,
            "grievances",
            "file",
            "--agreement",
            "EEU-2023",
            "--component",
            "COMP-A",
            "--filed-on",
            "2025-02-10",
            "--subject",
            "Hybrid schedules",
        )
    )
    _refused(
        _run(
            data_dir, "grievances", "status", "1", "--status", "arbitration", "--on", "2025-02-01"
        ),
        1,
        "before the last one",
    )
    _refused(_run(data_dir, "grievances", "show", "1", user="leader.b"), 1, "no grievance 1")
    _refused(
        _run(
            data_dir,
            "agreements",
            "clause-status",
            "EEU-2023",
            "Art. 31 §4",
            "--status",
            "void",
            "--on",
            "2025-06-01",
            "--source",
            "x",
        ),
        2,
        "is not one of",
    )
    _refused(
        _run(
            data_dir,
            "agreements",
            "clause",
            "EEU-2023",
            "Art. 9",
            "--min-days-per-week",
            "2",
            "--min-share",
            "0.5",
        ),
        2,
        "exactly one kind of hybrid terms",
    )
    _refused(_run(data_dir, "agreements", "list", user="e1"), 4, "may not agreement.read")
