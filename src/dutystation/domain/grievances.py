"""Grievances filed under a bargaining agreement about the directive: the steps of the
negotiated grievance procedure and the order they may come in (docs/agreements.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from dutystation.domain.agreements import AgreementRuleError


class GrievanceStatus(StrEnum):
    FILED = "filed"
    IN_PROGRESS = "in_progress"
    ARBITRATION = "arbitration"
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"

    @property
    def closed(self) -> bool:
        return self in (GrievanceStatus.RESOLVED, GrievanceStatus.WITHDRAWN)


# The negotiated grievance procedure moves forward only: informal steps, then arbitration;
# it ends resolved (with an outcome) or withdrawn.
NEXT: dict[GrievanceStatus, frozenset[GrievanceStatus]] = {
    GrievanceStatus.FILED: frozenset(
        {
            GrievanceStatus.IN_PROGRESS,
            GrievanceStatus.ARBITRATION,
            GrievanceStatus.RESOLVED,
            GrievanceStatus.WITHDRAWN,
        }
    ),
    GrievanceStatus.IN_PROGRESS: frozenset(
        {GrievanceStatus.ARBITRATION, GrievanceStatus.RESOLVED, GrievanceStatus.WITHDRAWN}
    ),
    GrievanceStatus.ARBITRATION: frozenset({GrievanceStatus.RESOLVED, GrievanceStatus.WITHDRAWN}),
    GrievanceStatus.RESOLVED: frozenset(),
    GrievanceStatus.WITHDRAWN: frozenset(),
}


@dataclass(frozen=True)
class GrievanceStep:
    status: GrievanceStatus
    on: date
    note: str = ""


@dataclass(frozen=True)
class GrievanceHistory:
    """A grievance's steps in recorded order; the first is ``filed`` on the filing day."""

    filed_on: date
    steps: tuple[GrievanceStep, ...] = field(default_factory=tuple)

    @property
    def current(self) -> GrievanceStep:
        return self.steps[-1] if self.steps else GrievanceStep(GrievanceStatus.FILED, self.filed_on)

    def status_on(self, day: date) -> GrievanceStep | None:
        """The step in effect on ``day`` (None before filing)."""
        found = None
        for step in self.steps:
            if step.on <= day:
                found = step
        return found

    def then(self, status: GrievanceStatus, on: date, note: str = "") -> GrievanceHistory:
        """The history with one more step; a step the procedure does not allow raises."""
        now = self.current
        if status not in NEXT[now.status]:
            if now.status.closed:
                raise AgreementRuleError(f"the grievance is already {now.status.value}")
            raise AgreementRuleError(
                f"a grievance in {now.status.value} cannot move to {status.value}"
            )
        if on < now.on:
            raise AgreementRuleError(
                f"the step is dated {on.isoformat()}, before the last one "
                f"({now.status.value} on {now.on.isoformat()})"
            )
        return GrievanceHistory(self.filed_on, (*self.steps, GrievanceStep(status, on, note)))
