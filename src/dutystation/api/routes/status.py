"""Status over HTTP: ``services.status`` and ``services.status_overview`` (docs/api.md,
"Status and overview"; docs/evaluation.md, "The snapshot").

Everything here reads the evaluation snapshot: an employee's requirement, weeks, status
and why (``/status/me``, ``/status/employees/{id}``), a supervisor's team (``/team``), and
the overview of an org unit with its drill-down (``/overview``, ``/overview/people``).
Every answer says when the snapshot was computed and whether a change since has made it
stale.
Out of scope answers ``404`` exactly like an unknown employee or unit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from starlette.concurrency import run_in_threadpool

from dutystation.api.deps import CurrentActor, RuntimeDep
from dutystation.api.errors import problem_responses
from dutystation.api.pagination import Page, Paging
from dutystation.api.routes.codes import ID_PATTERN, OrgUnitQuery
from dutystation.services import status as service
from dutystation.services.status_overview import Overview, component_overview

router = APIRouter(tags=["status"])
READ_ERRORS = problem_responses(401, 403, 404, 422)
EmployeeId = Annotated[str, Path(pattern=ID_PATTERN, description="HR id.")]
UnitQuery = Annotated[str, Query(pattern=ID_PATTERN, description="The org unit's code.")]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SnapshotOut(_Out):
    as_of: date = Field(description="The last day evaluated.")
    period_start: date = Field(description="The first day evaluated.")
    computed_at: datetime
    stale: bool = Field(
        description="True when an import stored rows, or an exemption request was filed, "
        "decided, withdrawn or revoked, after the snapshot was computed; the figures are then "
        "as of `as_of` until `dutystation evaluate --refresh` runs."
    )
    changed_at: datetime | None = Field(description="When the last such change was recorded.")


class RequirementOut(_Out):
    directive_ref: str
    title: str
    issuer: str
    effective: date
    full_compliance: date | None
    requirement: str = Field(description='What it asks, e.g. "3 days on site per week".')
    counts_at: str = Field(description="duty_station or any_agency_office.")


class WeekOut(_Out):
    week: str = Field(description="ISO week, e.g. 2025-W07.")
    week_start: date
    week_end: date
    org_unit: str
    arrangement: str
    duty_station: str | None
    directive_ref: str | None
    hours_required: float
    hours_on_site: float
    hours_field_travel: float
    hours_off_site: float
    hours_leave: float
    hours_holiday: float
    days_present_badge: int
    days_on_site_ta: int
    days_at_duty_station: int
    status: str
    reason: str


class DutyStationTestOut(_Out):
    pay_period: str = Field(description="Federal pay period, e.g. 2025-PP05.")
    period_start: date
    period_end: date
    duty_station: str | None
    days_at_duty_station: int
    passed: bool


class EmployeeStatusOut(_Out):
    employee_id: str
    name: str
    week: str | None = Field(description="The latest week evaluated (the last whole one).")
    org_unit: str | None
    component: str | None
    arrangement: str | None
    duty_station: str | None
    status: str | None = Field(
        description="compliant, non_compliant, exempt, pending_exemption, "
        "covered_by_agreement, not_yet_due or not_in_scope; null when never evaluated."
    )
    reason: str | None
    not_returned: bool = Field(description="Listed by the not-returned report.")
    requirement: RequirementOut | None
    weeks: list[WeekOut]
    duty_station_tests: list[DutyStationTestOut]
    snapshot: SnapshotOut

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "employee_id": "00000001",
                    "name": "Zion Example-00001",
                    "week": "2025-W11",
                    "org_unit": "DEA-HQ-CIO",
                    "component": "DEA-HQ",
                    "arrangement": "onsite",
                    "duty_station": "GA0001",
                    "status": "compliant",
                    "reason": "100.0% of hours at the duty station (36 of 36 h required): "
                    "meets DEA-RTO-2025-01@1 (100% of hours on site)",
                    "not_returned": False,
                    "requirement": {
                        "directive_ref": "DEA-RTO-2025-01@1",
                        "title": "Implementing the Return to In-Person Work (synthetic)",
                        "issuer": "Secretary, Department of Example Affairs (synthetic)",
                        "effective": "2025-01-24",
                        "full_compliance": "2025-02-21",
                        "requirement": "100% of hours on site",
                        "counts_at": "duty_station",
                    },
                    "weeks": [],
                    "duty_station_tests": [],
                    "snapshot": {
                        "as_of": "2025-03-16",
                        "period_start": "2024-11-25",
                        "computed_at": "2026-12-04T09:10:54Z",
                        "stale": False,
                        "changed_at": None,
                    },
                }
            ]
        },
    )


class PersonOut(_Out):
    employee_id: str
    name: str
    org_unit: str | None
    arrangement: str | None
    week: str | None
    status: str | None
    reason: str | None
    not_returned: bool


class PeopleOut(Page[PersonOut]):
    snapshot: SnapshotOut


class WeekFiguresOut(_Out):
    week: str
    week_start: date
    week_end: date
    employees: int
    share_on_site: float | None = Field(description="Of hours worked, 0 to 1.")
    compliance_rate: float | None = Field(description="Of those bound, 0 to 1.")
    bound: int


class UnitOut(_Out):
    org_unit: str
    name: str
    own_staff_only: bool = Field(description="The row of the unit's own staff, not a child.")
    child_units: int = Field(description="Units below: GET /overview?org=<org_unit>.")
    people: int = Field(description="People in the unit itself: GET /overview/people?org=.")
    staff: int
    share_on_site: float | None = Field(description="Since the directive, of hours worked.")
    compliance_rate: float | None = Field(description="The last whole week.")
    not_returned: int | None
    exemptions: dict[str, dict[str, int]] = Field(
        description="Per category group, approved and pending on the last day: counts only."
    )
    expected_full_compliance: date | None
    trend_full_compliance: date | None
    limits: str | None
    weeks: list[WeekFiguresOut]


class OverviewOut(_Out):
    org_unit: str | None = Field(description="null: the whole organisation (several roots).")
    name: str
    total: UnitOut | None
    children: list[UnitOut]
    since: date | None = Field(description="Weeks ending before the first directive are left out.")
    last_whole_week: str | None
    snapshot: SnapshotOut
    notes: list[str]


# Each route is ``async`` and runs the service and the JSON encoding in one trip to the
# thread pool, answering the encoded bytes. A plain ``def`` route would cost a second
# trip, for FastAPI to validate the answer against ``response_model``, then build it as
# Python objects and encode those; building the model from the service's dataclasses
# alone took 4 ms for an organisation's overview. The dataclasses are encoded as they
# are instead: their fields are the models' (same names, types and order), which
# tests/api/test_api_status.py checks on every answer (it parses each one with its
# model and gets the same bytes back).
_ENCODERS: dict[type, TypeAdapter[Any]] = {
    kind: TypeAdapter(kind) for kind in (service.EmployeeStatus, service.People, Overview)
}


async def _answer(produce: Callable[[], object]) -> Response:
    def encode() -> bytes:
        found = produce()
        return _ENCODERS[type(found)].dump_json(found)

    return Response(await run_in_threadpool(encode), media_type="application/json")


@router.get(
    "/status/me",
    summary="My status",
    response_model=EmployeeStatusOut,
    responses=READ_ERRORS,
)
async def my_status(runtime: RuntimeDep, actor: CurrentActor) -> Response:
    """Your requirement, hours and days on site by week, status and why, and the
    duty-station test of each pay period (teleworkers). 404 when your account is not
    linked to an employee record or no snapshot has been computed yet."""
    return await _answer(lambda: service.employee_status(runtime, actor))


@router.get(
    "/status/employees/{employee_id}",
    summary="An employee's status",
    response_model=EmployeeStatusOut,
    responses=READ_ERRORS,
)
async def employee_status(
    runtime: RuntimeDep, actor: CurrentActor, employee_id: EmployeeId
) -> Response:
    """The status of an employee in your scope (your reports, your subtree); 404 for one
    outside it, as for one that does not exist."""
    return await _answer(lambda: service.employee_status(runtime, actor, employee_id))


@router.get("/team", summary="My team", response_model=PeopleOut, responses=READ_ERRORS)
async def team(runtime: RuntimeDep, actor: CurrentActor, params: Paging) -> Response:
    """A supervisor's direct reports (as the roster says today) with their latest week's
    status; 403 for an account that is not a supervisor."""
    return await _answer(
        lambda: service.team_status(runtime, actor, limit=params.limit, offset=params.offset)
    )


@router.get(
    "/overview",
    summary="Overview of an org unit",
    response_model=OverviewOut,
    responses=READ_ERRORS,
)
async def overview(runtime: RuntimeDep, actor: CurrentActor, org: OrgUnitQuery = None) -> Response:
    """Per child unit of `org` (default: the organisation, or your scope): the on-site
    share since the directive with its weekly trend, the compliance rate of the last whole
    week, people not returned, exemptions by category group and the expected date of full
    compliance. Drill down with `?org=<child>`, then `/overview/people?org=<unit>`."""
    return await _answer(lambda: component_overview(runtime, actor, org))


@router.get(
    "/overview/people",
    summary="The people of an org unit",
    response_model=PeopleOut,
    responses=READ_ERRORS,
)
async def people(
    runtime: RuntimeDep, actor: CurrentActor, org: UnitQuery, params: Paging
) -> Response:
    """The people whose latest week is in `org` itself (not the units below), by HR id,
    with their status: the last step of the drill-down."""
    return await _answer(
        lambda: service.unit_people(runtime, actor, org, limit=params.limit, offset=params.offset)
    )
