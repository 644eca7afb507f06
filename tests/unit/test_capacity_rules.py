"""Capacity rules (domain/capacity.py), the requirement rates handed to DuckDB, and the
capacity report's layout: figures per office, shortfall, the days, the map."""

from __future__ import annotations

import io
import json
import re
from datetime import date, timedelta

import pyarrow as pa
import pytest
from capacity_samples import MONDAY, WEEK, figures
from report_tables import directive, row, table
from rich.console import Console

from dutystation.analytics.capacity import rates_table
from dutystation.domain.capacity import (
    PersonDay,
    expected_rate,
    last_whole_week,
    on_us_map,
    onsite_rate,
    shortfall,
    zip3,
)
from dutystation.domain.directive import BindingKind, Requirement
from dutystation.domain.vocabulary import Arrangement
from dutystation.reports.html import render_html
from dutystation.reports.json import write_json
from dutystation.reports.model import Report
from dutystation.reports.terminal import render_terminal
from dutystation.services.reporting.plan import compliance_plan
from dutystation.services.reporting.seats import capacity_report
from dutystation.services.reporting.tables import ReportContext

SHARE = Requirement(onsite_share_of_hours=0.6)
WEEKLY = Requirement(days_per_week=3)
FORTNIGHTLY = Requirement(days_per_pay_period=4)


# --------------------------------------------------------------------------- the rules


@pytest.mark.parametrize(
    ("requirement", "week", "pay_period", "rate"),
    [
        (SHARE, 5, 10, 0.6),  # a share of hours is the same share of days
        (SHARE, 4, 8, 0.6),
        (WEEKLY, 5, 10, 0.6),  # three of five workdays
        (WEEKLY, 4, 8, 0.75),  # three of a 4x10's four
        (WEEKLY, 3, 7, 1.0),  # a holiday week of a 4x10: every workday left
        (WEEKLY, 2, 7, 1.0),  # capped at every workday
        (WEEKLY, 0, 5, 0.0),
        (FORTNIGHTLY, 5, 10, 0.4),
        (FORTNIGHTLY, 4, 9, 4 / 9),  # 5-4/9: nine workdays a pay period
        (Requirement(days_per_pay_period=10), 4, 8, 1.0),
    ],
)
def test_a_requirement_is_a_share_of_the_schedules_workdays(
    requirement: Requirement, week: int, pay_period: int, rate: float
) -> None:
    assert onsite_rate(requirement, week, pay_period) == pytest.approx(rate)


def _person(**changes: object) -> PersonDay:
    values: dict[str, object] = {
        "arrangement": Arrangement.TELEWORK,
        "binding": BindingKind.BOUND,
        "requirement": WEEKLY,
        "exempt": False,
        "workday": True,
        "workdays_in_week": 5,
        "workdays_in_pay_period": 10,
    }
    values.update(changes)
    return PersonDay(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "rate"),
    [
        ({}, 0.6),
        ({"arrangement": Arrangement.REMOTE}, 0.6),
        ({"arrangement": Arrangement.ONSITE}, 1.0),
        ({"arrangement": Arrangement.ONSITE, "binding": BindingKind.NOT_IN_SCOPE}, 1.0),
        ({"arrangement": Arrangement.FIELD}, 0.0),
        ({"exempt": True}, 0.0),
        ({"exempt": True, "arrangement": Arrangement.ONSITE}, 0.0),
        ({"binding": BindingKind.NOT_BOUND}, 0.0),
        ({"binding": BindingKind.NOT_IN_SCOPE}, 0.0),
        ({"workday": False}, 0.0),
        ({"workday": False, "arrangement": Arrangement.ONSITE}, 0.0),
        ({"requirement": Requirement(days_per_pay_period=2)}, 0.2),  # agreement terms
    ],
)
def test_expected_attendance_of_one_person_on_one_day(
    changes: dict[str, object], rate: float
) -> None:
    assert expected_rate(_person(**changes)) == pytest.approx(rate)


def test_an_exemption_counts_only_where_a_directive_binds() -> None:
    # Not bound, an on-site person is on site whatever exemption they hold.
    person = _person(arrangement=Arrangement.ONSITE, binding=BindingKind.NOT_BOUND, exempt=True)
    assert expected_rate(person) == 1.0


@pytest.mark.parametrize(
    ("expected", "seats", "short"),
    [(2.8, 2, 1), (3.0, 2, 1), (2.0, 2, 0), (0.1 + 0.2 + 1.7, 2, 0), (10.01, 10, 1), (0, 0, 0)],
)
def test_the_shortfall_is_people_beyond_the_seats_rounded_up(
    expected: float, seats: int, short: int
) -> None:
    assert shortfall(expected, seats) == short


