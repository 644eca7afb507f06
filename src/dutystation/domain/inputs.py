"""What the evaluator is told about exemptions and agreements, per employee.

``domain/status.py`` judges one employee with ``ApprovedExemption``, ``PendingRequest`` and
``AgreementCoverage`` values; these records say whose they are and when a request stopped
being pending, so the same facts can be handed to the DuckDB evaluation for everyone at
once. Until the exemption workflow stores them they come from files
(``dutystation.evaluation_inputs``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from dutystation.domain.directive import ExemptionCategory, Requirement
from dutystation.domain.status import AgreementCoverage, ApprovedExemption, PendingRequest


@dataclass(frozen=True)
class EmployeeExemption:
    """An approved exemption of one employee."""

    employee_id: str
    exemption: ApprovedExemption


@dataclass(frozen=True)
class ExemptionRequest:
    """A request filed on ``filed``; undecided until ``decided_on`` (None: still undecided).

    It is pending for a period whose last day is ``end`` when it was filed on or before
    ``end`` and decided after it: a request decided later was still pending then."""

    employee_id: str
    category: ExemptionCategory
    filed: date
    decided_on: date | None = None

    def pending_at(self, end: date) -> bool:
        return self.filed <= end and (self.decided_on is None or self.decided_on > end)

    def as_pending(self) -> PendingRequest:
        return PendingRequest(self.category, self.filed)


@dataclass(frozen=True)
class Agreement:
    """A collective bargaining agreement covering the members of ``bargaining_unit`` from
    ``start`` to ``end`` (both included). ``terms``: its hybrid-work terms; None when it
    leaves telework to agency policy (the directive then applies in full).

    Stored agreements come as one record per unit and run of days over which the clause's
    legal status stays the same (``domain.agreements.evaluation_agreements``):
    ``legal_status`` is that status and ``name`` how reasons name the clause with it
    ("EEU-MA-2023 Art. 31 §4, disputed since 2025-02-03"); without a name, the bargaining
    unit names it."""

    bargaining_unit: str
    title: str
    start: date
    end: date | None
    terms: Requirement | None
    legal_status: str | None = None  # a domain.agreements.LegalStatus value
    name: str | None = None

    def coverage(self) -> AgreementCoverage | None:
        if self.terms is None:
            return None
        label = self.name or self.bargaining_unit
        return AgreementCoverage(label, self.terms, self.start, self.end)


@dataclass(frozen=True)
class EvaluationInputs:
    """Everything besides the roster, the events and the directives."""

    exemptions: tuple[EmployeeExemption, ...] = ()
    requests: tuple[ExemptionRequest, ...] = ()
    agreements: tuple[Agreement, ...] = ()
