"""Agreements and grievances in the domain: a clause's legal status on each day, the
evaluator's inputs cut where the status changes, telework caps, and the grievance
procedure's order of steps."""

from __future__ import annotations

from datetime import date

import pytest

from dutystation.domain.agreements import (
    AgreementFacts,
    AgreementOverlap,
    AgreementRuleError,
    Clause,
    HybridTerms,
    LegalStatus,
    StatusRecord,
    check_units_apart,
    evaluation_agreements,
    status_spans,
)
from dutystation.domain.directive import Requirement
from dutystation.domain.grievances import GrievanceHistory, GrievanceStatus, GrievanceStep

SIGNED_ON = date(2023, 10, 1)
OPM_MEMO = date(2025, 2, 3)
TWO_A_WEEK = HybridTerms(min_onsite_days_per_week=2)


def agreement(*statuses: StatusRecord, end: date | None = date(2026, 9, 30)) -> AgreementFacts:
    clause = Clause("Art. 31 §4", TWO_A_WEEK, statuses=statuses)
    return AgreementFacts("EEU-2023", "Master", "EEU", ("U1", "U2"), SIGNED_ON, end, (clause,))


def status(kind: LegalStatus, on: date, source: str = "OPM memo 2025-02-03") -> StatusRecord:
    return StatusRecord(kind, on, source)


def test_a_clause_has_on_each_day_the_status_of_its_latest_record_dated_on_or_before() -> None:
    clause = agreement(
        status(LegalStatus.DISPUTED, OPM_MEMO),
        status(LegalStatus.HELD_UNENFORCEABLE, date(2025, 6, 1), "FLRA decision"),
    ).clauses[0]
    assert clause.status_on(date(2024, 1, 1)) is None  # in force as signed
    assert clause.status_on(date(2025, 2, 2)) is None
    assert clause.status_on(OPM_MEMO).status is LegalStatus.DISPUTED  # type: ignore[union-attr]
    assert clause.status_on(date(2025, 5, 31)).status is LegalStatus.DISPUTED  # type: ignore[union-attr]
    found = clause.status_on(date(2025, 6, 1))
    assert found is not None and found.status is LegalStatus.HELD_UNENFORCEABLE


def test_a_correction_recorded_later_for_the_same_day_wins() -> None:
    clause = agreement(
        status(LegalStatus.HELD_UNENFORCEABLE, OPM_MEMO, "mistake"),
        status(LegalStatus.DISPUTED, OPM_MEMO, "correction"),
    ).clauses[0]
    found = clause.status_on(OPM_MEMO)
    assert found is not None and found.source == "correction"


def test_the_evaluator_gets_a_piece_per_unit_and_binding_status_and_none_once_unenforceable() -> (
    None
):
    facts = agreement(
        status(LegalStatus.DISPUTED, OPM_MEMO),
        status(LegalStatus.GRIEVANCE_FILED, date(2025, 3, 1), "grievance 1"),
        status(LegalStatus.HELD_UNENFORCEABLE, date(2025, 6, 1), "FLRA decision"),
    )
    pieces = [
        (a.bargaining_unit, a.start, a.end, a.legal_status) for a in evaluation_agreements(facts)
    ]
    assert pieces == [
        (unit, start, end, kind)
        for start, end, kind in (
            (SIGNED_ON, date(2025, 2, 2), "in_force"),
            (OPM_MEMO, date(2025, 2, 28), "disputed"),
            (date(2025, 3, 1), date(2025, 5, 31), "grievance_filed"),
        )
        for unit in ("U1", "U2")
    ]
    names = {a.name for a in evaluation_agreements(facts)}
    assert names == {
        "EEU-2023 Art. 31 §4",
        "EEU-2023 Art. 31 §4, disputed since 2025-02-03",
        "EEU-2023 Art. 31 §4, grievance filed since 2025-03-01",
    }
    coverage = evaluation_agreements(facts)[2].coverage()
    assert coverage is not None and coverage.agreement.endswith("disputed since 2025-02-03")
    spans = status_spans([facts])
    assert spans[-1].status is LegalStatus.HELD_UNENFORCEABLE and spans[-1].end == date(2026, 9, 30)


