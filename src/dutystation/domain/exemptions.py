"""The exemption workflow's rules, as pure functions over plain values (docs/exemptions.md).

A request moves through these states; every other move is illegal and raises:

    submitted ──certify (every required certifier approves)──> approved
    submitted ──certify (any required certifier denies)──────> denied
    submitted ──withdraw─────────────────────────────────────> withdrawn
    approved  ──revoke (coverage ends from a date)───────────> revoked
    approved  ──expire (its end date has passed)─────────────> expired

A certification that is not the last one leaves the request ``submitted``. Who must
certify comes from the directive binding the employee on the requested start date
(``exemptions.certification_required_by``; the supervisor alone when it names nobody),
and is pinned on the request when it is filed. Separation of duties (NIST AC-5):

- nobody certifies their own request, nor a request they filed for someone else (the
  person who asks does not decide: a supervisor who files for a report leaves the
  supervisor's certification to another supervisor above that report);
- one person gives at most one certification per request, even when they hold two
  certifying roles.

Coverage: an approved or expired request covers its approved dates; a revoked one covers
its approved dates up to the day before ``revoked_from``; a submitted one claims its
requested dates (open-ended when the request named no end). One person's covering
requests never overlap.

Refusals are exceptions carrying one sentence for the user: ``InvalidRequest`` (the values
are wrong), ``Refused`` (they contradict stored state) and ``NotPermitted`` (the actor may
not do this to this request). Services translate them into ``dutystation.errors``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from dutystation.domain.access import Role
from dutystation.domain.directive import Certifier, ExemptionCategory

DEFAULT_MAX_DAYS = 365
# The category group reports, lists and non-medical views show: medical and disability
# categories are never named outside the medical store (29 CFR 1630.14); the others are
# their own group.
MEDICAL_GROUP = "medical_disability"
# Who certifies as what: the role an actor holds decides which certification they give.
CERTIFIER_OF_ROLE: Mapping[Role, Certifier] = {
    Role.SUPERVISOR: Certifier.SUPERVISOR,
    Role.CERTIFYING_OFFICIAL: Certifier.AGENCY_HEAD,
    Role.LEADER: Certifier.COMPONENT_HEAD,
    Role.TMO: Certifier.TELEWORK_MANAGING_OFFICER,
}
ROLE_OF_CERTIFIER: Mapping[Certifier, Role] = {c: r for r, c in CERTIFIER_OF_ROLE.items()}
# Said in sentences: "the supervisor's certification".
CERTIFIER_WORDS: Mapping[Certifier, str] = {
    Certifier.SUPERVISOR: "supervisor",
    Certifier.AGENCY_HEAD: "agency head",
    Certifier.COMPONENT_HEAD: "component head",
    Certifier.TELEWORK_MANAGING_OFFICER: "telework managing officer",
}


class RequestStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"
    EXPIRED = "expired"


class Decision(StrEnum):
    APPROVE = "approve"
    DENY = "deny"


class Action(StrEnum):
    CERTIFY = "certify"
    WITHDRAW = "withdraw"
    REVOKE = "revoke"
    EXPIRE = "expire"


S = RequestStatus
TRANSITIONS: Mapping[S, Mapping[Action, frozenset[S]]] = {
    S.SUBMITTED: {
        Action.CERTIFY: frozenset({S.SUBMITTED, S.APPROVED, S.DENIED}),
        Action.WITHDRAW: frozenset({S.WITHDRAWN}),
    },
    S.APPROVED: {Action.REVOKE: frozenset({S.REVOKED}), Action.EXPIRE: frozenset({S.EXPIRED})},
    S.DENIED: {},
    S.WITHDRAWN: {},
    S.REVOKED: {},
    S.EXPIRED: {},
}
COVERING = frozenset({S.SUBMITTED, S.APPROVED, S.EXPIRED, S.REVOKED})
RENEWABLE = frozenset({S.APPROVED, S.EXPIRED})


class WorkflowRefusal(Exception):
    """The workflow refuses a change; ``str(self)`` is one sentence for the user."""


class InvalidRequest(WorkflowRefusal):
    """The values given are wrong whatever is stored (an end before the start)."""


class Refused(WorkflowRefusal):
    """The change contradicts stored state (decided already, overlapping)."""


class NotPermitted(WorkflowRefusal):
    """The actor may not do this to this request (their own, or filed by them)."""


def category_group(category: ExemptionCategory) -> str:
    return MEDICAL_GROUP if category.confidential else category.value


def check_transition(request_id: int, status: S, action: Action) -> None:
    if action not in TRANSITIONS[status]:
        if status is S.SUBMITTED:
            raise Refused(
                f"request {request_id} is still pending; only an approved exemption can "
                f"{_verb(action)}"
            )
        raise Refused(f"request {request_id} is already {status}; it cannot {_verb(action)}")


def _verb(action: Action) -> str:
    return {
        Action.CERTIFY: "be decided again",
        Action.WITHDRAW: "be withdrawn",
        Action.REVOKE: "be revoked",
        Action.EXPIRE: "expire",
    }[action]


@dataclass(frozen=True)
class Span:
    """Days from ``start`` to ``end``, both included; ``end`` None: open-ended."""

    start: date
    end: date | None

    def overlaps(self, other: Span) -> bool:
        return (self.end is None or other.start <= self.end) and (
            other.end is None or self.start <= other.end
        )

    @property
    def days(self) -> int | None:
        return None if self.end is None else (self.end - self.start).days + 1

    def describe(self) -> str:
        end = self.end.isoformat() if self.end else "an open end"
        return f"{self.start.isoformat()} to {end}"


@dataclass(frozen=True)
class RequestFacts:
    """What the rules need to know about one stored request."""

    id: int
    employee_pk: int
    category: ExemptionCategory
    status: S
    requested: Span
    required: tuple[Certifier, ...]
    filed_by_user_id: int | None = None
    approved: Span | None = None  # set once approved (kept when expired or revoked)
    revoked_from: date | None = None  # first day no longer covered

    @property
    def coverage(self) -> Span | None:
        """The days this request covers (approved) or claims (submitted), if any."""
        if self.status is S.SUBMITTED:
            return self.requested
        if self.status not in COVERING or self.approved is None:
            return None
        if self.status is S.REVOKED and self.revoked_from is not None:
            last = self.revoked_from - timedelta(days=1)
            end = last if self.approved.end is None else min(last, self.approved.end)
            return Span(self.approved.start, end) if end >= self.approved.start else None
        return self.approved


@dataclass(frozen=True)
class Certification:
    certifier: Certifier
    user_id: int | None
    decision: Decision
    approves: Span | None = None  # the dates an approval agrees to


@dataclass(frozen=True)
class CertifierFacts:
    """Who is certifying: their user account and their own employee record."""

    user_id: int | None
    employee_pk: int | None


def required_certifiers(named: Iterable[Certifier]) -> tuple[Certifier, ...]:
    """The directive's ``certification_required_by``, or the supervisor alone."""
    found = tuple(dict.fromkeys(named))
    return found or (Certifier.SUPERVISOR,)


