"""What several pages show about people: whose record the actor is, their own requests,
the words for exemption categories, and a supervisor's team table."""

from __future__ import annotations

from typing import Any

from dutystation.bootstrap import Runtime
from dutystation.domain.access import Actor, Operation, Role, could_ever
from dutystation.domain.directive import ExemptionCategory
from dutystation.errors import NoEvidence
from dutystation.services import exemptions, status
from dutystation.services.account_rows import employee_id_of
from dutystation.web import charts

CATEGORY_WORDS = {
    ExemptionCategory.DISABILITY_ACCOMMODATION: "Disability (reasonable accommodation)",
    ExemptionCategory.MEDICAL_CONDITION: "Qualifying medical condition",
    ExemptionCategory.COMPELLING_REASON: "Another compelling reason",
    ExemptionCategory.LACK_OF_OFFICE_SPACE: "Lack of adequate office space",
    ExemptionCategory.PHYSICAL_INCAPACITY: "Physical incapacity",
    ExemptionCategory.LEGAL_IMPEDIMENT: "Legal impediment",
}


def employee_id_of_actor(runtime: Runtime, actor: Actor) -> str | None:
    """The HR id of the actor's own employee record (None for accounts without one)."""
    if actor.employee_pk is None:
        return None
    with runtime.engine.connect() as conn:
        return employee_id_of(conn, actor.employee_pk)


def own_requests(runtime: Runtime, actor: Actor, employee_id: str | None) -> list[Any]:
    """The actor's own exemption requests, newest first."""
    if employee_id is None or not could_ever(actor, Operation.EXEMPTION_READ):
        return []
    return [r for r in exemptions.list_requests(runtime, actor) if r.employee_id == employee_id]


def filing_context() -> dict[str, Any]:
    return {"categories": [(c.value, CATEGORY_WORDS[c]) for c in ExemptionCategory]}


def team_table(runtime: Runtime, actor: Actor) -> status.People | None:
    """A supervisor's direct reports with their latest week's status; None for other
    roles, and before the first evaluation snapshot (the page says so)."""
    if not actor.holds(Role.SUPERVISOR):
        return None
    try:
        return status.team_status(runtime, actor)
    except NoEvidence:
        return None


def status_context(found: status.EmployeeStatus) -> dict[str, Any]:
    """What the status part of "My status" and of a person's page shows."""
    return {
        "status": found,
        "weeks_chart": charts.person_weeks(found.weeks),
    }
