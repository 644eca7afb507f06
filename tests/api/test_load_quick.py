"""RELIABILITY T27 in CI: the load harness (bench/web_load.py) runs end to end at a small
size and answers every request, and its regression gate judges right. No latency is
asserted here: figures come from the bench on a quiet machine (bench/README.md).

The gate is tested as a pure function on given numbers, then through its files: a p99
more than 20 % above the baseline of the same machine kind and data size fails, and no
such baseline is never a pass. The harness run (PostgreSQL, 30-55 s) serves a world of
300 employees and drives every scenario for a few seconds, the badge import included;
``DUTYSTATION_TEST_PROFILE=nightly`` runs 2,000 employees for 15 s a scenario.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from load_gate import (  # noqa: E402
    KIND_ENV,
    NO_BASELINE,
    PASS,
    REGRESSION,
    Measured,
    check,
    gate,
    machine_kind,
    record,
)

NIGHTLY = os.environ.get("DUTYSTATION_TEST_PROFILE") == "nightly"
BASE = {
    "status": Measured(p99_ms=20.0, rate=200),
    "report": Measured(p99_ms=400.0, rate=20),
}


def test_a_p99_within_20_percent_passes() -> None:
    verdict = gate({"status": Measured(24.0, 200), "report": Measured(300.0, 20)}, BASE)
    assert verdict.status == PASS
    assert any(line.startswith("ok   status") and "+20 %" in line for line in verdict.lines)


def test_a_p99_more_than_20_percent_worse_fails_and_names_the_scenario() -> None:
    verdict = gate({"status": Measured(24.2, 200), "report": Measured(300.0, 20)}, BASE)
    assert verdict.status == REGRESSION
    failed = [line for line in verdict.lines if line.startswith("FAIL")]
    assert failed == ["FAIL status: p99 24.2 ms vs baseline 20 ms (+21 %; limit 24.0)"]


def test_errors_fail_whatever_the_latency() -> None:
    verdict = gate({"status": Measured(10.0, 200, errors=3)}, BASE)
    assert verdict.status == REGRESSION
    assert "FAIL status: 3 errors (0 allowed)" in verdict.lines


def test_a_scenario_without_baseline_or_at_another_rate_is_never_a_pass() -> None:
    missing = gate({"overview": Measured(5.0, 200)}, BASE)
    assert missing.status == NO_BASELINE
    assert "NO BASELINE overview" in missing.lines[0]
    other_rate = gate({"status": Measured(5.0, 100)}, BASE)
    assert other_rate.status == NO_BASELINE
    assert "not comparable" in other_rate.lines[0]
    assert gate({}, BASE).status == NO_BASELINE


def test_a_regression_outranks_a_missing_baseline() -> None:
    verdict = gate({"status": Measured(99.0, 200), "overview": Measured(5.0, 200)}, BASE)
    assert verdict.status == REGRESSION


def _results(kind: str, p99: float, employees: int = 20_000) -> dict[str, object]:
    return {
        "machine_kind": kind,
        "machine": {"cpu": "test", "cores": 2},
        "data": {"employees": employees, "weeks": 8},
        "workers": 2,
        "measured_at": "2026-12-04T12:00Z",
        "command": "bench/web_load.py --employees 20000 --weeks 8",
        "load_average": 0.5,
        "scenarios": {"status": {"rate": 200.0, "p99_ms": p99, "errors": {}}},
    }


def test_baselines_are_per_machine_kind_and_data_size(tmp_path: Path) -> None:
    assert check(_results("box-a", 20.0), tmp_path).status == NO_BASELINE
    assert (
        "NO BASELINE for machine kind 'box-a'" in check(_results("box-a", 20.0), tmp_path).lines[0]
    )
    stored = record(_results("box-a", 20.0), tmp_path)
    assert stored == tmp_path / "box-a.json"
    assert check(_results("box-a", 23.0), tmp_path).status == PASS
    assert check(_results("box-a", 30.0), tmp_path).status == REGRESSION
    # Another machine kind, or another data size on this one, has nothing to compare with.
    assert check(_results("box-b", 20.0), tmp_path).status == NO_BASELINE
    other_size = check(_results("box-a", 20.0, employees=250_000), tmp_path)
    assert other_size.status == NO_BASELINE
    assert "stored: data {'employees': 20000, 'weeks': 8}" in other_size.lines[0]
    # A second size is stored beside the first, not over it.
    record(_results("box-a", 90.0, employees=250_000), tmp_path)
    assert check(_results("box-a", 23.0), tmp_path).status == PASS
    assert len(json.loads(stored.read_text())["baselines"]) == 2


def test_import_rows_are_compared_only_with_imports_run_the_same_way(tmp_path: Path) -> None:
    run = _results("box-a", 20.0)
    run["scenarios"] = {
        "status": {"rate": 200.0, "p99_ms": 20.0, "errors": {}},
        "status-alone": {"rate": 200.0, "p99_ms": 10.0, "errors": {}},
        "status-during-import": {"rate": 200.0, "p99_ms": 18.0, "errors": {}},
    }
    # A baseline from before the import settings were written down.
    record(run, tmp_path)
    run.update(import_cpus=1, import_nice=0, import_lead_in_s=10.0)
    verdict = check(run, tmp_path)
    assert verdict.status == NO_BASELINE
    unjudged = [line for line in verdict.lines if line.startswith("NO BASELINE")]
    assert [line.split(":")[0] for line in unjudged] == [
        "NO BASELINE status-alone", "NO BASELINE status-during-import"
    ]  # fmt: skip
    assert "settings not recorded" in unjudged[0] and "'import_nice': 0" in unjudged[0]
    assert any(line.startswith("ok   status:") for line in verdict.lines)
    # Recorded with them, the same settings compare; another nice does not.
    record(run, tmp_path)
    assert check(run, tmp_path).status == PASS
    assert check({**run, "import_nice": 19}, tmp_path).status == NO_BASELINE
    assert check({**run, "import_idle": True}, tmp_path).status == NO_BASELINE


def test_a_scenario_with_errors_stays_out_of_the_baseline(tmp_path: Path) -> None:
    run = _results("box-a", 20.0)
    run["scenarios"] = {
        "status": {"rate": 200.0, "p99_ms": 20.0, "errors": {}},
        "report": {"rate": 20.0, "p99_ms": 900.0, "errors": {"shed": 40}},
    }
    record(run, tmp_path)
    verdict = check(run, tmp_path)
    # Its p99 covers only the answered requests: no reference, so never a pass.
    assert verdict.status == REGRESSION  # this run has errors too
    run["scenarios"]["report"]["errors"] = {}  # type: ignore[index]
    verdict = check(run, tmp_path)
    assert verdict.status == NO_BASELINE
    assert "--   report: left out of the baseline (errors when recorded)" in verdict.lines
    run["scenarios"] = {"report": {"rate": 20.0, "p99_ms": 900.0, "errors": {"500": 1}}}
    with pytest.raises(SystemExit, match="every scenario had errors"):
        record(run, tmp_path / "other")
    assert not (tmp_path / "other").exists()


def test_the_machine_kind_can_be_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KIND_ENV, "CI box 2 cores")
    assert machine_kind() == "ci-box-2-cores"
    monkeypatch.delenv(KIND_ENV)
    assert f"-{os.cpu_count()}cpu-" in machine_kind()


def test_the_gate_command_exits_non_zero_without_a_baseline(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    results.write_text(json.dumps(_results("box-a", 20.0)))
    command = [sys.executable, str(BENCH / "load_gate.py"), str(results)]
    unjudged = subprocess.run(
        [*command, "--baselines", str(tmp_path)], capture_output=True, text=True
    )
    assert unjudged.returncode == NO_BASELINE
    assert "NO BASELINE for machine kind 'box-a'" in unjudged.stdout
    subprocess.run([*command, "--baselines", str(tmp_path), "--record"], check=True)
    results.write_text(json.dumps(_results("box-a", 40.0)))
    worse = subprocess.run([*command, "--baselines", str(tmp_path)], capture_output=True, text=True)
    assert worse.returncode == REGRESSION
    assert "FAIL status" in worse.stdout


@pytest.mark.postgres
@pytest.mark.slow
def test_the_harness_answers_every_request(scratch_postgres: str, tmp_path: Path) -> None:
    employees, seconds, rows = (2_000, 15, 200_000) if NIGHTLY else (300, 2, 20_000)
    results = tmp_path / "results.json"
    command = [
        sys.executable, str(BENCH / "web_load.py"),
        "--employees", str(employees), "--weeks", "4", "--users", "50", "--refreshes", "1",
        "--workers", "1", "--seconds", str(seconds), "--warmup", "0.5",
        "--rate", "50", "--report-rate", "0.5", "--import-rows", str(rows), "--imports", "2",
        "--import-lead-in", str(seconds), "--import-nice", "10",
        "--work-dir", str(tmp_path), "--database-url", scratch_postgres,
        "--results", str(results), "--gate", "--baselines", str(tmp_path / "baselines"),
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    # No baseline of this machine kind in an empty folder: the gate says so, non-zero.
    assert run.returncode == NO_BASELINE, run.stdout[-3000:] + run.stderr[-3000:]
    assert "NO BASELINE for machine kind" in run.stdout
    found = json.loads(results.read_text())
    scenarios = found["scenarios"]
    assert set(scenarios) == {
        "status", "overview", "report", "status-alone", "status-during-import"
    }  # fmt: skip
    for name, row in scenarios.items():
        assert row["errors"] == {}, (name, row["errors"])
        assert row["requests"] > 0 and row["p99_ms"] is not None, name
        # How late the client itself sent, apart from the server's latency.
        assert 0 <= row["client_lag_ms"]["p99"] <= row["client_lag_ms"]["max"], name
    # Each import stores a new week's rows: none found already present.
    imports = scenarios["status-during-import"]["imports"]
    assert len(imports) == 2
    for imported in imports:
        assert imported["exit"] == 0 and imported["p99_ms"] is not None
        assert imported["lead_in_p99_ms"] is not None
        # The slowest read of each second, from the lead-in's start to the import's end.
        assert len(imported["max_ms_by_s"]) >= int(imported["to_s"])
        assert min(imported["max_ms_by_s"]) > 0
        # The host's share of the guest's time, in the lead-in and during the import.
        assert set(imported["steal_ms_per_s"]) == {"lead_in", "during"}
        assert imported["client_lag_max_ms"] >= 0
        assert all(v is None or v >= 0 for v in imported["steal_ms_per_s"].values())
        assert f"{rows:,} rows read, {rows:,} stored, 0 already present" in imported["summary"][-1]
        assert (
            imported["summary"][-1].endswith("0 rejected")
            or "0 rejected (batch" in imported["summary"][-1]
        )
    assert scenarios["status-during-import"]["ratio_to_alone"] is not None
    # The run, stored as this machine's baseline, passes against itself.
    record(found, tmp_path / "baselines")
    assert check(found, tmp_path / "baselines").status == PASS

    # The same world, the file uploaded instead: imported by the server, a week of its own.
    uploaded = tmp_path / "uploaded.json"
    again = [
        *command[: command.index("--imports")], "--imports", "1", "--import-via", "api",
        "--import-lead-in", "1", "--work-dir", str(tmp_path), "--database-url", scratch_postgres,
        "--skip-setup", "--scenarios", "import", "--results", str(uploaded),
    ]  # fmt: skip
    run = subprocess.run(again, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    found = json.loads(uploaded.read_text())
    # The product's default nice; no idle class: that is the command's (chrt).
    settings = (found["import_via"], found["import_nice"], found["import_idle"])
    assert settings == ("api", 10, False)
    during = found["scenarios"]["status-during-import"]
    assert during["errors"] == {}
    [imported] = during["imports"]
    assert imported["exit"] == 0 and imported["cpu_s"] is None  # its CPU is the server's
    assert f"{rows:,} rows read, {rows:,} stored, 0 already present" in imported["summary"][-1]
    # Not comparable with the command line's imports: the gate says so.
    assert check(found, tmp_path / "baselines").status == NO_BASELINE
