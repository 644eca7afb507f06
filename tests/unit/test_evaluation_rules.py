"""The evaluation's rules, one business sentence each, on small hand-made scenarios run
through the DuckDB evaluation; every scenario is also checked against ``decide_status``."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from test_evaluation_scenario import (
    Person,
    Scenario,
    Version,
    directive,
    mismatches,
    run_sql,
)

from dutystation.domain.directive import ExemptionCategory, Requirement
from dutystation.domain.inputs import (
    Agreement,
    EmployeeExemption,
    EvaluationInputs,
    ExemptionRequest,
)
from dutystation.domain.status import ApprovedExemption

MONDAY = date(2025, 3, 3)  # ISO week 2025-W10, no holiday; pay periods 2025-PP04 and PP05
WEEK = "2025-W10"
SINCE = date(2025, 1, 1)
Timecard = tuple[str, date, str, float, str | None]


def day(n: int) -> date:
    return MONDAY + timedelta(days=n)


def week_of(
    kind: str, hours: float = 8.0, site: str | None = "S1", who: str = "E1", days: int = 5
) -> list[Timecard]:
    return [(who, day(i), kind, hours, site if kind == "onsite" else None) for i in range(days)]


def evaluate(s: Scenario) -> dict[tuple[str, str, str], dict[str, Any]]:
    assert mismatches(s) == []
    return run_sql(s)


def one_week(
    timecards: list[Timecard], versions: list[Version] | None = None, **kwargs: Any
) -> Scenario:
    person = Person("E1", versions or [Version(SINCE)])
    return Scenario(MONDAY, day(6), [directive()], [person], timecards, **kwargs)


def test_a_move_mid_week_counts_each_day_at_that_days_duty_station() -> None:
    # On site at S1 all week; the duty station moves from S1 to S2 on Wednesday.
    versions = [Version(SINCE, day(2), duty_station="S1"), Version(day(2), duty_station="S2")]
    row = evaluate(one_week(week_of("onsite"), versions))[("E1", "week", WEEK)]
    assert row["hours_on_site"] == 16.0  # Monday and Tuesday, at S1 while it was theirs
    assert row["hours_off_site"] == 24.0
    assert row["duty_station"] == "S2"  # as of the period's last day


def test_the_status_of_a_period_uses_the_assignment_on_its_last_day() -> None:
    # Teleworking, then on site from Thursday: the on-site arrangement is presumed compliant.
    versions = [Version(SINCE, day(3)), Version(day(3), arrangement="onsite")]
    s = one_week(week_of("telework_routine"), versions)
    s.directives = [
        directive(scope={"org_units": ["ROOT"], "arrangements": ["telework"]} | _presumed())
    ]
    row = evaluate(s)[("E1", "week", WEEK)]
    assert row["arrangement"] == "onsite"
    assert row["status"] == "compliant"
    assert row["reason"].startswith("presumed compliant by RTO@1")


def _presumed() -> dict[str, list[str]]:
    return {"presumed_compliant": ["onsite"]}


def test_leave_and_holidays_leave_the_denominator() -> None:
    timecards = [
        *week_of("onsite", days=3),
        ("E1", day(3), "leave", 8.0, None),
        ("E1", day(4), "holiday", 8.0, None),
    ]
    row = evaluate(one_week(timecards))[("E1", "week", WEEK)]
    assert row["hours_required"] == 24.0
    assert (row["hours_leave"], row["hours_holiday"]) == (8.0, 8.0)
    assert row["status"] == "compliant"


def test_a_federal_holiday_requires_no_hours_and_is_reported_as_holiday() -> None:
    monday = date(2025, 2, 17)  # Washington's Birthday
    timecards = [("E1", monday + timedelta(days=i), "onsite", 8.0, "S1") for i in range(1, 5)]
    s = Scenario(
        monday, monday + timedelta(days=6), [directive()], [Person("E1", [Version(SINCE)])]
    )
    s.timecards = timecards
    row = evaluate(s)[("E1", "week", "2025-W08")]
    assert (row["hours_required"], row["hours_holiday"]) == (32.0, 8.0)
    assert row["status"] == "compliant"


def test_field_work_and_official_travel_count_as_at_the_duty_station() -> None:
    row = evaluate(one_week(week_of("field_travel")))[("E1", "week", WEEK)]
    assert row["hours_field_travel"] == 40.0
    assert row["status"] == "compliant"


def test_on_site_hours_at_another_office_count_only_when_any_agency_office_counts() -> None:
    strict = one_week(week_of("onsite", site="S2"))
    assert evaluate(strict)[("E1", "week", WEEK)]["status"] == "non_compliant"
    lenient = one_week(week_of("onsite", site="S2"))
    lenient.directives = [directive(counts_at="any_agency_office")]
    row = evaluate(lenient)[("E1", "week", WEEK)]
    assert row["status"] == "compliant"
    assert row["hours_on_site"] == 40.0


def test_a_timecard_that_names_no_office_counts_at_the_duty_station() -> None:
    row = evaluate(one_week(week_of("onsite", site=None)))[("E1", "week", WEEK)]
    assert row["hours_on_site"] == 40.0


def _exempt(start: date, end: date | None, category: str = "medical_condition") -> Any:
    exemption = ApprovedExemption(ExemptionCategory(category), start, end)
    return EvaluationInputs(exemptions=(EmployeeExemption("E1", exemption),))


def test_an_exemption_covers_only_its_dates() -> None:
    # Exempt Monday to Wednesday, teleworking all week: Thursday and Friday are judged.
    s = one_week(week_of("telework_routine"), inputs=_exempt(day(0), day(2)))
    row = evaluate(s)[("E1", "week", WEEK)]
    assert row["status"] == "non_compliant"
    assert "0 of 16 h required" in row["reason"]
    assert "exemption covered 3 day(s)" in row["reason"]


def test_an_expired_exemption_stops_covering_the_next_day() -> None:
    s = one_week(week_of("telework_routine"), inputs=_exempt(day(-7), day(1)))
    rows = evaluate(s)
    assert rows[("E1", "day", day(1).isoformat())]["status"] == "exempt"
    assert rows[("E1", "day", day(2).isoformat())]["status"] == "non_compliant"


def test_an_exemption_covering_every_workday_makes_the_week_exempt_without_naming_medical() -> None:
    s = one_week(week_of("telework_routine"), inputs=_exempt(day(0), None))
    row = evaluate(s)[("E1", "week", WEEK)]
    assert row["status"] == "exempt"
    assert "confidential category" in row["reason"] and "medical" not in row["reason"]


def test_an_exemption_of_a_category_the_directive_does_not_allow_is_refused_and_said() -> None:
    s = one_week(week_of("telework_routine"), inputs=_exempt(day(0), None, "legal_impediment"))
    row = evaluate(s)[("E1", "week", WEEK)]
    assert row["status"] == "non_compliant"
    assert "(legal_impediment) is not a category RTO@1 allows" in row["reason"]


def test_a_pending_request_is_reported_as_pending_never_as_compliant() -> None:
    request = ExemptionRequest("E1", ExemptionCategory.COMPELLING_REASON, day(-3))
    s = one_week(week_of("onsite"), inputs=EvaluationInputs(requests=(request,)))
    row = evaluate(s)[("E1", "week", WEEK)]
    assert row["status"] == "pending_exemption"
    assert row["reason"].startswith(f"exemption request pending since {day(-3).isoformat()}")


def test_a_request_decided_during_the_week_is_pending_only_before_its_decision() -> None:
    request = ExemptionRequest("E1", ExemptionCategory.COMPELLING_REASON, day(-3), day(2))
    s = one_week(week_of("onsite"), inputs=EvaluationInputs(requests=(request,)))
    rows = evaluate(s)
    assert rows[("E1", "day", day(1).isoformat())]["status"] == "pending_exemption"
    assert rows[("E1", "day", day(2).isoformat())]["status"] == "compliant"


def test_a_unit_that_is_not_bound_is_not_in_scope_with_its_legal_basis() -> None:
    s = one_week(week_of("telework_routine"))
    scope = {
        "org_units": ["ROOT"],
        "arrangements": ["telework"],
        "not_bound": [{"org_unit": "A", "legal_basis": "Inspector General Act"}],
    }
    s.directives = [directive(scope=scope)]
    row = evaluate(s)[("E1", "week", WEEK)]
    assert row["status"] == "not_in_scope"
    assert row["reason"] == "A is not bound by RTO@1: Inspector General Act"
    assert row["directive_ref"] == "RTO@1"


def test_periods_before_the_full_compliance_deadline_are_not_yet_due() -> None:
    s = one_week(week_of("telework_routine"))
    s.directives = [directive(deadlines={"full_compliance": day(7)})]
    row = evaluate(s)[("E1", "week", WEEK)]
    assert row["status"] == "not_yet_due"
    assert f"from {day(7).isoformat()}; so far 0.0%" in row["reason"]


def test_someone_already_meeting_the_requirement_before_the_deadline_is_compliant() -> None:
    s = one_week(week_of("onsite"))
    s.directives = [directive(deadlines={"full_compliance": day(7)})]
    assert evaluate(s)[("E1", "week", WEEK)]["status"] == "compliant"


def test_a_week_straddling_the_deadline_is_judged_on_its_days_from_the_deadline() -> None:
    # Teleworking Monday-Wednesday, on site from Thursday, the deadline.
    timecards = [
        *week_of("telework_routine", days=3),
        ("E1", day(3), "onsite", 8.0, "S1"),
        ("E1", day(4), "onsite", 8.0, "S1"),
    ]
    s = one_week(timecards)
    s.directives = [directive(deadlines={"full_compliance": day(3)})]
    row = evaluate(s)[("E1", "week", WEEK)]
    assert row["status"] == "compliant"
    assert "100.0% of hours at the duty station (16 of 16 h required)" in row["reason"]


def _agreement(terms: Requirement) -> EvaluationInputs:
    return EvaluationInputs(agreements=(Agreement("U1", "Hybrid", SINCE, None, terms),))


def test_a_bargaining_agreement_covers_staff_who_meet_its_terms() -> None:
    timecards = week_of("onsite", days=2) + [
        ("E1", day(i), "telework_routine", 8.0, None) for i in (2, 3, 4)
    ]
    versions = [Version(SINCE, bargaining_unit="U1")]
    s = one_week(timecards, versions, inputs=_agreement(Requirement(days_per_week=2)))
    row = evaluate(s)[("E1", "week", WEEK)]
    assert row["status"] == "covered_by_agreement"
    assert row["reason"].startswith("covered by agreement U1 (2 days on site per week)")


def test_staff_short_of_the_agreement_terms_are_judged_by_the_directive() -> None:
    versions = [Version(SINCE, bargaining_unit="U1")]
    inputs = _agreement(Requirement(days_per_week=2))
    s = one_week(week_of("telework_routine"), versions, inputs=inputs)
    assert evaluate(s)[("E1", "week", WEEK)]["status"] == "non_compliant"


def test_a_teleworker_on_site_once_in_a_pay_period_fails_the_duty_station_test() -> None:
    sunday = date(2025, 2, 23)  # pay period 2025-PP04: 2025-02-23 to 2025-03-08
    person = Person("E1", [Version(SINCE)])
    timecards: list[Timecard] = [("E1", day(1), "onsite", 8.0, "S1")]
    s = Scenario(sunday, sunday + timedelta(days=13), [directive()], [person], timecards)
    row = evaluate(s)[("E1", "pay_period", "2025-PP04")]
    assert row["duty_station_test_failed"] is True
    timecards.append(("E1", day(2), "onsite", 8.0, "S1"))
    assert evaluate(s)[("E1", "pay_period", "2025-PP04")]["duty_station_test_failed"] is False


def test_the_duty_station_test_is_left_empty_for_others_and_for_cut_pay_periods() -> None:
    rows = evaluate(one_week(week_of("onsite")))
    assert rows[("E1", "week", WEEK)]["duty_station_test_failed"] is None
    assert rows[("E1", "pay_period", "2025-PP04")]["duty_station_test_failed"] is None


def test_employees_not_assigned_in_a_period_have_no_row_for_it() -> None:
    hired = Person("E2", [Version(day(7))])
    separated = Person("E3", [Version(SINCE, day(0))])
    s = one_week(week_of("onsite"))
    s.people += [hired, separated]
    rows = evaluate(s)
    assert {k[0] for k in rows} == {"E1"}


def test_a_period_straddling_the_range_keeps_only_its_days_inside_it() -> None:
    s = one_week(week_of("onsite"))
    s.start = day(2)
    row = evaluate(s)[("E1", "week", WEEK)]
    assert (row["period_start"], row["period_end"]) == (day(2), day(6))
    assert row["hours_required"] == 24.0


def test_restricting_to_an_org_unit_keeps_its_subtree_only() -> None:
    s = one_week(week_of("onsite") + week_of("onsite", who="E2"))
    s.people.append(Person("E2", [Version(SINCE, org_unit="B")]))
    s.selected = ["A", "A1", "A2"]
    assert {k[0] for k in evaluate(s)} == {"E1"}


def test_several_leave_rows_on_one_day_never_take_more_than_the_day() -> None:
    # 6 h annual and 6 h sick leave on an 8-hour Monday: Monday requires nothing, not -4 h.
    timecards = [("E1", day(0), "leave", 6.0, None), ("E1", day(0), "leave", 6.0, None)]
    timecards += [("E1", day(i), "onsite", 8.0, "S1") for i in range(1, 5)]
    row = evaluate(one_week(timecards))[("E1", "week", WEEK)]
    assert row["hours_required"] == 32.0
    assert row["hours_leave"] == 12.0