def check_span(span: Span, max_days: int, *, what: str = "request") -> None:
    if span.end is not None and span.end < span.start:
        raise InvalidRequest(
            f"the end date {span.end.isoformat()} is before the start date {span.start.isoformat()}"
        )
    if span.days is not None and span.days > max_days:
        raise InvalidRequest(
            f"an exemption {what} may cover at most {max_days} days ({span.describe()} is "
            f"{span.days}); ask for less and renew it"
        )


def check_category(
    category: ExemptionCategory, allowed: Sequence[ExemptionCategory], directive_ref: str
) -> None:
    if category not in allowed:
        known = ", ".join(c.value for c in allowed) or "none"
        raise InvalidRequest(
            f"{directive_ref} does not allow exemptions in the category {category.value} "
            f"(it allows: {known})"
        )


def check_no_overlap(
    employee: str, span: Span, others: Iterable[RequestFacts], *, ignore: int | None = None
) -> None:
    for other in others:
        covered = other.coverage
        if other.id != ignore and covered is not None and covered.overlaps(span):
            raise Refused(
                f"employee {employee} already has an exemption or pending request "
                f"(request {other.id}, {covered.describe()}) overlapping {span.describe()}"
            )


def renewal_start(old: RequestFacts) -> date:
    """A renewal starts, at the earliest, the day after the renewed exemption ends."""
    if old.status not in RENEWABLE:
        raise Refused(
            f"request {old.id} is {old.status}; only an approved or expired exemption "
            "can be renewed"
        )
    covered = old.coverage
    if covered is None or covered.end is None:  # approvals always carry an end
        raise Refused(f"request {old.id} has no end date to renew from")
    return covered.end + timedelta(days=1)