def test_the_last_whole_week_of_a_period() -> None:
    assert last_whole_week(date(2025, 1, 20), date(2025, 3, 16)) == (
        date(2025, 3, 10),
        date(2025, 3, 16),
    )
    assert last_whole_week(date(2025, 1, 20), date(2025, 3, 14)) == (
        date(2025, 3, 3),
        date(2025, 3, 9),
    )
    # No whole week: the week of the last day, cut to the period.
    assert last_whole_week(date(2025, 3, 12), date(2025, 3, 14)) == (
        date(2025, 3, 12),
        date(2025, 3, 14),
    )


def test_places_the_map_draws_and_zip3_areas() -> None:
    assert on_us_map(38.9, -77.03) and on_us_map(61.2, -149.9) and on_us_map(21.3, -157.8)
    assert not on_us_map(13.47, 144.75)  # Guam
    assert not on_us_map(18.4, -66.1)  # Puerto Rico
    assert zip3("20001") == "200" and zip3("02134-1234") == "021"
    assert zip3("2001") is None and zip3("ABCDE") is None


def test_rates_follow_schedules_holidays_and_pay_periods() -> None:
    # Week of Washington's Birthday (Monday 2025-02-17): a 5x8 works four days, a 4x10
    # (Friday off) three.
    rates = rates_table(
        {"W": WEEKLY, "P": FORTNIGHTLY}, date(2025, 2, 17), date(2025, 2, 21)
    ).to_pylist()
    found = {(r["req_key"], r["schedule"], r["day"]): r["rate"] for r in rates}
    tuesday, friday = date(2025, 2, 18), date(2025, 2, 21)
    assert found[("W", "5x8", tuesday)] == pytest.approx(0.75)
    assert found[("W", "4x10", tuesday)] == pytest.approx(1.0)
    assert ("W", "4x10", friday) not in found  # not a workday: no row, rate 0
    assert ("W", "5x8", date(2025, 2, 17)) not in found  # the holiday
    # Pay period 2025-02-09..22 holds the holiday: nine workdays on a 5x8.
    assert found[("P", "5x8", tuesday)] == pytest.approx(4 / 9)
    assert found[("onsite", "5x8", tuesday)] == 1.0


# --------------------------------------------------------------------------- the report

CONTEXT = ReportContext(MONDAY, WEEK[-1], WEEK[-1], unit_names={"DEA-EMA": "Emergency"})


def _report(**kw: object) -> Report:
    return capacity_report(figures(**kw), CONTEXT)  # type: ignore[arg-type]


def _rows(report: Report, key: str) -> list[dict[str, object]]:
    return report.section(key).table.to_pylist()


def test_offices_come_short_first_with_their_busiest_day() -> None:
    offices = _rows(_report(), "offices")
    assert [o["site_id"] for o in offices][:2] == ["HQ", "FLD"]
    hq = offices[0]
    assert hq["peak_date"] == MONDAY and hq["expected"] == 2.8
    assert hq["shortfall"] == 1 and hq["days_short"] == 5  # 2.2 > 2 on Friday too
    assert hq["avg_expected"] == pytest.approx(2.7)
    assert (hq["designated"], hq["exempt"], hq["assigned"]) == (1, 1, 6)
    assert hq["observed_peak"] == 3 and hq["observed_avg"] == 3.0
    assert offices[1]["shortfall"] == 0 and offices[1]["observed_peak"] == 0


def test_days_hold_observed_only_up_to_the_last_badge_day() -> None:
    days = [d for d in _rows(_report(), "days") if d["site_id"] == "HQ"]
    assert [d["observed"] for d in days] == [3, 3, 3, None, None]
    assert [d["shortfall"] for d in days] == [1, 1, 1, 1, 1]
    assert days[0]["week"] == "2025-W10"
    note = _report().section("days").notes[0]
    assert "Badge events stop on 2025-03-05" in note
    nothing = _rows(_report(observed_until=None), "days")
    assert all(d["observed"] is None for d in nothing)


def test_unplaced_people_are_counted_per_unit_with_a_total() -> None:
    rows = _rows(_report(), "unplaced")
    assert [(r["org_unit"], r["people"], r["is_total"]) for r in rows] == [
        ("DEA-EIS", 1, False),
        ("DEA-EMA", 1, False),
        ("DEA", 2, True),
    ]
    assert rows[1]["name"] == "Emergency" and rows[2]["expected"] == 1.2


def test_the_map_lists_offices_and_areas_and_says_what_it_cannot_draw() -> None:
    report = _report()
    points = _rows(report, "map")
    assert {p["kind"] for p in points} == {"office", "unplaced staff"}
    assert sum(p["people"] or 0 for p in points) == 9
    notes = " ".join(report.section("map").notes)
    assert "1 office(s) have no coordinates" in notes
    assert "1 office(s) lie outside the map's projection" in notes
    assert "designation plan 1" in notes


