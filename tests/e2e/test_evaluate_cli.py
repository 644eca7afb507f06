"""``dutystation evaluate`` as a user runs it, in real processes: before anything is
imported it says what to do in one sentence; after imports it refreshes the snapshot,
reports it, and shows it stale once another import has stored rows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dutystation.bootstrap import Runtime
from dutystation.ingest.fields import ImportKind
from dutystation.services.importing import run_import
from dutystation.settings import Settings

ORG = "org_unit,name,parent,kind\nD,Department,,department\nD-A,Component A,D,component\n"
OFFICES = (
    "site_id,name,zip,latitude,longitude,timezone,seats,org_unit\n"
    "HQ,Headquarters,20001,38.9,-77.03,America/New_York,40,D\n"
)
ORDER = """\
id = "TEST-RTO"
version = 1
issuer = "Test"
title = "Test order"
issued = 2025-01-20
effective = 2025-01-20
[scope]
org_units = ["D"]
arrangements = ["telework", "remote"]
presumed_compliant = ["onsite", "field"]
[requirement]
days_per_week = 3
"""
ROSTER = (
    "employee_id,name,org_unit,duty_station,arrangement,effective_date\n"
    "E1,Ann Example,D-A,HQ,telework,2025-01-06\n"
)


def _run(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DUTYSTATION_DATA_DIR": str(data)}
    env["DUTYSTATION_POLICIES_DIR"] = str(data.parent / "policies")
    for name in ("DUTYSTATION_DATABASE_URL", "DUTYSTATION_AS"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "dutystation", "evaluate", *args],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


def _import(runtime: Runtime, folder: Path, kind: ImportKind, text: str) -> None:
    path = folder / f"{kind}.csv"
    path.write_text(text)
    run_import(runtime, kind, [path])


def test_evaluate_refreshes_the_snapshot_and_says_when_it_is_stale(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "order.toml").write_text(ORDER)
    none = _run(data, "--refresh")
    assert none.returncode != 0 and "Traceback" not in none.stderr
    assert none.stderr.strip().splitlines() == [
        "error: no T&A hours or badge events are stored yet; import some first"
    ]
    assert "No snapshot yet" in _run(data).stdout

    runtime = Runtime(Settings(data_dir=data, policies_dir=tmp_path / "policies"))
    _import(runtime, tmp_path, ImportKind.ORG_UNITS, ORG)
    _import(runtime, tmp_path, ImportKind.OFFICES, OFFICES)
    _import(runtime, tmp_path, ImportKind.ROSTER, ROSTER)
    days = ["2025-02-03", "2025-02-04", "2025-02-05", "2025-02-06", "2025-02-07"]
    rows = "".join(f"E1,{d},onsite,8,HQ\n" for d in days[:3])
    _import(runtime, tmp_path, ImportKind.TIMECARDS, "employee_id,date,code,hours,site_id\n" + rows)
    runtime.engine.dispose()

    refreshed = _run(data, "--refresh")
    assert refreshed.returncode == 0, refreshed.stderr
    assert "Snapshot 1: 1 employees, 1 employee-weeks" in refreshed.stdout
    assert "current." in _run(data).stdout

    runtime = Runtime(Settings(data_dir=data))
    rows = "".join(f"E1,{d},telework_routine,8,\n" for d in days[3:])
    _import(runtime, tmp_path, ImportKind.TIMECARDS, "employee_id,date,code,hours,site_id\n" + rows)
    runtime.engine.dispose()
    shown = _run(data).stdout
    assert "stale" in shown and "evaluate --refresh" in shown
