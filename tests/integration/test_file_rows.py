"""Live reports on DuckDB whose evaluation is too large to hold (services/reporting/
file_rows.py): kept on disk and queried there, they are the reports built in memory, to
the byte, for every report built on the evaluation, whether the rows spill from the first
part or midway; the scratch folder is gone afterwards."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest

from dutystation.bootstrap import Runtime, bootstrap
from dutystation.reports.json import write_json
from dutystation.reports.model import Report
from dutystation.services.demo import run_demo
from dutystation.services.reporting import ReportRequest, build_report, file_rows
from dutystation.services.reporting.snapshot_reports import from_snapshot
from dutystation.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("file_rows")]

# A period from a Wednesday: its first week is partial, so the snapshot cannot serve it.
START, END = date(2025, 2, 5), date(2025, 2, 23)
REPORTS = [
    ("onsite-share", None),
    ("onsite-share", "DEA-ECA"),
    ("workforce", None),
    ("duty-station-test", "DEA-ECA"),
    ("compliance-plan", None),
    ("compliance-plan", "DEA-ECA"),
    ("not-returned", "DEA-ECA"),
    ("briefing", None),  # onsite-share, compliance-plan, not-returned, workforce
]


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    data = tmp_path_factory.mktemp("file-rows")
    run_demo(load_settings(data_dir=data), employees=1000)
    return bootstrap(load_settings(data_dir=data))


def _request(kind: str, unit: str | None) -> ReportRequest:
    start = date(2025, 1, 1) if kind == "duty-station-test" else START
    return ReportRequest(kind, start=start, end=END, org_unit=unit)


def _json(report: Report) -> str:
    out = io.StringIO()
    write_json(report, out)
    return out.getvalue()


def _built(runtime: Runtime, request: ReportRequest, spill_rows: int, patch: Any) -> Report:
    """The report with the rows spilled to disk past ``spill_rows``; FileRows queries
    counted (so a pass cannot come from the in-memory path)."""
    queries: list[str] = []
    query = file_rows.FileRows.query

    def counted(self: file_rows.FileRows, sql: str, tables: Any) -> Any:
        queries.append(sql)
        return query(self, sql, tables)

    patch.setattr(file_rows, "SPILL_ROWS", spill_rows)
    patch.setattr(file_rows.FileRows, "query", counted)
    report = build_report(runtime, request)
    assert queries, "the report did not read its rows from disk"
    return report


@pytest.mark.parametrize(("kind", "unit"), REPORTS)
def test_a_report_over_rows_on_disk_is_the_report_built_in_memory(
    runtime: Runtime, kind: str, unit: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = _request(kind, unit)
    assert from_snapshot(runtime, request) is None  # built live
    in_memory = build_report(runtime, request)
    on_disk = _built(runtime, request, 0, monkeypatch)
    assert _json(on_disk) == _json(in_memory)
    assert all(s.rows > 0 for s in in_memory.sections if s.key in ("units", "people"))
    assert not list(runtime.settings.tmp_dir.glob("report-*"))


def test_rows_that_spill_midway_give_the_same_report(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first parts held in memory, then written to the file with every later one."""
    request = _request("onsite-share", None)
    in_memory = build_report(runtime, request)
    # Kept weeks come one per part (about 1,000 rows each): 1,500 spills at the second.
    assert _json(_built(runtime, request, 1_500, monkeypatch)) == _json(in_memory)
