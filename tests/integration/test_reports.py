"""Every report on the synthetic department, in every format; and the command line as a
user meets it, in a subprocess: bad input is one sentence and a non-zero exit."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import jsonschema
import pytest
from openpyxl import load_workbook
from rich.console import Console

from dutystation.bootstrap import Runtime, bootstrap
from dutystation.domain.directive import ExemptionCategory
from dutystation.domain.inputs import EmployeeExemption, EvaluationInputs
from dutystation.domain.status import ApprovedExemption
from dutystation.reports.formats import Format, write_report
from dutystation.reports.json import JSON_SCHEMA
from dutystation.reports.model import Report
from dutystation.services import evaluate as evaluate_service
from dutystation.services.demo import DemoResult, run_demo
from dutystation.services.reporting import KINDS, ReportRequest, build_report
from dutystation.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("reports")]
EMPLOYEES = 1000
CLI = "from dutystation.cli import main; main()"
FORBIDDEN = re.compile(
    r"medical|disabilit|physical[_ ]incapacity|reasonable[_ ]accommodation", re.I
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, DemoResult]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("reports") / "data")
    return settings, run_demo(settings, employees=EMPLOYEES)


@pytest.fixture(scope="module")
def runtime(demo: tuple[Settings, DemoResult]) -> Runtime:
    return bootstrap(demo[0])


@pytest.fixture(scope="module")
def reports(runtime: Runtime) -> Iterator[dict[str, Report]]:
    yield {kind: build_report(runtime, ReportRequest(kind)) for kind in KINDS}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fmt", list(Format))
def test_every_report_renders_in_every_format(
    reports: dict[str, Report], kind: str, fmt: Format, tmp_path: Path
) -> None:
    report = reports[kind]
    assert all(s.rows >= 0 for s in report.sections)
    if fmt is Format.TABLE:
        console = Console(width=80, record=True, file=io.StringIO())
        write_report(report, fmt, console=console, max_rows=20)
        text = console.export_text()
        assert report.title in text
        assert max(len(line) for line in text.splitlines()) <= 80
        return
    path = write_report(report, fmt, console=Console(), output=tmp_path / f"out.{fmt}")
    assert path is not None and path.stat().st_size > 0
    if fmt is Format.JSON:
        jsonschema.validate(json.loads(path.read_text()), JSON_SCHEMA)
    elif fmt is Format.CSV:
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
        assert rows[0] == [c.name for c in report.section().columns]
    elif fmt is Format.XLSX:
        assert load_workbook(path).sheetnames[0] == "About"
    else:
        page = path.read_text()
        # Namespace names look like addresses but load nothing; anything else would.
        loads = re.sub(r'xmlns(:\w+)?="[^"]*"', "", page)
        assert "<h1>" in page and "http://" not in loads and "https://" not in loads


def test_the_demo_reproduces_the_memo_figures_before_the_directive(
    runtime: Runtime, demo: tuple[Settings, DemoResult]
) -> None:
    before = build_report(runtime, ReportRequest("onsite-share", period="2024-11-25..2025-01-19"))
    units = {r["org_unit"]: r for r in before.section("by-unit").table.to_pylist()}
    for unit, share in demo[1].generated.offsite_before.items():
        assert units[unit]["share_off_site"] == pytest.approx(share, abs=0.005), unit


def test_compliance_plan_states_a_limit_for_every_unit_short_of_full(
    reports: dict[str, Report],
) -> None:
    for unit in reports["compliance-plan"].section("plan").table.to_pylist():
        assert unit["limits"], unit["org_unit"]
        if unit["expected_full_compliance"] is None:
            assert "seats" in unit["limits"] or "trend" in unit["limits"], unit


def test_not_returned_lists_only_people_in_scope_without_a_day_on_site(
    reports: dict[str, Report],
) -> None:
    people = reports["not-returned"].section("people").table.to_pylist()
    assert people, "the demo has people who never return"
    assert {p["status"] for p in people} <= {
        "exempt",
        "covered_by_agreement",
        "pending_exemption",
        "non_compliant",
        "not_yet_due",
    }


# ------------------------------------------------------------------ the command line


def _cli(data_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DUTYSTATION_DATA_DIR": str(data_dir), "COLUMNS": "80"}
    env.pop("DUTYSTATION_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-c", CLI, "report", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def test_the_cli_prints_a_table_that_fits_80_columns(
    demo: tuple[Settings, DemoResult], tmp_path: Path
) -> None:
    done = _cli(demo[0].data_dir, tmp_path, "onsite-share")
    assert done.returncode == 0, done.stderr
    assert "Share of hours worked on and off site, per org unit" in done.stdout
    assert "DEA-EMA" in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= 80


def test_the_cli_writes_html_beside_the_user_and_prints_its_path(
    demo: tuple[Settings, DemoResult], tmp_path: Path
) -> None:
    done = _cli(demo[0].data_dir, tmp_path, "compliance-plan", "--format", "html")
    assert done.returncode == 0, done.stderr
    written = list(tmp_path.glob("compliance-plan-*.html"))
    assert len(written) == 1 and str(written[0]) in done.stdout.replace("\n", "")
    assert "<svg" in written[0].read_text()


def test_the_cli_writes_csv_to_standard_output(
    demo: tuple[Settings, DemoResult], tmp_path: Path
) -> None:
    done = _cli(demo[0].data_dir, tmp_path, "not-returned", "--format", "csv", "--days", "10")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith('"component","org_unit","employee_id"')


@pytest.mark.parametrize(
    ("args", "code", "sentence"),
    [
        (["onsite-share", "--org", "NOPE"], 1, "error: org unit 'NOPE' does not exist"),
        (["not-returned", "--period", "2023-W05"], 1, "error: no T&A hours or badge events"),
        (["workforce", "--period", "2025-W99"], 2, "error: period '2025-W99' is not a day"),
        (["presence", "--from", "2025-03-01", "--to", "2025-02-01"], 2, "ends (2025-02-01)"),
        (["utilisation", "--days", "5"], 2, "--days applies to the not-returned report only"),
    ],
)
def test_bad_input_is_one_sentence_and_a_non_zero_exit(
    demo: tuple[Settings, DemoResult], tmp_path: Path, args: list[str], code: int, sentence: str
) -> None:
    done = _cli(demo[0].data_dir, tmp_path, *args)
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and sentence in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_confidential_exemptions_of_people_not_returned_are_never_named(
    runtime: Runtime,
    reports: dict[str, Report],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    people = reports["not-returned"].section("people").table.column("employee_id").to_pylist()
    categories = [c for c in ExemptionCategory if c.confidential]
    approved = tuple(
        EmployeeExemption(eid, ApprovedExemption(categories[i % len(categories)], date(2025, 2, 1)))
        for i, eid in enumerate(people[:6])
    )
    inputs = EvaluationInputs(exemptions=approved)
    monkeypatch.setattr(evaluate_service, "load_inputs", lambda _runtime: inputs)
    for kind in ("not-returned", "briefing"):
        built = build_report(runtime, ReportRequest(kind))
        if kind == "not-returned":
            statuses = dict(
                zip(
                    built.section("people").table.column("employee_id").to_pylist(),
                    built.section("people").table.column("reason").to_pylist(),
                    strict=True,
                )
            )
            assert "confidential category" in statuses[people[0]]
        for fmt in (Format.CSV, Format.JSON, Format.XLSX, Format.HTML):
            path = write_report(built, fmt, console=Console(), output=tmp_path / f"{kind}.{fmt}")
            assert path is not None
            text = path.read_bytes()
            if fmt is Format.XLSX:
                book = load_workbook(path)
                text = " ".join(
                    str(c.value) for s in book.worksheets for r in s.iter_rows() for c in r
                ).encode()
            found = FORBIDDEN.search(text.decode("utf-8", "replace"))
            assert found is None, (kind, fmt, found)


def test_the_demo_ends_with_two_reports_and_the_html_briefing(
    demo: tuple[Settings, DemoResult],
) -> None:
    from dutystation.cli.reports import print_demo_reports

    console = Console(width=80, record=True, file=io.StringIO())
    path = print_demo_reports(demo[0], console)
    text = console.export_text()
    assert "Share of hours worked on and off site, per org unit" in text
    assert "People not returned" in text
    assert f"HTML report: {path.resolve()}" in text.replace("\n", "")
    assert path.is_file() and path.stat().st_mode & 0o077 == 0
    # A path is never wrapped (it could not be copied), so its line may be longer.
    assert max(len(line) for line in text.splitlines() if "HTML report" not in line) <= 80
