"""The report builders on hand-made evaluation and badge tables: the figures leaders read."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pytest
from report_tables import (
    directive,
    discrepancies_table,
    presence_table,
    row,
    table,
    utilisation_table,
    weeks,
)

from dutystation.domain.presence import PresenceSettings
from dutystation.reports.model import Report
from dutystation.services.reporting import badges, hours, plan, returns, workforce
from dutystation.services.reporting.duty_station import duty_station_test
from dutystation.services.reporting.tables import ReportContext

W = date(2025, 2, 24)  # a Monday after the full-compliance deadline of 2025-02-21
NAMES = {"DEA-EMA": "Emergency Management", "DEA-EIS": "Inspection", "DEA": "Department"}


def context(org_unit: str | None = None, start: date = W, end: date | None = None) -> ReportContext:
    return ReportContext(
        start=start,
        end=end or start + timedelta(days=6),
        as_of=end or start + timedelta(days=6),
        org_unit=org_unit,
        directives=[directive(not_returned_report_days=30)],
        unit_names=NAMES,
    )


def rows_of(report: Report, key: str) -> list[dict[str, Any]]:
    return list(report.section(key).table.to_pylist())


def by(rows: list[dict[str, Any]], key: str = "org_unit") -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in rows if not r.get("is_total")}


# --------------------------------------------------------------------------- onsite-share

SHARE_ROWS = [
    row("A", W, unit="DEA-EMA-RCV", on_site=30, off_site=10),
    row("B", W, unit="DEA-EMA-RSP-EAST", on_site=0, field=40, arrangement="field"),
    row("C", W, unit="DEA-EIS-LAB", on_site=20, off_site=20, leave=8),
]


def test_onsite_share_counts_field_work_on_site_and_leaves_leave_out() -> None:
    report = hours.onsite_share(table(SHARE_ROWS), context())
    units = by(rows_of(report, "by-unit"))
    assert units["DEA-EMA"]["share_on_site"] == 0.875
    assert units["DEA-EMA"]["share_off_site"] == 0.125
    assert units["DEA-EIS"]["share_on_site"] == 0.5
    assert units["DEA-EIS"]["hours_worked"] == 40
    assert units["DEA-EMA"]["name"] == "Emergency Management"


def test_onsite_share_has_a_total_row_for_the_whole_department() -> None:
    total = rows_of(hours.onsite_share(table(SHARE_ROWS), context()), "by-unit")[-1]
    assert total["is_total"] and total["org_unit"] == "DEA"
    assert total["share_on_site"] == 0.75 and total["employees"] == 3
    assert total["name"] == "All of Department"


def test_on_site_and_off_site_shares_add_up_to_one() -> None:
    for r in rows_of(hours.onsite_share(table(SHARE_ROWS), context()), "by-unit"):
        assert r["share_on_site"] + r["share_off_site"] == pytest.approx(1)


def test_an_org_unit_is_broken_down_into_the_units_below_it() -> None:
    report = hours.onsite_share(table(SHARE_ROWS), context("DEA-EMA"))
    units = rows_of(report, "by-unit")
    assert [u["org_unit"] for u in units] == ["DEA-EMA-RCV", "DEA-EMA-RSP", "DEA-EMA"]
    assert units[-1]["is_total"]


def test_onsite_share_has_a_weekly_trend_with_a_chart_marking_the_deadline() -> None:
    rows = [row("A", w, on_site=8 * i, off_site=40 - 8 * i) for i, w in enumerate(weeks(W, 3))]
    report = hours.onsite_share(table(rows), context(end=W + timedelta(days=20)))
    trend = [r for r in rows_of(report, "weekly") if not r["is_total"]]
    assert [r["share_on_site"] for r in trend] == [0.0, 0.2, 0.4]
    chart = report.section("weekly").chart
    assert chart is not None and "week" in chart.title.lower()


def test_a_week_cut_by_the_period_is_named_partial() -> None:
    report = hours.onsite_share(
        table([row("A", W, kind="week")]), context(end=W + timedelta(days=6))
    )
    assert report.section("weekly").notes == ()
    cut = row("A", W)
    cut["period_end"] = W + timedelta(days=2)
    report = hours.onsite_share(table([cut]), context(end=W + timedelta(days=2)))
    assert "2025-W09" in report.section("weekly").notes[0]


# --------------------------------------------------------------------------- workforce


def test_workforce_composition_has_the_shape_of_the_federal_figures() -> None:
    rows = [
        row("A", W, on_site=30, off_site=10, arrangement="telework", eligible=True),
        row("B", W, on_site=0, field=40, arrangement="field", eligible=False),
        row("C", W, on_site=0, off_site=40, arrangement="remote", eligible=True, station=None),
        row("D", W, on_site=40, arrangement="onsite", eligible=None),
    ]
    total = rows_of(workforce.workforce(table(rows), context()), "composition")[-1]
    assert total["share_entirely_on_site"] == 0.5
    assert total["share_telework_eligible"] == 0.5
    assert total["share_remote"] == 0.25
    assert total["eligible_share_in_person"] == 0.375  # 30 of A's and C's 80 hours


# --------------------------------------------------------------------------- compliance-plan

OFFICES = pa.table({"site_id": ["DC0001"], "name": ["Headquarters"], "seats": [100]})


def _plan_rows(compliant_per_week: list[int], people: int = 10) -> list[dict[str, Any]]:
    rows = []
    for week, compliant in zip(weeks(W, len(compliant_per_week)), compliant_per_week, strict=True):
        for i in range(people):
            ok = i < compliant
            rows.append(row(f"P{i}", week, unit="DEA-EMA-RCV",
                            status="compliant" if ok else "non_compliant"))  # fmt: skip
    return rows


def _plan(rows: list[dict[str, Any]], offices: pa.Table = OFFICES) -> dict[str, Any]:
    end = max(r["period_end"] for r in rows)
    report = plan.compliance_plan(table(rows), offices, context(end=end))
    return by(rows_of(report, "plan"))["DEA-EMA"]


def test_the_expected_date_extends_the_weekly_trend_to_full_compliance() -> None:
    unit = _plan(_plan_rows([5, 6, 7, 8]))
    assert unit["compliance_rate"] == 0.8
    assert unit["change_per_week"] == pytest.approx(0.1)
    # 80 % in the week of 2025-03-17, ten points a week: 100 % two weeks later.
    assert unit["expected_full_compliance"] == date(2025, 3, 31)
    assert unit["limits"] == ""


def test_too_few_seats_means_no_date_until_seats_are_added() -> None:
    few = pa.table({"site_id": ["DC0001"], "name": ["Headquarters"], "seats": [4]})
    unit = _plan(_plan_rows([5, 6, 7, 8]), few)
    assert unit["expected_full_compliance"] is None
    assert unit["trend_full_compliance"] == date(2025, 3, 31)
    assert "short by 6" in unit["limits"] and "until seats are added" in unit["limits"]


def test_a_flat_trend_gives_no_date_and_says_why() -> None:
    unit = _plan(_plan_rows([6, 6, 6, 6]))
    assert unit["expected_full_compliance"] is None
    assert "no 100 % within two years" in unit["limits"]


def test_full_compliance_is_stated_as_such() -> None:
    unit = _plan(_plan_rows([10, 10]))
    assert unit["compliance_rate"] == 1.0
    assert unit["limits"] == "none: in full compliance"
    assert unit["expected_full_compliance"] == date(2025, 3, 9)


def test_exempt_and_agreement_count_as_in_compliance_and_pending_against() -> None:
    rows = [
        row("A", W, status="exempt"),
        row("B", W, status="covered_by_agreement"),
        row("C", W, status="pending_exemption"),
        row("D", W, status="not_in_scope"),
    ]
    unit = _plan(rows)
    assert unit["bound"] == 3 and unit["compliance_rate"] == pytest.approx(0.6667)
    assert "1 exemption request(s) pending" in unit["limits"]


# --------------------------------------------------------------------------- not-returned

WINDOW = [returns.Window("DEA-RTO-2025-01@1", date(2025, 2, 21), date(2025, 3, 23))]
DAYS = [date(2025, 2, 21) + timedelta(days=i) for i in range(3)]


def _days(employee: str, **values: Any) -> list[dict[str, Any]]:
    return [row(employee, d, kind="day", **values) for d in DAYS]


def _not_returned(rows: list[dict[str, Any]]) -> Report:
    ctx = context(start=date(2025, 2, 21), end=date(2025, 2, 23))
    return returns.not_returned(table(rows), ctx, WINDOW)


def test_not_returned_lists_people_with_no_day_of_presence_in_the_window() -> None:
    rows = [
        *_days("STAYED-HOME", on_site=0, off_site=8, status="non_compliant"),
        *_days("BADGED", on_site=0, off_site=8, status="non_compliant", badge_days=1),
        *_days("FIELD", on_site=0, field=8, status="compliant", arrangement="field"),
        *_days("OUT-OF-SCOPE", on_site=0, off_site=8, status="not_in_scope"),
        *_days("ON-LEAVE", on_site=0, leave=8, status="compliant"),
    ]
    people = by(rows_of(_not_returned(rows), "people"), "employee_id")
    assert set(people) == {"STAYED-HOME"}
    assert people["STAYED-HOME"]["reason"].startswith("no documented reason")
    summary = rows_of(_not_returned(rows), "summary")[0]
    assert (summary["in_scope"], summary["returned"], summary["not_returned"]) == (4, 2, 1)


def test_a_documented_exemption_is_shown_with_its_reason_but_no_medical_category() -> None:
    reason = "approved exemption (medical_condition) from 2025-02-01 to further notice"
    rows = [
        *_days("EXEMPT", on_site=0, off_site=8, status="non_compliant"),
        row("EXEMPT", date(2025, 2, 24), kind="day", on_site=0, status="exempt", reason=reason),
    ]
    person = rows_of(_not_returned(rows), "people")[0]
    assert person["status"] == "exempt"
    assert person["reason"] == (
        "approved exemption (confidential category) from 2025-02-01 to further notice"
    )


def test_days_outside_the_window_do_not_count_as_a_return() -> None:
    rows = [
        row("EARLY", date(2025, 2, 20), kind="day", on_site=8, status="not_yet_due"),
        *_days("EARLY", on_site=0, off_site=8, status="non_compliant"),
    ]
    assert [p["employee_id"] for p in rows_of(_not_returned(rows), "people")] == ["EARLY"]


def test_windows_start_at_each_directive_deadline() -> None:
    found = returns.windows([directive(not_returned_report_days=30)], None)
    assert (found[0].start, found[0].end) == (date(2025, 2, 21), date(2025, 3, 23))
    assert returns.windows([directive()], 10)[0].end == date(2025, 3, 3)


# --------------------------------------------------------------------------- badges


def test_utilisation_puts_the_fullest_offices_first_and_counts_overfull_ones() -> None:
    report = badges.utilisation(utilisation_table(), context())
    rows = rows_of(report, "offices")
    assert [r["site_id"] for r in rows] == ["A", "B"]
    assert rows[0]["avg_daily_occupancy"] == 9.1
    assert report.section("offices").notes[0].startswith("1 of 2 office(s)")


def test_discrepancies_are_summarised_by_kind() -> None:
    summary = by(rows_of(badges.discrepancies(discrepancies_table(), context()), "summary"), "kind")
    assert summary["badge_on_telework_day"]["conflicts"] == 2
    assert summary["badge_on_telework_day"]["employees"] == 1
    assert summary["badge_on_leave_day"]["conflicts"] == 0


def test_presence_hours_are_rounded_and_the_conventions_stated() -> None:
    report = badges.presence(presence_table(8.448611111), context(), PresenceSettings())
    assert rows_of(report, "days")[0]["hours_on_site"] == 8.45
    assert "first-last" in report.section("days").notes[0]


def _fortnight(employee_id: str, start: date, days_at_station: int, **kw: Any) -> dict[str, Any]:
    found = row(employee_id, start, kind="pay_period", **kw)
    found.update(
        period_label=f"2025-PP{(start - date(2025, 1, 12)).days // 14 + 1:02d}",
        period_end=start + timedelta(days=13),
        days_at_duty_station=days_at_station,
        duty_station_test_failed=days_at_station < 2,
    )
    return found


def test_duty_station_test_lists_teleworkers_below_two_days_and_flags_recurring_ones() -> None:
    pps = [date(2025, 2, 9), date(2025, 2, 23), date(2025, 3, 9)]
    rows = [_fortnight("T1", d, n) for d, n in zip(pps, (0, 1, 3), strict=True)]
    rows += [_fortnight("T2", d, n) for d, n in zip(pps, (1, 2, 4), strict=True)]
    rows += [_fortnight("T3", d, 2) for d in pps]
    rows += [_fortnight("T4", d, 0, unit="DEA-EIS-X") for d in pps]
    built = duty_station_test(table(rows), context(start=pps[0], end=date(2025, 3, 22)))
    people = {r["employee_id"]: r for r in rows_of(built, "people")}
    assert set(people) == {"T1", "T2", "T4"}  # T3 reported twice every pay period
    assert people["T1"]["failed"] == 2 and people["T1"]["recurring"] is True
    assert people["T1"]["failed_periods"] == "2025-PP03 2025-PP04"
    assert people["T2"]["failed"] == 1 and people["T2"]["recurring"] is False
    assert people["T2"]["fewest_days"] == 1
    summary = {r["component"]: r for r in rows_of(built, "summary")}
    assert summary["DEA-EMA"]["teleworkers"] == 3
    assert summary["DEA-EMA"]["failed_any"] == 2
    assert summary["DEA-EMA"]["failed_recurring"] == 1
    assert summary["DEA-EIS"]["share_failed_recurring"] == 1.0


def test_duty_station_test_ignores_rows_the_evaluation_did_not_judge() -> None:
    cut = _fortnight("T1", date(2025, 2, 9), 0)
    cut["duty_station_test_failed"] = None  # a pay period cut by the report's period
    built = duty_station_test(table([cut]), context(start=date(2025, 2, 9)))
    assert rows_of(built, "people") == [] and rows_of(built, "summary") == []