def check_certifier(
    request: RequestFacts,
    certifier: Certifier,
    who: CertifierFacts,
    given: Sequence[Certification],
) -> None:
    """Whether ``who`` may give ``certifier``'s certification on ``request`` now."""
    check_transition(request.id, request.status, Action.CERTIFY)
    if who.employee_pk is not None and who.employee_pk == request.employee_pk:
        raise NotPermitted("nobody may certify their own exemption request")
    if who.user_id is not None and who.user_id == request.filed_by_user_id:
        raise NotPermitted(f"you filed request {request.id}; another person must certify it")
    if certifier not in request.required:
        needed = ", ".join(CERTIFIER_WORDS[c] for c in request.required)
        raise Refused(
            f"request {request.id} needs no certification by a {CERTIFIER_WORDS[certifier]} "
            f"(required: {needed})"
        )
    for item in given:
        if item.certifier is certifier:
            raise Refused(
                f"request {request.id} already has the {CERTIFIER_WORDS[certifier]}'s certification"
            )
        if who.user_id is not None and item.user_id == who.user_id:
            raise NotPermitted(
                f"you already certified request {request.id} as "
                f"{CERTIFIER_WORDS[item.certifier]}; each certification needs another person"
            )


def approved_dates(
    request: RequestFacts, proposed: Span | None, given: Sequence[Certification], max_days: int
) -> Span:
    """The dates an approving certification agrees to: ``proposed`` or the requested
    dates, inside the requested dates, with an end, and overlapping what earlier approvals
    agreed to (the approval keeps the days every certifier agreed to)."""
    span = proposed or request.requested
    if span.end is None:
        raise InvalidRequest(
            f"request {request.id} names no end date; an approval carries one (give --end)"
        )
    check_span(span, max_days, what="approval")
    asked = request.requested
    if span.start < asked.start or (asked.end is not None and span.end > asked.end):
        raise InvalidRequest(
            f"the approved dates {span.describe()} must lie within the requested dates "
            f"{asked.describe()}"
        )
    agreed = _intersection([span, *(c.approves for c in given if c.approves is not None)])
    if agreed is None:
        raise InvalidRequest(
            f"the approved dates {span.describe()} do not overlap the dates already "
            f"certified for request {request.id}"
        )
    return span


def _intersection(spans: Sequence[Span]) -> Span | None:
    start = max(s.start for s in spans)
    ends = [s.end for s in spans if s.end is not None]
    end = min(ends) if ends else None
    return Span(start, end) if end is None or end >= start else None


@dataclass(frozen=True)
class Outcome:
    status: S
    approved: Span | None = None


def outcome(required: Sequence[Certifier], given: Sequence[Certification]) -> Outcome:
    """Denied as soon as one required certifier denies; approved once every required
    certifier has approved, for the days all of them agreed to; else still submitted."""
    by_certifier = {c.certifier: c for c in given if c.certifier in required}
    if any(c.decision is Decision.DENY for c in by_certifier.values()):
        return Outcome(S.DENIED)
    if all(c in by_certifier for c in required):
        spans = [c.approves for c in by_certifier.values() if c.approves is not None]
        agreed = _intersection(spans) if spans else None
        if agreed is None or agreed.end is None:
            # check_certifier and approved_dates make this unreachable for stored data.
            raise Refused("the certifications agree on no dates with an end")
        return Outcome(S.APPROVED, agreed)
    return Outcome(S.SUBMITTED)


def check_withdraw(request: RequestFacts) -> None:
    check_transition(request.id, request.status, Action.WITHDRAW)


def check_revoke(request: RequestFacts, from_day: date, reason: str) -> None:
    check_transition(request.id, request.status, Action.REVOKE)
    approved = request.approved
    if approved is None:  # an approved request always has its dates
        raise Refused(f"request {request.id} has no approved dates")
    if not reason.strip():
        raise InvalidRequest("a revocation needs a reason")
    if from_day < approved.start or (approved.end is not None and from_day > approved.end):
        raise InvalidRequest(
            f"the revocation date {from_day.isoformat()} must fall within the approved dates "
            f"{approved.describe()}"
        )


def due_to_expire(request: RequestFacts, today: date) -> bool:
    """An approved exemption whose last day is before ``today`` expires."""
    approved = request.approved
    return (
        request.status is S.APPROVED
        and approved is not None
        and approved.end is not None
        and approved.end < today
    )


def check_reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise InvalidRequest("a decision needs a reason")
    return text
