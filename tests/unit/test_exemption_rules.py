"""The exemption workflow's rules (domain/exemptions.py) on plain values: legal moves,
required certifications, separation of duties, dates, overlap, renewal, expiry and
revocation."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from dutystation.domain.directive import Certifier, ExemptionCategory
from dutystation.domain.exemptions import (
    MEDICAL_GROUP,
    Action,
    Certification,
    CertifierFacts,
    Decision,
    InvalidRequest,
    NotPermitted,
    Refused,
    RequestFacts,
    RequestStatus,
    Span,
    approved_dates,
    category_group,
    check_category,
    check_certifier,
    check_no_overlap,
    check_revoke,
    check_span,
    check_transition,
    due_to_expire,
    outcome,
    renewal_start,
    required_certifiers,
)

S = RequestStatus
SUP, HEAD = Certifier.SUPERVISOR, Certifier.AGENCY_HEAD
FEB = Span(date(2025, 2, 1), date(2025, 3, 31))
REQUEST = RequestFacts(
    id=7,
    employee_pk=1,
    category=ExemptionCategory.MEDICAL_CONDITION,
    status=S.SUBMITTED,
    requested=FEB,
    required=(HEAD, SUP),
    filed_by_user_id=10,
)
SUPERVISOR = CertifierFacts(user_id=20, employee_pk=2)
OFFICIAL = CertifierFacts(user_id=30, employee_pk=3)


def approval(certifier: Certifier, user: int, span: Span = FEB) -> Certification:
    return Certification(certifier, user, Decision.APPROVE, span)


def test_medical_and_disability_categories_share_one_group_and_others_are_their_own() -> None:
    assert category_group(ExemptionCategory.DISABILITY_ACCOMMODATION) == MEDICAL_GROUP
    assert category_group(ExemptionCategory.PHYSICAL_INCAPACITY) == MEDICAL_GROUP
    assert category_group(ExemptionCategory.LACK_OF_OFFICE_SPACE) == "lack_of_office_space"


def test_a_directive_naming_no_certifier_needs_the_supervisor_alone() -> None:
    assert required_certifiers(()) == (SUP,)
    assert required_certifiers([HEAD, SUP, HEAD]) == (HEAD, SUP)


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (S.SUBMITTED, Action.REVOKE),
        (S.SUBMITTED, Action.EXPIRE),
        (S.APPROVED, Action.CERTIFY),
        (S.APPROVED, Action.WITHDRAW),
        (S.DENIED, Action.CERTIFY),
        (S.WITHDRAWN, Action.WITHDRAW),
        (S.REVOKED, Action.REVOKE),
        (S.EXPIRED, Action.REVOKE),
    ],
)
def test_illegal_moves_are_refused_with_one_sentence(status: S, action: Action) -> None:
    with pytest.raises(Refused, match=r"^request 7 is "):
        check_transition(7, status, action)


def test_a_decided_request_cannot_be_decided_again() -> None:
    with pytest.raises(Refused, match="request 7 is already approved; it cannot be decided again"):
        check_certifier(replace(REQUEST, status=S.APPROVED), SUP, SUPERVISOR, [])


def test_nobody_certifies_their_own_request_nor_one_they_filed() -> None:
    with pytest.raises(NotPermitted, match="their own"):
        check_certifier(REQUEST, SUP, CertifierFacts(user_id=99, employee_pk=1), [])
    with pytest.raises(NotPermitted, match="you filed request 7"):
        check_certifier(REQUEST, SUP, CertifierFacts(user_id=10, employee_pk=5), [])


def test_one_person_gives_at_most_one_certification_per_request() -> None:
    given = [approval(SUP, SUPERVISOR.user_id or 0)]
    with pytest.raises(NotPermitted, match="already certified request 7 as supervisor"):
        check_certifier(REQUEST, HEAD, SUPERVISOR, given)


def test_a_certification_the_directive_does_not_require_is_refused() -> None:
    with pytest.raises(Refused, match="needs no certification by a component head"):
        check_certifier(REQUEST, Certifier.COMPONENT_HEAD, OFFICIAL, [])


def test_each_certifier_certifies_once() -> None:
    with pytest.raises(Refused, match="already has the supervisor's certification"):
        check_certifier(REQUEST, SUP, OFFICIAL, [approval(SUP, 20)])


def test_approved_only_when_every_required_certifier_approved() -> None:
    assert outcome(REQUEST.required, [approval(SUP, 20)]).status is S.SUBMITTED
    done = outcome(REQUEST.required, [approval(SUP, 20), approval(HEAD, 30)])
    assert done.status is S.APPROVED
    assert done.approved == FEB


def test_any_denial_denies() -> None:
    denial = Certification(HEAD, 30, Decision.DENY)
    assert outcome(REQUEST.required, [approval(SUP, 20), denial]).status is S.DENIED
    assert outcome(REQUEST.required, [denial]).status is S.DENIED


def test_the_approval_keeps_the_days_every_certifier_agreed_to() -> None:
    march = Span(date(2025, 3, 1), date(2025, 3, 31))
    done = outcome(REQUEST.required, [approval(SUP, 20), approval(HEAD, 30, march)])
    assert done.approved == march


def test_approved_dates_lie_within_the_requested_ones_and_carry_an_end() -> None:
    with pytest.raises(InvalidRequest, match="must lie within the requested dates"):
        approved_dates(REQUEST, Span(date(2025, 1, 1), date(2025, 2, 10)), [], 365)
    open_ended = replace(REQUEST, requested=Span(date(2025, 2, 1), None))
    with pytest.raises(InvalidRequest, match="an approval carries one"):
        approved_dates(open_ended, None, [], 365)
    assert approved_dates(open_ended, FEB, [], 365) == FEB


def test_approved_dates_must_overlap_what_earlier_certifiers_agreed_to() -> None:
    early = Span(date(2025, 2, 1), date(2025, 2, 10))
    late = Span(date(2025, 3, 1), date(2025, 3, 10))
    with pytest.raises(InvalidRequest, match="do not overlap"):
        approved_dates(REQUEST, late, [approval(SUP, 20, early)], 365)


def test_an_end_before_the_start_and_too_long_a_span_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="the end date 2025-01-01 is before the start date"):
        check_span(Span(date(2025, 2, 1), date(2025, 1, 1)), 365)
    with pytest.raises(InvalidRequest, match="at most 30 days"):
        check_span(Span(date(2025, 2, 1), date(2025, 3, 31)), 30)
    check_span(Span(date(2025, 2, 1), date(2025, 3, 2)), 30)  # exactly 30 days


def test_a_category_the_directive_does_not_allow_is_refused_naming_the_allowed_ones() -> None:
    allowed = (ExemptionCategory.MEDICAL_CONDITION, ExemptionCategory.COMPELLING_REASON)
    with pytest.raises(InvalidRequest, match=r"US-RTO-2025@1 does not allow .*lack_of_office"):
        check_category(ExemptionCategory.LACK_OF_OFFICE_SPACE, allowed, "US-RTO-2025@1")


def test_covering_requests_of_one_person_may_not_overlap_but_may_touch() -> None:
    approved = replace(REQUEST, status=S.APPROVED, approved=FEB)
    with pytest.raises(Refused, match=r"request 7, 2025-02-01 to 2025-03-31"):
        check_no_overlap("E1", Span(date(2025, 3, 31), date(2025, 4, 30)), [approved])
    check_no_overlap("E1", Span(date(2025, 4, 1), date(2025, 4, 30)), [approved])
    denied = replace(REQUEST, status=S.DENIED)
    check_no_overlap("E1", FEB, [denied])


def test_a_pending_request_without_an_end_claims_every_later_day() -> None:
    open_ended = replace(REQUEST, requested=Span(date(2025, 2, 1), None))
    with pytest.raises(Refused):
        check_no_overlap("E1", Span(date(2026, 1, 1), date(2026, 1, 2)), [open_ended])


def test_a_revoked_exemption_covers_up_to_the_day_before_its_revocation() -> None:
    revoked = replace(REQUEST, status=S.REVOKED, approved=FEB, revoked_from=date(2025, 3, 1))
    assert revoked.coverage == Span(date(2025, 2, 1), date(2025, 2, 28))
    from_start = replace(revoked, revoked_from=date(2025, 2, 1))
    assert from_start.coverage is None


def test_revocation_needs_an_approval_a_reason_and_a_day_within_it() -> None:
    approved = replace(REQUEST, status=S.APPROVED, approved=FEB)
    with pytest.raises(InvalidRequest, match="needs a reason"):
        check_revoke(approved, date(2025, 3, 1), " ")
    with pytest.raises(InvalidRequest, match="must fall within the approved dates"):
        check_revoke(approved, date(2025, 4, 1), "returned early")
    with pytest.raises(Refused, match="still pending"):
        check_revoke(REQUEST, date(2025, 3, 1), "why")
    check_revoke(approved, date(2025, 3, 31), "returned early")


def test_an_approval_expires_once_its_last_day_has_passed() -> None:
    approved = replace(REQUEST, status=S.APPROVED, approved=FEB)
    assert not due_to_expire(approved, date(2025, 3, 31))
    assert due_to_expire(approved, date(2025, 4, 1))
    assert not due_to_expire(REQUEST, date(2030, 1, 1))


def test_a_renewal_starts_the_day_after_the_old_end_and_only_of_an_approval() -> None:
    approved = replace(REQUEST, status=S.APPROVED, approved=FEB)
    assert renewal_start(approved) == date(2025, 4, 1)
    assert renewal_start(replace(approved, status=S.EXPIRED)) == date(2025, 4, 1)
    with pytest.raises(Refused, match="only an approved or expired exemption can be renewed"):
        renewal_start(replace(REQUEST, status=S.DENIED))
