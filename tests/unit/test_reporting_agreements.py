"""The agreement figures leaders read: how many people each legal status of a clause
covers (in ``not-returned`` and its JSON), and the ``grievances`` report per component."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from typing import Any

from report_tables import REF, agreement_spans, directive, grievance_table, row, table

from dutystation.reports.json import write_json
from dutystation.reports.model import Report
from dutystation.services.reporting import returns
from dutystation.services.reporting.grievances import grievances_report
from dutystation.services.reporting.tables import ReportContext

DAYS = [date(2025, 2, 21) + timedelta(days=i) for i in range(3)]
WINDOW = [returns.Window(REF, DAYS[0], DAYS[-1])]


def context(start: date = DAYS[0], end: date = DAYS[-1]) -> ReportContext:
    return ReportContext(start, end, end, directives=[directive()], unit_names={"DEA-EMA": "EMA"})


def member(employee: str, unit: str | None, **values: Any) -> list[dict[str, Any]]:
    found = [row(employee, d, kind="day", **values) for d in DAYS]
    for r in found:
        r["bargaining_unit"] = unit
    return found


def coverage(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    report = returns.not_returned(table(rows), context(), WINDOW, agreement_spans("U1"))
    return {r["legal_status"]: r for r in report.section("agreements").table.to_pylist()}


def test_each_legal_status_counts_the_people_its_clauses_cover() -> None:
    reason = "covered by agreement EEU-2023 Art. 31, disputed since 2025-02-03 (...)"
    rows = [
        *member(
            "HOLDOUT", "U1", on_site=0, off_site=8, status="covered_by_agreement", reason=reason
        ),
        *member("BACK", "U1", on_site=8, status="compliant"),
        *member("OTHER-UNIT", "U2", on_site=0, off_site=8, status="non_compliant"),
        *member("NO-UNIT", None, on_site=0, off_site=8, status="non_compliant"),
    ]
    found = coverage(rows)
    assert list(found) == ["in_force", "disputed", "grievance_filed", "held_unenforceable"]
    disputed = found["disputed"]
    assert (disputed["people"], disputed["covered_by_agreement"], disputed["not_returned"]) == (
        2,
        1,
        1,
    )
    assert disputed["clauses"] == "EEU-2023 Art. 31" and disputed["binds"]
    assert found["in_force"]["people"] == 0  # the clause was in force before the window only
    assert not found["held_unenforceable"]["binds"]


def test_a_person_counts_under_the_status_of_their_last_day_in_the_window() -> None:
    rows = member("MOVED", "U1", on_site=0, off_site=8, status="non_compliant")
    rows[-1]["bargaining_unit"] = "U2"  # left the unit on the window's last day
    assert coverage(rows)["disputed"]["people"] == 0


def test_the_coverage_summary_is_in_the_json_of_the_not_returned_report() -> None:
    rows = member("HOLDOUT", "U1", on_site=0, off_site=8, status="covered_by_agreement")
    report = returns.not_returned(table(rows), context(), WINDOW, agreement_spans("U1"))
    out = io.StringIO()
    write_json(report, out)
    text = out.getvalue()
    assert '"agreements"' in text and '"held_unenforceable"' in text
    assert json.loads(text)  # valid JSON


def grievances(as_of: date) -> Report:
    return grievances_report(grievance_table(as_of), context(date(2025, 2, 1), as_of))


def test_the_grievance_report_lists_each_with_its_status_on_the_last_day() -> None:
    listed = grievances(date(2025, 3, 2)).section("grievances").table.to_pylist()
    assert [(g["grievance"], g["status"], g["affected"]) for g in listed] == [
        (1, "in_progress", 2),
        (2, "resolved", 1),
    ]
    assert listed[1]["outcome"] == "Settled: 30 days notice"
    earlier = grievances(date(2025, 2, 20)).section("grievances").table.to_pylist()
    assert [(g["status"], g["outcome"]) for g in earlier] == [("filed", None), ("filed", None)]


def test_the_grievance_summary_counts_open_ones_and_the_people_they_concern_once() -> None:
    summary = grievances(date(2025, 3, 2)).section("summary").table.to_pylist()
    assert summary == [
        {
            "component": "DEA-EMA",
            "name": "EMA",
            "open": 1,
            "arbitration": 0,
            "resolved": 1,
            "withdrawn": 0,
            "affected_open": 2,
        }
    ]
    before = grievances(date(2025, 2, 20)).section("summary").table.to_pylist()[0]
    assert (before["open"], before["affected_open"]) == (2, 2)  # E2 is on both: counted once
