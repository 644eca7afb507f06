"""The ``distance`` report built from plain arrays (no database): every section and column
is in docs/reports.md, and the report shows distances, never where anyone lives."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import numpy as np

from dutystation.domain.geodesy import destination, miles_to_metres
from dutystation.reports.json import write_json
from dutystation.reports.model import Report
from dutystation.services.designation_inputs import OfficeSet, StaffSet
from dutystation.services.reporting.distance import distance_report

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "reports.md").read_text()
HOME = (39.123457, -95.65432)


def _report() -> Report:
    near = destination(*HOME, 90.0, miles_to_metres(20))
    far = destination(*HOME, 0.0, miles_to_metres(80))
    offices = OfficeSet(
        pk=np.array([1, 2, 3]),
        site_id=["NEAR", "FAR", "NOWHERE"],
        name=["Near", "Far", "Nowhere"],
        lat=np.array([near[0], far[0], np.nan]),
        lon=np.array([near[1], far[1], np.nan]),
        seats=np.array([10, 10, 10]),
        free=np.array([10, 10, 10]),
        org_units=[("COMP-A",), ("COMP-A",), ("COMP-A",)],
        job_functions=[frozenset({"analysis"})] * 3,
        located=np.array([True, True, False]),
        closed=np.zeros(3, np.bool_),
        excluded=[("NOWHERE", "Nowhere", "no_coordinates")],
    )
    n = 3
    staff = StaffSet(
        pk=np.arange(1, n + 1),
        employee_id=["R1", "T1", "X1"],
        name=["Remote One", "Tele One", "Unknown One"],
        org_unit=["COMP-A"] * n,
        component=["COMP-A"] * n,
        arrangement=np.array(["remote", "telework", "remote"]),
        job_function=["analysis"] * n,
        duty_station=np.array([-1, 1, -1]),
        lat=np.array([HOME[0], HOME[0], np.nan]),
        lon=np.array([HOME[1], HOME[1], np.nan]),
        home_state=np.array(["KS", "KS", ""]),
        home_problem=np.array(["", "", "unknown_zip"]),
        limit_m=np.full(n, miles_to_metres(50)),
        directive_ref=["TEST@1"] * n,
        subject=np.array([True, False, True]),
        designated=np.array([0, -1, -1]),
        host_key=["COMP-A"] * n,
    )
    return distance_report(offices, staff, date(2025, 3, 3), None)


def _section(kind: str) -> str:
    match = re.search(rf"^## `{re.escape(kind)}`$(.*?)(?=^## |\Z)", DOCS, re.M | re.S)
    assert match, f"docs/reports.md has no section ## `{kind}`"
    return match.group(1)


def test_every_section_and_column_of_the_distance_report_is_documented() -> None:
    report = _report()
    text = _section(report.kind)
    for section in report.sections:
        assert f"`{section.key}`" in text, section.key
        for column in section.columns:
            assert f"`{column.name}`" in text, f"{section.key}.{column.name}"


def test_the_report_shows_distances_never_homes() -> None:
    report = _report()
    people = {r["employee_id"]: r for r in report.section("people").table.to_pylist()}
    assert people["R1"]["nearest_office_miles"] == 20.0
    assert people["T1"]["duty_station_miles"] == 80.0
    assert people["T1"]["duty_station_beyond_limit"] is True
    assert report.section("not-judged").table.to_pylist()[0]["reason"] == "unknown_zip"
    assert report.section("not-on-roster").table.to_pylist()[0]["designated_office"] == "NEAR"
    out = io.StringIO()
    write_json(report, out)
    assert "39.12" not in out.getvalue() and "95.65" not in out.getvalue()
    assert "KS" not in out.getvalue()  # not even the state
