"""``dutystation designate`` and ``report distance`` as a user runs them: real processes,
real files, exit codes and the sentences printed."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a dozen process starts of ~2 s each

DIRECTIVE = """
id = "TEST-RTO"
version = 1
issuer = "Test"
title = "Return"
issued = 2025-01-20
effective = 2025-01-20
[scope]
org_units = ["*"]
arrangements = ["telework", "remote"]
[requirement]
onsite_share_of_hours = 1.0
[distance_rule]
designate_beyond_miles = 50
"""
ORGS = [["org_unit", "name", "parent", "kind"], ["D", "Dept", "", "department"],
        ["C", "Comp", "D", "component"]]  # fmt: skip
OFFICES = [
    ["site_id", "name", "latitude", "longitude", "timezone", "seats", "org_unit", "job_functions"],
    ["KC1", "Kansas City", "39.0997", "-94.5786", "America/Chicago", "1", "C", "analysis"],
    ["TOP1", "Topeka", "39.0473", "-95.6752", "America/Chicago", "1", "C", "analysis"],
]
ROSTER = [
    [
        "employee_id",
        "name",
        "org_unit",
        "arrangement",
        "effective_date",
        "job_function",
        "home_zip",
    ],
    ["E1", "Ann Example", "C", "remote", "2025-01-06", "analysis", "66044"],  # Lawrence, KS
    ["E2", "Bo Example", "C", "remote", "2025-01-06", "analysis", "66604"],  # Topeka
    ["E3", "Cy Example", "C", "remote", "2025-01-06", "analysis", "66202"],  # Mission, KS
    ["E4", "Di Example", "C", "remote", "2025-01-06", "analysis", "59101"],  # Billings, MT
]


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One department for the module: each command is a process start of about 2 s."""
    tmp_path = tmp_path_factory.mktemp("designate")
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "rto.toml").write_text(DIRECTIVE)
    folder = tmp_path / "data"
    _ok(folder, "import", "org-units", str(_csv(tmp_path / "org.csv", ORGS)))
    _ok(folder, "import", "offices", str(_csv(tmp_path / "offices.csv", OFFICES)))
    _ok(folder, "import", "roster", str(_csv(tmp_path / "roster.csv", ROSTER)))
    _ok(folder, "users", "create", "admin", "--role", "agency_admin", "--bootstrap")
    _ok(folder, "users", "create", "hr1", "--role", "hr", "--as", "admin")
    return folder


def _run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DUTYSTATION_DATA_DIR": str(data_dir),
        "DUTYSTATION_POLICIES_DIR": str(data_dir.parent / "policies"),
        "COLUMNS": "160",
    }
    env.pop("DUTYSTATION_AS", None)
    return subprocess.run(
        [_bin(), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


def _bin() -> str:
    return str(Path(sys.executable).parent / "dutystation")


def _ok(data_dir: Path, *args: str) -> str:
    done = _run(data_dir, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_plan_is_proposed_written_reviewed_and_applied(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.csv"
    printed = _ok(
        data_dir, "designate", "--plan", "--on", "2025-03-03", "--as", "hr1", "--out", str(out)
    )
    assert "Designations per component" in printed
    assert "plan 1 saved as proposed" in printed
    with out.open(newline="", encoding="utf-8") as fh:
        rows = {r["employee_id"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {"E1", "E2", "E3", "E4"}
    assert rows["E2"]["site_id"] == "TOP1"  # Topeka home, Topeka office
    assert rows["E3"]["site_id"] == "KC1"
    assert rows["E1"]["status"] == "unplaced"  # both seats taken by nearer people
    assert rows["E1"]["reason"].startswith("full:")
    assert rows["E4"]["reason"].startswith("no eligible office within 50 mi")
    applied = _ok(data_dir, "designate", "--apply", "1", "--as", "hr1")
    assert "2 designation(s) recorded" in applied
    report = _ok(data_dir, "report", "distance", "--to", "2025-03-03", "--format", "csv",
                 "--section", "not-on-roster")  # fmt: skip
    assert "E2" in report and "TOP1" in report


def test_mistakes_are_one_sentence_and_a_non_zero_exit(data_dir: Path) -> None:
    missing = _run(data_dir, "designate", "--apply", "99", "--as", "hr1")
    assert missing.returncode == 1
    assert "no designation plan 99" in missing.stderr and "Traceback" not in missing.stderr
    both = _run(data_dir, "designate", "--plan", "--apply", "1", "--as", "hr1")
    assert both.returncode == 2 and "exactly one of" in both.stderr
    seats = _run(data_dir, "designate", "--plan", "--add-seats", "KC1", "--as", "hr1")
    assert seats.returncode == 2 and "--add-seats takes SITE=N" in seats.stderr
    nobody = _run(data_dir, "designate", "--plan")
    assert nobody.returncode == 2 and "--as USERNAME" in nobody.stderr
