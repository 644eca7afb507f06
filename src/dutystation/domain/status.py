"""The status of one employee for one period (a day, an ISO week or a pay period).

``decide_status`` is pure arithmetic over plain values; the period evaluator and the DuckDB
roll-ups are checked against it. Precedence, first match wins (docs/directives.md,
"Status", says the same for users):

1. ``not_in_scope``: no directive holds the person, or their unit is **not bound** (the
   reason carries the legal basis; never reported as non-compliance).
2. ``compliant`` when the binding directive presumes the arrangement compliant
   (``scope.presumed_compliant``, e.g. field staff whose duties are the duty station).
3. ``exempt``: approved exemptions, in a category the directive allows, cover the period.
   An exemption covers only its dates (``end`` included, so it stops covering the next
   day). Covered days leave the period like leave; when they cover part of it, the rest
   is judged below, and when nothing required remains outside them, the status is exempt.
4. ``covered_by_agreement``: a CBA in force on the period's last day has terms the person
   meets over the uncovered days (its terms stay binding until renegotiated).
5. ``pending_exemption``: a request filed on or before the period's last day is pending.
   It never reads as compliant; the reason still states what was measured.
6. ``not_yet_due``: every judged day is before ``deadlines.full_compliance`` and the person
   does not already meet the requirement (if they do: ``compliant``).
7. ``compliant`` / ``non_compliant``: the requirement measured over the days on or after the
   full-compliance date (all in-force days when the directive sets none).

Measurement. Leave and holidays leave the denominator: ``hours_required`` of a day is its
scheduled hours minus leave and holiday hours. Hours at the duty station are on-site hours
plus field and official-travel hours. A share of hours is hours at the duty station divided
by the larger of hours required and hours worked (so unrecorded scheduled hours count
against, and overtime worked elsewhere counts too). Days requirements are prorated to the
period's calendar days, rounded up, and capped at the days with hours required. Nothing
required and nothing worked meets any requirement.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from dutystation.domain.calendar import days_between
from dutystation.domain.directive import (
    Binding,
    BindingKind,
    Directive,
    ExemptionCategory,
    Requirement,
)

_EPSILON = 1e-9  # float sums of hours: 0.1 + 0.2 must still meet 0.3


class Status(StrEnum):
    COMPLIANT = "compliant"
    NON_COMPLIANT = "non_compliant"
    EXEMPT = "exempt"
    PENDING_EXEMPTION = "pending_exemption"
    COVERED_BY_AGREEMENT = "covered_by_agreement"
    NOT_YET_DUE = "not_yet_due"
    NOT_IN_SCOPE = "not_in_scope"


@dataclass(frozen=True)
class ApprovedExemption:
    category: ExemptionCategory
    start: date
    end: date | None = None  # last day covered; None: until revoked

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    def describe(self) -> str:
        # Medical and disability categories are never named (DESIGN.md §5).
        what = "confidential category" if self.category.confidential else str(self.category)
        until = self.end.isoformat() if self.end else "further notice"
        return f"approved exemption ({what}) from {self.start.isoformat()} to {until}"


@dataclass(frozen=True)
class PendingRequest:
    category: ExemptionCategory
    filed: date


@dataclass(frozen=True)
class AgreementCoverage:
    """A CBA's hybrid terms for this employee, e.g. ``Requirement(days_per_pay_period=4)``."""

    agreement: str
    terms: Requirement
    start: date
    end: date | None = None

    def in_force_on(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class DayEvidence:
    """One day's hours. ``hours_required``: scheduled hours minus leave and holidays.
    ``hours_on_site``: T&A hours at a site that counts (the duty station, or any agency
    office when the directive's ``counts_at`` says so); hours at other sites belong in
    ``hours_off_site`` with telework (routine, situational) and remote hours."""

    day: date
    hours_required: float
    hours_on_site: float = 0.0
    hours_field_travel: float = 0.0
    hours_off_site: float = 0.0

    @property
    def hours_at_duty_station(self) -> float:
        # Field work and official travel count as at the duty station (DESIGN.md §5).
        return self.hours_on_site + self.hours_field_travel


@dataclass(frozen=True)
class Measurement:
    hours_required: float
    hours_at_duty_station: float
    hours_off_site: float
    share: float | None  # None when nothing was required or worked
    days_on_site: int
    days_required: int | None  # None for a share-of-hours requirement
    met: bool

    def describe(self) -> str:
        if self.days_required is not None:
            return f"{self.days_on_site} of {self.days_required} required days on site"
        if self.share is None:
            return "no hours required or worked"
        return (
            f"{self.share:.1%} of hours at the duty station "
            f"({self.hours_at_duty_station:g} of {self.hours_required:g} h required)"
        )


def measure(requirement: Requirement, days: Iterable[DayEvidence], period_days: int) -> Measurement:
    """The requirement measured over ``days``; ``period_days`` prorates days requirements."""
    days = list(days)
    required = sum(d.hours_required for d in days)
    at_station = sum(d.hours_at_duty_station for d in days)
    off_site = sum(d.hours_off_site for d in days)
    denominator = max(required, at_station + off_site)
    share = at_station / denominator if denominator > 0 else None
    days_on_site = sum(1 for d in days if d.hours_at_duty_station > 0)
    days_required: int | None = None
    if requirement.onsite_share_of_hours is not None:
        met = share is None or share + _EPSILON >= requirement.onsite_share_of_hours
    else:
        rate, base = (
            (requirement.days_per_week, 7)
            if requirement.days_per_week is not None
            else (requirement.days_per_pay_period or 0, 14)
        )
        prorated = math.ceil(rate * period_days / base - _EPSILON)
        workdays = sum(1 for d in days if d.hours_required > 0)
        days_required = min(prorated, workdays)
        met = days_on_site >= days_required
    return Measurement(required, at_station, off_site, share, days_on_site, days_required, met)


@dataclass(frozen=True)
class StatusInputs:
    """Everything ``decide_status`` needs for one employee and the period ``start..end``.
    ``binding`` is the result of ``binding_directive`` (as of the period's last day is the
    usual choice). Days of the period missing from ``days`` require nothing."""

    binding: Binding
    start: date
    end: date
    days: Sequence[DayEvidence] = ()
    exemptions: Sequence[ApprovedExemption] = ()
    pending: Sequence[PendingRequest] = ()
    agreements: Sequence[AgreementCoverage] = ()


@dataclass(frozen=True)
class Decision:
    status: Status
    reason: str
    directive: str | None = None  # ref of the binding (or not-binding) directive
    measurement: Measurement | None = None


def duty_station_test(days_on_site_in_pay_period: int, required: int = 2) -> bool:
    """A teleworker keeps their duty station (and its locality pay) by reporting there at
    least ``required`` days each biweekly pay period (5 CFR 531.605(d); DESIGN.md §7)."""
    return days_on_site_in_pay_period >= required


def decide_status(inputs: StatusInputs) -> Decision:
    """Status and a one-sentence reason for one employee and one period (module docstring)."""
    binding = inputs.binding
    if binding.kind is not BindingKind.BOUND or binding.directive is None:
        ref = binding.directive.ref if binding.directive else None
        return Decision(Status.NOT_IN_SCOPE, binding.reason, ref)
    directive = binding.directive
    ref = directive.ref
    period = [d for d in days_between(inputs.start, inputs.end) if directive.in_force_on(d)]
    if not period:
        return Decision(Status.NOT_IN_SCOPE, f"{ref} is not in force during the period", ref)
    if binding.presumed_compliant:
        reason = f"presumed compliant by {ref}: {binding.reason}"
        return Decision(Status.COMPLIANT, reason, ref)

    evidence = {e.day: e for e in inputs.days}
    allowed = [x for x in inputs.exemptions if x.category in directive.exemptions.categories]
    covered = {d for d in period if any(x.covers(d) for x in allowed)}
    judged = [evidence.get(d, DayEvidence(d, 0.0)) for d in period if d not in covered]
    note = _exemption_note(inputs.exemptions, allowed, covered, period, directive)
    if covered and not any(e.hours_required > 0 for e in judged):
        used = "; ".join(x.describe() for x in allowed if any(x.covers(d) for d in covered))
        return Decision(Status.EXEMPT, f"{used} under {ref}", ref)

    period_days = (inputs.end - inputs.start).days + 1
    for agreement in inputs.agreements:
        if agreement.in_force_on(inputs.end):
            kept = measure(agreement.terms, judged, period_days)
            if kept.met:
                reason = (
                    f"covered by agreement {agreement.agreement} "
                    f"({agreement.terms.describe()}): {kept.describe()}{note}"
                )
                return Decision(Status.COVERED_BY_AGREEMENT, reason, ref, kept)

    due_from = directive.deadlines.full_compliance or directive.effective
    due = [e for e in judged if e.day >= due_from]
    measured = measure(directive.requirement, due or judged, period_days)
    wanted = directive.requirement.describe()
    pending = [p for p in inputs.pending if p.filed <= inputs.end]
    if pending:
        first = min(p.filed for p in pending)
        reason = (
            f"exemption request pending since {first.isoformat()}; meanwhile "
            f"{measured.describe()}, {ref} requires {wanted}{note}"
        )
        return Decision(Status.PENDING_EXEMPTION, reason, ref, measured)
    if not due and not measured.met:
        reason = (
            f"{ref} requires {wanted} from {due_from.isoformat()}; "
            f"so far {measured.describe()}{note}"
        )
        return Decision(Status.NOT_YET_DUE, reason, ref, measured)
    status = Status.COMPLIANT if measured.met else Status.NON_COMPLIANT
    verb = "meets" if measured.met else "falls short of"
    reason = f"{measured.describe()}: {verb} {ref} ({wanted}){note}"
    return Decision(status, reason, ref, measured)


def _exemption_note(
    given: Sequence[ApprovedExemption],
    allowed: Sequence[ApprovedExemption],
    covered: set[date],
    period: Sequence[date],
    directive: Directive,
) -> str:
    parts = []
    if covered:
        parts.append(f"exemption covered {len(covered)} day(s) of the period")
    refused = [x for x in given if x not in allowed and any(x.covers(d) for d in period)]
    if refused:
        what = ", ".join(
            "a confidential category" if x.category.confidential else str(x.category)
            for x in refused
        )
        parts.append(f"approved exemption ({what}) is not a category {directive.ref} allows")
    return "".join(f"; {p}" for p in parts)
