"""Grievances under bargaining agreements over HTTP: ``services.grievances``
(docs/agreements.md, "Grievances").

A grievance belongs to the org unit it was filed in: ``grievance.read`` (leaders, TMOs, HR,
certifying officials, auditors) and ``grievance.manage`` (HR) over that unit. Outside the
caller's scope a grievance answers 404 exactly like one that does not exist.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from dutystation.api.deps import CurrentActor, RuntimeDep, WritingActor
from dutystation.api.errors import problem_responses
from dutystation.api.pagination import Page, Paging
from dutystation.api.routes.codes import ID_PATTERN, Code, Day
from dutystation.domain.grievances import GrievanceStatus
from dutystation.services import grievances as service
from dutystation.store.grievance_rows import GrievanceView

router = APIRouter(prefix="/grievances", tags=["grievances"])

GrievanceId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The grievance's number.")]
READ_ERRORS = problem_responses(401, 403, 404, 422)
WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)
EmployeeIds = Annotated[list[Code], Field(max_length=1000)]


class StepOut(BaseModel):
    status: GrievanceStatus
    on: date
    note: str


class GrievanceOut(BaseModel):
    id: int
    agreement: str = Field(description="The agreement's code.")
    union: str
    component: str = Field(description="The org unit it was filed in.")
    filed_on: date
    subject: str
    status: GrievanceStatus
    history: list[StepOut]
    outcome: str | None
    outcome_on: date | None
    employees: list[str] = Field(description="HR ids of the employees it concerns.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": 1,
                    "agreement": "EEU-L1-2023",
                    "union": "Example Employees Union, Local 1",
                    "component": "DEA-EMA",
                    "filed_on": "2025-02-10",
                    "subject": "Art. 31 §4 ignored by the return order",
                    "status": "in_progress",
                    "history": [
                        {"status": "filed", "on": "2025-02-10", "note": ""},
                        {"status": "in_progress", "on": "2025-02-24", "note": "step 2"},
                    ],
                    "outcome": None,
                    "outcome_on": None,
                    "employees": ["00001234"],
                }
            ]
        }
    }

    @classmethod
    def of(cls, view: GrievanceView) -> GrievanceOut:
        return cls(
            id=view.id,
            agreement=view.agreement,
            union=view.union,
            component=view.component,
            filed_on=view.filed_on,
            subject=view.subject,
            status=view.status,
            history=[StepOut(status=s.status, on=s.on, note=s.note) for s in view.history.steps],
            outcome=view.outcome,
            outcome_on=view.outcome_on,
            employees=list(view.employees),
        )


class GrievanceIn(BaseModel):
    agreement: str = Field(min_length=1, max_length=64)
    component: str = Field(pattern=ID_PATTERN, description="Org unit it is filed in.")
    filed_on: Day
    subject: str = Field(min_length=1, max_length=300)
    union: str | None = Field(None, max_length=200, description="Default: the agreement's.")
    employees: EmployeeIds = Field(default_factory=list, description="HR ids it concerns.")

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {
                    "agreement": "EEU-L1-2023",
                    "component": "DEA-EMA",
                    "filed_on": "2025-02-10",
                    "subject": "Art. 31 §4 ignored by the return order",
                    "employees": ["00001234"],
                }
            ]
        },
    }


class EmployeesIn(BaseModel):
    employees: EmployeeIds = Field(min_length=1)

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{"employees": ["E1"]}]}}


class StatusIn(BaseModel):
    status: GrievanceStatus
    on: Day
    note: str = Field("", max_length=2000)

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"status": "arbitration", "on": "2025-03-10"}]},
    }


class OutcomeIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000, description="The settlement or award.")
    on: Day

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"text": "settled: 3 days", "on": "2025-04-01"}]},
    }


@router.get("", summary="List grievances", response_model=Page[GrievanceOut], responses=READ_ERRORS)
def list_grievances(
    runtime: RuntimeDep,
    actor: CurrentActor,
    params: Paging,
    org_unit: Annotated[
        str | None,
        Query(pattern=ID_PATTERN, description="Those of this unit's subtree and the units above."),
    ] = None,
    status: Annotated[GrievanceStatus | None, Query(description="Only this status.")] = None,
) -> Page[GrievanceOut]:
    """The grievances you may read, oldest first."""
    found = service.list_grievances(runtime.engine, actor, org_unit)
    if status is not None:
        found = [g for g in found if g.status is status]
    return Page.of([GrievanceOut.of(g) for g in found], params)


@router.get(
    "/{grievance_id}",
    summary="Show a grievance",
    response_model=GrievanceOut,
    responses=READ_ERRORS,
)
def show_grievance(
    runtime: RuntimeDep, actor: CurrentActor, grievance_id: GrievanceId
) -> GrievanceOut:
    return GrievanceOut.of(service.show_grievance(runtime.engine, actor, grievance_id))


@router.post(
    "",
    summary="File a grievance",
    status_code=201,
    response_model=GrievanceOut,
    responses=WRITE_ERRORS,
)
def file_grievance(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    actor: WritingActor,
    body: GrievanceIn,
) -> GrievanceOut:
    """Under an agreement, in an org unit, on a day no earlier than the agreement's start
    and not in the future; the employees must be in that unit on that day."""
    view = service.file_grievance(
        runtime.engine,
        actor,
        agreement=body.agreement,
        component=body.component,
        filed_on=body.filed_on,
        subject=body.subject,
        union=body.union,
        employees=body.employees,
    )
    response.headers["Location"] = request.url_for("show_grievance", grievance_id=view.id).path
    return GrievanceOut.of(view)


@router.post(
    "/{grievance_id}/employees",
    summary="Add employees a grievance concerns",
    response_model=GrievanceOut,
    responses=WRITE_ERRORS,
)
def add_employees(
    runtime: RuntimeDep, actor: WritingActor, grievance_id: GrievanceId, body: EmployeesIn
) -> GrievanceOut:
    return GrievanceOut.of(
        service.add_employees(runtime.engine, actor, grievance_id, body.employees)
    )


@router.post(
    "/{grievance_id}/status",
    summary="Move a grievance to its next step",
    response_model=GrievanceOut,
    responses=WRITE_ERRORS,
)
def change_status(
    runtime: RuntimeDep, actor: WritingActor, grievance_id: GrievanceId, body: StatusIn
) -> GrievanceOut:
    """Forward only, each step dated no earlier than the last (docs/agreements.md)."""
    view = service.change_status(
        runtime.engine, actor, grievance_id, body.status, body.on, body.note
    )
    return GrievanceOut.of(view)


@router.post(
    "/{grievance_id}/outcome",
    summary="Record a grievance's outcome",
    response_model=GrievanceOut,
    responses=WRITE_ERRORS,
)
def record_outcome(
    runtime: RuntimeDep, actor: WritingActor, grievance_id: GrievanceId, body: OutcomeIn
) -> GrievanceOut:
    """An open grievance is resolved on that day with it; a resolved one gets its outcome
    once; a withdrawn one has none."""
    view = service.record_outcome(runtime.engine, actor, grievance_id, body.text, body.on)
    return GrievanceOut.of(view)