def test_a_clause_back_in_force_binds_again() -> None:
    facts = agreement(
        status(LegalStatus.HELD_UNENFORCEABLE, OPM_MEMO),
        status(LegalStatus.IN_FORCE, date(2025, 9, 1), "arbitration award"),
    )
    kept = [(a.start, a.end) for a in evaluation_agreements(facts) if a.bargaining_unit == "U1"]
    assert kept == [(SIGNED_ON, date(2025, 2, 2)), (date(2025, 9, 1), date(2026, 9, 30))]


def test_an_agreement_without_a_clause_covers_nobody() -> None:
    facts = AgreementFacts("ECG-2022", "Local", "ECG", ("U3",), SIGNED_ON, None)
    assert [a.terms for a in evaluation_agreements(facts)] == [None]


@pytest.mark.parametrize(("cap", "days"), [(0, 10), (4, 6), (6, 4), (9, 1)], ids=lambda v: str(v))
def test_a_telework_cap_becomes_the_on_site_minimum_of_a_standard_pay_period(
    cap: int, days: int
) -> None:
    terms = HybridTerms(max_telework_days_per_pay_period=cap)
    assert terms.requirement() == Requirement(days_per_pay_period=days)
    assert terms.describe().startswith(f"up to {cap} telework days per pay period")


def test_a_telework_cap_of_a_whole_pay_period_sets_no_minimum_and_is_refused() -> None:
    with pytest.raises(AgreementRuleError, match="sets no on-site minimum"):
        HybridTerms(max_telework_days_per_pay_period=10)


def test_a_clause_with_two_kinds_of_terms_is_refused() -> None:
    with pytest.raises(
        AgreementRuleError,
        match=r"exactly one kind of hybrid terms.*this one gives min_onsite_days_per_week and",
    ):
        HybridTerms.of({"min_onsite_days_per_week": 2, "max_telework_days_per_pay_period": 4})


def test_an_agreement_that_expires_before_it_takes_effect_is_refused() -> None:
    with pytest.raises(AgreementRuleError, match=r"expires \(2023-09-30\) before it takes effect"):
        agreement(end=date(2023, 9, 30))


def test_a_status_dated_before_the_agreement_is_refused() -> None:
    with pytest.raises(AgreementRuleError, match="before the agreement takes effect"):
        agreement(status(LegalStatus.DISPUTED, date(2023, 1, 1)))


def test_two_clauses_binding_on_the_same_day_are_refused() -> None:
    second = Clause("Art. 31 §5", HybridTerms(min_onsite_share_of_hours=0.4))
    with pytest.raises(AgreementOverlap, match="would both bind on 2023-10-01"):
        AgreementFacts(
            "EEU-2023", "M", "EEU", ("U1",), SIGNED_ON, None, (agreement().clauses[0], second)
        )


def test_two_agreements_of_one_unit_in_force_together_are_refused() -> None:
    later = AgreementFacts("EEU-2026", "M", "EEU", ("U2",), date(2026, 9, 1), None)
    with pytest.raises(AgreementOverlap, match="bargaining unit 'U2' are both in force"):
        check_units_apart([agreement(), later])
    check_units_apart(
        [agreement(), AgreementFacts("N", "M", "E", ("U2",), date(2026, 10, 1), None)]
    )


def test_a_grievance_moves_forward_through_the_procedure_and_stops_when_closed() -> None:
    filed = GrievanceStep(GrievanceStatus.FILED, date(2025, 2, 10))
    history = GrievanceHistory(date(2025, 2, 10), (filed,))
    history = history.then(GrievanceStatus.IN_PROGRESS, date(2025, 2, 24))
    history = history.then(GrievanceStatus.ARBITRATION, date(2025, 4, 1))
    assert history.status_on(date(2025, 3, 1)).status is GrievanceStatus.IN_PROGRESS  # type: ignore[union-attr]
    with pytest.raises(AgreementRuleError, match="cannot move to in_progress"):
        history.then(GrievanceStatus.IN_PROGRESS, date(2025, 4, 2))
    with pytest.raises(AgreementRuleError, match="before the last one"):
        history.then(GrievanceStatus.RESOLVED, date(2025, 3, 1))
    closed = history.then(GrievanceStatus.WITHDRAWN, date(2025, 5, 1))
    with pytest.raises(AgreementRuleError, match="already withdrawn"):
        closed.then(GrievanceStatus.RESOLVED, date(2025, 5, 2))
