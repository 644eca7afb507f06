"""The status of one employee for one period: each rule of domain/status.py as a sentence."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from dutystation.domain.directive import (
    Binding,
    BindingKind,
    Directive,
    ExemptionCategory,
    Requirement,
    binding_directive,
)
from dutystation.domain.status import (
    AgreementCoverage,
    ApprovedExemption,
    DayEvidence,
    PendingRequest,
    Status,
    StatusInputs,
    decide_status,
    duty_station_test,
    measure,
)
from dutystation.domain.vocabulary import Arrangement

CHAIN = ("DEA-ECA-IR", "DEA-ECA", "DEA")
MONDAY = date(2025, 3, 3)  # a week after full compliance (2025-02-21)
SUNDAY = MONDAY + timedelta(days=6)
COMPELLING = ExemptionCategory.COMPELLING_REASON


def directive(**changes: Any) -> Directive:
    data: dict[str, Any] = {
        "id": "US-RTO-2025",
        "version": 1,
        "issuer": "The President",
        "title": "Return to In-Person Work",
        "issued": date(2025, 1, 20),
        "effective": date(2025, 1, 20),
        "scope": {
            "org_units": ["*"],
            "arrangements": ["telework", "remote"],
            "presumed_compliant": ["onsite", "field"],
            "not_bound": [{"org_unit": "DEA-OIG", "legal_basis": "legal impediment: IG Act"}],
        },
        "requirement": {"onsite_share_of_hours": 1.0},
        "deadlines": {"full_compliance": date(2025, 2, 21)},
        "exemptions": {
            "categories": ["disability_accommodation", "medical_condition", "compelling_reason"]
        },
    }
    data.update(changes)
    return Directive.model_validate(data)


FULL_TIME = directive()
THREE_DAYS = directive(id="HYBRID", requirement={"days_per_week": 3})
FOUR_PER_PAY_PERIOD = directive(id="PP", requirement={"days_per_pay_period": 4})


def evidence(start: date, codes: str) -> list[DayEvidence]:
    """One letter a day: O on site, T telework, R remote, F field/travel, L leave,
    H holiday, x scheduled but unrecorded, h half on site half telework, - no workday."""
    out = []
    for i, code in enumerate(codes):
        day = start + timedelta(days=i)
        required = 0.0 if code in "LH-" else 8.0
        on_site = {"O": 8.0, "h": 4.0}.get(code, 0.0)
        field = 8.0 if code == "F" else 0.0
        off = {"T": 8.0, "R": 8.0, "h": 4.0}.get(code, 0.0)
        out.append(DayEvidence(day, required, on_site, field, off))
    return out


def decide(
    codes: str,
    rules: Directive = FULL_TIME,
    *,
    start: date = MONDAY,
    end: date | None = None,
    arrangement: Arrangement = Arrangement.TELEWORK,
    chain: tuple[str, ...] = CHAIN,
    **extra: Any,
) -> tuple[Status, str]:
    end = end or start + timedelta(days=len(codes) - 1)
    binding = binding_directive([rules], chain, arrangement, end)
    found = decide_status(StatusInputs(binding, start, end, evidence(start, codes), **extra))
    return found.status, found.reason


@pytest.mark.parametrize(
    ("codes", "status"),
    [
        ("OOOOO--", Status.COMPLIANT),
        ("OOOOT--", Status.NON_COMPLIANT),
        ("hhhhh--", Status.NON_COMPLIANT),
        ("RRRRR--", Status.NON_COMPLIANT),
    ],
    ids=["full_week_on_site", "one_telework_day", "half_days", "remote_all_week"],
)
def test_full_time_order_needs_every_hour_on_site(codes: str, status: Status) -> None:
    assert decide(codes)[0] is status


def test_a_shortfall_is_explained_with_the_share_and_the_directive() -> None:
    status, reason = decide("OOOOT--")
    assert status is Status.NON_COMPLIANT
    assert reason == (
        "80.0% of hours at the duty station (32 of 40 h required): "
        "falls short of US-RTO-2025@1 (100% of hours on site)"
    )


def test_leave_and_holidays_leave_the_denominator() -> None:
    assert decide("OOOLH--")[0] is Status.COMPLIANT


def test_field_work_counts_as_at_the_duty_station() -> None:
    assert decide("OOFFF--")[0] is Status.COMPLIANT


def test_scheduled_hours_with_no_record_count_against() -> None:
    assert decide("OOOOx--")[0] is Status.NON_COMPLIANT


def test_overtime_teleworked_counts_against_a_full_time_order() -> None:
    days = evidence(MONDAY, "OOOOO--")
    days[5] = DayEvidence(days[5].day, 0.0, hours_off_site=4.0)  # Saturday, from home
    binding = binding_directive([FULL_TIME], CHAIN, Arrangement.TELEWORK, SUNDAY)
    found = decide_status(StatusInputs(binding, MONDAY, SUNDAY, days))
    assert found.status is Status.NON_COMPLIANT
    assert found.measurement is not None and found.measurement.share == pytest.approx(40 / 44)


def test_a_week_of_leave_meets_any_requirement() -> None:
    status, reason = decide("LLLLL--")
    assert status is Status.COMPLIANT
    assert "no hours required or worked" in reason


# --- exemptions ---------------------------------------------------------------------------


def test_an_exemption_covering_the_whole_period_is_exempt() -> None:
    exemption = ApprovedExemption(COMPELLING, date(2025, 2, 1), date(2025, 6, 30))
    status, reason = decide("TTTTT--", exemptions=[exemption])
    assert status is Status.EXEMPT
    assert reason == (
        "approved exemption (compelling_reason) from 2025-02-01 to 2025-06-30 under US-RTO-2025@1"
    )


def test_expired_exemption_stops_covering_the_next_day() -> None:
    exemption = ApprovedExemption(COMPELLING, date(2025, 2, 1), date(2025, 3, 5))  # a Wednesday
    wednesday, thursday = date(2025, 3, 5), date(2025, 3, 6)
    assert decide("T", start=wednesday, exemptions=[exemption])[0] is Status.EXEMPT
    assert decide("T", start=thursday, exemptions=[exemption])[0] is Status.NON_COMPLIANT


def test_an_exemption_starting_tomorrow_does_not_cover_today() -> None:
    exemption = ApprovedExemption(COMPELLING, date(2025, 3, 4))
    assert decide("T", exemptions=[exemption])[0] is Status.NON_COMPLIANT


def test_partial_exemption_leaves_the_rest_of_the_period_to_be_judged() -> None:
    exemption = ApprovedExemption(COMPELLING, date(2025, 2, 1), date(2025, 3, 5))
    status, reason = decide("TTTOO--", exemptions=[exemption])
    assert status is Status.COMPLIANT
    assert "exemption covered 3 day(s) of the period" in reason
    assert decide("TTTTO--", exemptions=[exemption])[0] is Status.NON_COMPLIANT


def test_partial_exemption_with_the_rest_on_leave_is_exempt() -> None:
    exemption = ApprovedExemption(COMPELLING, date(2025, 2, 1), date(2025, 3, 5))
    assert decide("TTTLL--", exemptions=[exemption])[0] is Status.EXEMPT


def test_an_exemption_in_a_category_the_directive_does_not_allow_does_not_excuse() -> None:
    exemption = ApprovedExemption(ExemptionCategory.LACK_OF_OFFICE_SPACE, date(2025, 2, 1))
    status, reason = decide("TTTTT--", exemptions=[exemption])
    assert status is Status.NON_COMPLIANT
    assert "approved exemption (lack_of_office_space) is not a category US-RTO-2025@1 allows" in (
        reason
    )


@pytest.mark.parametrize(
    "category",
    [ExemptionCategory.MEDICAL_CONDITION, ExemptionCategory.DISABILITY_ACCOMMODATION],
)
def test_exemption_reasons_never_name_medical_or_disability_categories(
    category: ExemptionCategory,
) -> None:
    status, reason = decide("TTTTT--", exemptions=[ApprovedExemption(category, MONDAY)])
    assert status is Status.EXEMPT
    assert "confidential category" in reason
    assert "medical" not in reason and "disability" not in reason


# --- pending requests --------------------------------------------------------------------


def test_pending_request_is_reported_as_pending_not_as_compliant() -> None:
    pending = [PendingRequest(COMPELLING, date(2025, 2, 25))]
    assert decide("OOOOO--", pending=pending)[0] is Status.PENDING_EXEMPTION


def test_pending_request_states_the_shortfall_measured_meanwhile() -> None:
    status, reason = decide("TTTTT--", pending=[PendingRequest(COMPELLING, date(2025, 2, 25))])
    assert status is Status.PENDING_EXEMPTION
    assert "exemption request pending since 2025-02-25" in reason
    assert "0.0% of hours at the duty station" in reason


def test_a_request_filed_after_the_period_does_not_change_it() -> None:
    pending = [PendingRequest(COMPELLING, date(2025, 3, 10))]
    assert decide("TTTTT--", pending=pending)[0] is Status.NON_COMPLIANT


# --- agreements -------------------------------------------------------------------------

CBA = AgreementCoverage(
    "EEU-L1", Requirement(days_per_pay_period=4), date(2023, 10, 1), date(2026, 9, 30)
)
PAY_PERIOD = (date(2025, 3, 9), date(2025, 3, 22))  # 2025-PP05


@pytest.mark.parametrize(
    ("codes", "status"),
    [
        ("-OOTTT--OOTTT-", Status.COVERED_BY_AGREEMENT),
        ("-OTTTT--OTTTT-", Status.NON_COMPLIANT),
        ("-OOOOO--OOOOO-", Status.COVERED_BY_AGREEMENT),
    ],
    ids=["terms_met", "terms_not_met_fall_back_to_the_directive", "full_time_also_meets_terms"],
)
def test_agreement_terms_met_are_covered_by_agreement(codes: str, status: Status) -> None:
    found, reason = decide(codes, start=PAY_PERIOD[0], agreements=[CBA])
    assert found is status
    if status is Status.COVERED_BY_AGREEMENT:
        assert reason.startswith("covered by agreement EEU-L1 (4 days on site per pay period)")


def test_an_agreement_that_ended_before_the_period_end_does_not_cover() -> None:
    ended = AgreementCoverage(
        "ECG-3", Requirement(days_per_pay_period=2), date(2022, 7, 1), date(2025, 3, 20)
    )
    assert decide("-OOTTT--OOTTT-", start=PAY_PERIOD[0], agreements=[ended])[0] is (
        Status.NON_COMPLIANT
    )


# --- deadlines and scope ----------------------------------------------------------------


def test_before_the_deadline_a_shortfall_is_not_yet_due() -> None:
    status, reason = decide("OOTTT--", start=date(2025, 2, 10))
    assert status is Status.NOT_YET_DUE
    assert reason.startswith("US-RTO-2025@1 requires 100% of hours on site from 2025-02-21")


def test_before_the_deadline_meeting_the_requirement_is_already_compliant() -> None:
    assert decide("OOOOO--", start=date(2025, 2, 10))[0] is Status.COMPLIANT


def test_a_period_straddling_the_deadline_is_judged_from_the_deadline_on() -> None:
    # Week of Monday 2025-02-17: Tue-Thu telework before the deadline, Friday 21st on site.
    assert decide("HTTTO--", start=date(2025, 2, 17))[0] is Status.COMPLIANT
    assert decide("HOOOT--", start=date(2025, 2, 17))[0] is Status.NON_COMPLIANT


def test_days_before_the_effective_date_are_not_judged() -> None:
    rules = directive(deadlines={})
    # Week of 2025-01-13: effective Monday 20th, so this week is before it entirely.
    binding = binding_directive([rules], CHAIN, Arrangement.TELEWORK, date(2025, 1, 20))
    days = evidence(date(2025, 1, 14), "TTTT-")
    found = decide_status(StatusInputs(binding, date(2025, 1, 14), date(2025, 1, 18), days))
    assert found.status is Status.NOT_IN_SCOPE
    assert found.reason == "US-RTO-2025@1 is not in force during the period"
    # The week of the effective date is judged from the 20th on (a holiday that year).
    week = evidence(date(2025, 1, 20), "HOOOO--")
    found = decide_status(StatusInputs(binding, date(2025, 1, 20), date(2025, 1, 26), week))
    assert found.status is Status.COMPLIANT


def test_unit_not_bound_is_reported_with_its_legal_basis_not_as_non_compliance() -> None:
    status, reason = decide("TTTTT--", chain=("DEA-OIG", "DEA"))
    assert status is Status.NOT_IN_SCOPE
    assert reason == "DEA-OIG is not bound by US-RTO-2025@1: legal impediment: IG Act"


def test_not_in_scope_when_no_directive_holds_the_person() -> None:
    nobody = Binding(BindingKind.NOT_IN_SCOPE, "no directive in force on 2025-03-09 covers this")
    found = decide_status(StatusInputs(nobody, MONDAY, SUNDAY, evidence(MONDAY, "TTTTT--")))
    assert found.status is Status.NOT_IN_SCOPE and found.directive is None


def test_field_staff_presumed_compliant_need_no_evidence() -> None:
    status, reason = decide("xxxxx--", arrangement=Arrangement.FIELD)
    assert status is Status.COMPLIANT
    assert reason.startswith("presumed compliant by US-RTO-2025@1")


def test_stricter_of_two_directives_binds() -> None:
    binding = binding_directive([THREE_DAYS, FULL_TIME], CHAIN, Arrangement.TELEWORK, SUNDAY)
    found = decide_status(StatusInputs(binding, MONDAY, SUNDAY, evidence(MONDAY, "OOOTT--")))
    assert found.status is Status.NON_COMPLIANT
    assert found.directive == "US-RTO-2025@1"


# --- days requirements ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codes", "rules", "status"),
    [
        ("OOOTT--", THREE_DAYS, Status.COMPLIANT),
        ("OOTTT--", THREE_DAYS, Status.NON_COMPLIANT),
        ("OOFTT--", THREE_DAYS, Status.COMPLIANT),
        ("LLLOO--", THREE_DAYS, Status.COMPLIANT),
        ("LLLOT--", THREE_DAYS, Status.NON_COMPLIANT),
        ("-OOTTT--OOTTT-", FOUR_PER_PAY_PERIOD, Status.COMPLIANT),
        ("-OTTTT--OTTTT-", FOUR_PER_PAY_PERIOD, Status.NON_COMPLIANT),
    ],
    ids=[
        "three_days_on_site_meet_three_days_a_week",
        "two_days_do_not",
        "a_field_day_is_a_day_on_site",
        "the_days_required_are_capped_by_the_workdays_left_after_leave",
        "one_day_of_two_left_after_leave_is_short",
        "four_days_in_a_pay_period",
        "two_days_in_a_pay_period",
    ],
)
def test_days_requirements_count_days_at_the_duty_station(
    codes: str, rules: Directive, status: Status
) -> None:
    start = MONDAY if len(codes) == 7 else PAY_PERIOD[0]
    assert decide(codes, rules, start=start)[0] is status


@pytest.mark.parametrize(
    ("requirement", "period_days", "required"),
    [
        (Requirement(days_per_week=3), 7, 3),
        (Requirement(days_per_week=3), 14, 6),
        (Requirement(days_per_week=3), 1, 1),
        (Requirement(days_per_pay_period=2), 7, 1),
        (Requirement(days_per_pay_period=3), 7, 2),
    ],
)
def test_days_requirements_are_prorated_to_the_period_and_rounded_up(
    requirement: Requirement, period_days: int, required: int
) -> None:
    days = evidence(PAY_PERIOD[0], "-OOOOO--OOOOO-")
    assert measure(requirement, days, period_days).days_required == required


def test_a_days_requirement_on_a_day_without_required_hours_requires_nothing() -> None:
    assert decide("-", THREE_DAYS, start=date(2025, 3, 9))[0] is Status.COMPLIANT


@pytest.mark.parametrize(("days", "keeps"), [(0, False), (1, False), (2, True), (5, True)])
def test_teleworkers_keep_their_duty_station_with_two_days_a_pay_period(
    days: int, keeps: bool
) -> None:
    assert duty_station_test(days) is keeps


def test_the_duty_station_test_threshold_comes_from_the_directive() -> None:
    assert duty_station_test(2, required=3) is False