def test_the_terminal_table_fits_80_columns() -> None:
    console = Console(width=80, record=True, file=io.StringIO())
    render_terminal(_report(), console)
    text = console.export_text()
    assert "Office capacity" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_the_html_page_holds_the_chart_and_the_map_as_svg_and_loads_nothing() -> None:
    page = render_html(_report())
    figures_shown = re.findall(r"<figure>.*?</figure>", page, re.S)
    assert len(figures_shown) == 2
    assert all("<svg" in f for f in figures_shown)
    assert "Offices and unplaced staff" in figures_shown[1]
    # State outlines are paths drawn inline; nothing is fetched when the page opens.
    assert figures_shown[1].count("<path") > 50
    loads = re.sub(r'xmlns(:\w+)?="[^"]*"', "", page)
    assert "http://" not in loads and "https://" not in loads
    assert not re.search(r"<(script|img|link|iframe)\b", page)


def test_the_json_map_spec_carries_the_shipped_shapes_inline() -> None:
    out = io.StringIO()
    write_json(_report(), out)
    document = json.loads(out.getvalue())
    chart = next(s for s in document["sections"] if s["key"] == "map")["chart"]
    spec = json.dumps(chart["vega_lite"])
    assert '"albersUsa"' in spec and '"topojson"' in spec
    assert '"arcs"' in spec  # the shapes themselves, not a reference to them
    assert '"url"' not in spec


# --------------------------------------------------------------------------- the plan's seats


def _plan_with(capacity: pa.Table | None, seats: int) -> dict[str, object]:
    """Ten teleworkers of DEA-EMA-RCV at DC0001, 5..8 compliant over four weeks."""
    start = date(2025, 2, 24)
    rows = [
        row(f"P{i}", start + timedelta(weeks=w), status="compliant" if i < 5 + w else "x")
        for w in range(4)
        for i in range(10)
    ]
    for r in rows:
        r["status"] = r["status"] if r["status"] == "compliant" else "non_compliant"
    offices = pa.table({"site_id": ["DC0001"], "name": ["HQ"], "seats": [seats]})
    context = ReportContext(start, date(2025, 3, 23), date(2025, 3, 23), directives=[directive()])
    report = compliance_plan(table(rows), offices, context, capacity=capacity)
    plan = {r["org_unit"]: r for r in report.section("plan").table.to_pylist()}
    office = report.section("offices").table.to_pylist()[0]
    return {"unit": plan["DEA-EMA"], "office": office, "notes": report.section("offices").notes}


def _expected(value: float) -> pa.Table:
    return pa.table({"site_id": ["DC0001"], "expected": [value], "peak_date": [date(2025, 3, 17)]})


def test_the_plan_weighs_seats_against_expected_attendance_not_headcount() -> None:
    # Ten people at four seats: short by headcount, but expected 3.6 a day (say, three
    # days a week for most) fits: the trend's date stands.
    fits = _plan_with(_expected(3.6), seats=4)
    assert fits["unit"]["expected_full_compliance"] == date(2025, 3, 31)  # type: ignore[index]
    assert "seats" not in fits["unit"]["limits"]  # type: ignore[index]
    assert fits["office"]["demand"] == 4 and fits["office"]["shortfall"] == 0  # type: ignore[index]
    assert "expected on site" in fits["notes"][0]  # type: ignore[index]
    by_headcount = _plan_with(None, seats=4)
    assert by_headcount["unit"]["expected_full_compliance"] is None  # type: ignore[index]


def test_the_plan_names_each_office_short_and_gives_no_date() -> None:
    short = _plan_with(_expected(6.2), seats=4)
    unit = short["unit"]
    assert unit["expected_full_compliance"] is None  # type: ignore[index]
    assert unit["trend_full_compliance"] == date(2025, 3, 31)  # type: ignore[index]
    assert "seats: 1 office(s) short by 3 (DC0001: 3)" in unit["limits"]  # type: ignore[index]
    assert "until seats are added" in unit["limits"]  # type: ignore[index]


def test_the_state_shapes_ship_inside_the_package_with_their_licence() -> None:
    from importlib import resources

    from dutystation.reports.maps import us_states_topology

    topology = us_states_topology()
    names = {g["properties"]["name"] for g in topology["objects"]["states"]["geometries"]}
    assert {"Alaska", "Hawaii", "District of Columbia", "Virginia"} <= names
    assets = resources.files("dutystation.reports") / "assets"
    assert "ISC" in (assets / "LICENSE-us-atlas.txt").read_text("utf-8")
