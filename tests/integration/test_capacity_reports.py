"""The capacity report and the compliance plan's seats, built as a user builds them
(``build_report``) over the hand-built roster, a policy file and imported badges, on
SQLite and PostgreSQL: every format, the map drawn offline without homes, and the plan
naming the offices short of seats."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from capacity_roster import SINCE, store
from openpyxl import load_workbook
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from test_presence_service_builders import import_badges, tap

from dutystation.bootstrap import Runtime, bootstrap
from dutystation.reports.formats import Format, write_report
from dutystation.reports.json import JSON_SCHEMA
from dutystation.reports.model import Report
from dutystation.services.reporting import ReportRequest, build_report
from dutystation.settings import Settings
from dutystation.store.schema import EmployeeHome
from dutystation.store.schema_designation import DesignationPlan

POLICY = """
id = "RTO"
version = 1
issuer = "Secretary"
title = "Return to the office"
issued = 2025-01-24
effective = 2025-01-24

[scope]
org_units = ["DEA"]
arrangements = ["onsite", "telework", "remote"]
presumed_compliant = ["field"]

[requirement]
days_per_week = 3

[deadlines]
full_compliance = 2025-02-21

[exemptions]
categories = ["compelling_reason", "lack_of_office_space"]

[distance_rule]
designate_beyond_miles = 50
arrangements = ["remote"]
"""
pytestmark = pytest.mark.slow
HOME = (45.78312, -108.50069)  # R1's home: must never appear in a report


@pytest.fixture
def runtime(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    keys = store(engine)
    with Session(engine) as session, session.begin():
        session.add(
            EmployeeHome(
                employee_pk=keys["R1"],
                effective_from=SINCE,
                zip="59101",
                latitude=HOME[0],
                longitude=HOME[1],
            )
        )
        session.add(
            DesignationPlan(
                created_at=datetime(2025, 3, 1, tzinfo=UTC),
                created_by="tmo",
                parameters={"day": "2025-03-03", "org_unit": None},
                total_distance_m=0.0,
                placed=0,
                unplaced=1,
                status="proposed",
            )
        )
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "rto.toml").write_text(POLICY)
    found = bootstrap(
        Settings(data_dir=tmp_path / "data", database_url=db_url, policies_dir=policies)
    )
    days = [date(2025, 2, 24) + timedelta(days=i) for i in range(12) if i % 7 < 5]
    taps = [
        t
        for day in days
        for who in ("A1", "A2")
        for t in (
            tap(who, f"{day.isoformat()}T09:00:00", "IN"),
            tap(who, f"{day.isoformat()}T16:00:00", "OUT"),
        )
    ]
    import_badges(found, tmp_path, taps)
    yield found
    found.engine.dispose()


def _capacity(runtime: Runtime, **kw: str) -> Report:
    return build_report(runtime, ReportRequest("capacity", period="2025-W10", **kw))


def test_the_capacity_report_figures_and_what_badges_observed(runtime: Runtime) -> None:
    report = _capacity(runtime)
    offices = {r["site_id"]: r for r in report.section("offices").table.to_pylist()}
    # Three days a week: A1 on site 1, A2/A4/A6 3 of 5, A3 3 of a 4x10's 4, A5 in the
    # field; no exemption is stored.
    hq = offices["HQ"]
    assert hq["expected"] == pytest.approx(3.55, abs=0.06) and hq["shortfall"] == 2
    assert hq["observed_peak"] == 2 and hq["observed_avg"] == 2.0
    assert next(iter(offices)) == "HQ"  # short offices first
    days = report.section("days").table.to_pylist()
    assert {d["day"] for d in days} == {date(2025, 3, 3) + timedelta(days=i) for i in range(5)}
    assert report.section("unplaced").table.to_pylist()[-1]["people"] == 1


def test_every_format_renders(runtime: Runtime, tmp_path: Path) -> None:
    report = _capacity(runtime)
    console = Console(width=80, record=True, file=io.StringIO())
    write_report(report, Format.TABLE, console=console)
    text = console.export_text()
    assert "Office capacity" in text and "HQ" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    written = {
        fmt: write_report(report, fmt, console=Console(), output=tmp_path / f"out.{fmt}")
        for fmt in (Format.CSV, Format.JSON, Format.XLSX, Format.HTML)
    }
    rows = list(csv.reader(io.StringIO(_read(written[Format.CSV]).decode("utf-8-sig"))))
    assert rows[0][:3] == ["site_id", "name", "seats"] and rows[1][0] == "HQ"
    jsonschema.validate(json.loads(_read(written[Format.JSON])), JSON_SCHEMA)
    book = load_workbook(written[Format.XLSX])  # type: ignore[arg-type]
    assert book.sheetnames[:2] == ["About", "Seats and people expected"]
    page = _read(written[Format.HTML]).decode()
    assert page.count("<svg") == 2 and "Offices and unplaced staff" in page
    loads = re.sub(r'xmlns(:\w+)?="[^"]*"', "", page)
    assert "http://" not in loads and "https://" not in loads


def _read(path: Path | None) -> bytes:
    assert path is not None
    return path.read_bytes()


def test_the_map_counts_unplaced_staff_by_area_and_shows_no_home(
    runtime: Runtime, tmp_path: Path
) -> None:
    report = _capacity(runtime)
    points = report.section("map").table.to_pylist()
    areas = [p for p in points if p["kind"] == "unplaced staff"]
    assert [(a["place"], a["people"]) for a in areas] == [("ZIP3 591", 1)]
    outputs = []
    for fmt in (Format.JSON, Format.HTML, Format.CSV):
        path = write_report(
            report, fmt, console=Console(), output=tmp_path / f"map.{fmt}", section="map"
        )
        assert path is not None
        outputs.append(path.read_text(encoding="utf-8-sig"))
    for text in outputs:
        for value in HOME:
            # Not even to a metre or so (SVG path numbers may hold the digits inside others).
            for shown in (str(value), f"{value:.3f}", f"{value:.2f}"):
                assert not re.search(rf"(?<![\d.]){re.escape(shown)}", text), shown
        assert "ZIP3 591" in text


def test_the_compliance_plan_names_the_offices_short_of_seats(runtime: Runtime) -> None:
    report = build_report(
        runtime, ReportRequest("compliance-plan", period="2025-02-24..2025-03-09")
    )
    units = {r["org_unit"]: r for r in report.section("plan").table.to_pylist()}
    limits = units["DEA-A"]["limits"]
    assert "seats: 1 office(s) short by 2 (HQ: 2)" in limits
    assert "until seats are added" in limits
    assert units["DEA-A"]["expected_full_compliance"] is None
    # DEA-B's staff work at FLD, which has room: seats do not hold them back.
    assert "seats" not in units["DEA-B"]["limits"]
    offices = {r["site_id"]: r for r in report.section("offices").table.to_pylist()}
    assert (offices["HQ"]["demand"], offices["HQ"]["shortfall"]) == (4, 2)
    assert offices["FLD"]["shortfall"] == 0
    capacity = _capacity(runtime).section("offices").table.to_pylist()
    assert {r["site_id"] for r in capacity if r["shortfall"]} == {"HQ"}
