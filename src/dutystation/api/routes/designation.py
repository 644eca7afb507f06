"""Designation plans over HTTP: ``services.designation`` and ``designation_views``
(docs/designation.md).

TMOs, HR and agency administrators make (``designation.plan``) and read plans for their
scope; HR and agency administrators apply them (``designation.apply``). Proposals show who
goes where, how far and why; a home is never shown.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from dutystation.api.deps import CurrentActor, RuntimeDep, WritingActor
from dutystation.api.errors import problem_responses
from dutystation.api.pagination import Page, Paging
from dutystation.api.routes.codes import ID_PATTERN, Code, Day, UtcDateTime
from dutystation.services import designation, designation_views
from dutystation.services.designation_inputs import WhatIf

router = APIRouter(prefix="/designation", tags=["designation"])

PlanId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The plan's number.")]
SiteId = Code
READ_ERRORS = problem_responses(401, 403, 404, 422)
WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)
Status = Literal["proposed", "applied", "discarded"]


class WhatIfIn(BaseModel):
    """Changes the plan is computed under (compared with the plan without them). A what-if
    plan is stored for the record but cannot be applied."""

    add_seats: dict[SiteId, Annotated[int, Field(ge=1, le=100_000)]] = Field(
        default_factory=dict, description="More seats at these offices."
    )
    open: dict[SiteId, Annotated[int, Field(ge=1, le=100_000)]] = Field(
        default_factory=dict, description="Open stored offices that have no seats, with N."
    )
    close: list[SiteId] = Field(
        default_factory=list, max_length=1000, description="Offices that take no one."
    )

    model_config = {"extra": "forbid"}


class PlanIn(BaseModel):
    on: Day | None = Field(None, description="Roster, homes, seats as of this day (today).")
    effective: Day | None = Field(None, description="First day of the designations.")
    org_unit: str | None = Field(None, pattern=ID_PATTERN, description="Only staff of a subtree.")
    what_if: WhatIfIn = Field(default_factory=WhatIfIn)

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {"on": "2025-03-03", "org_unit": "DEA-ECA"},
                {"on": "2025-03-03", "what_if": {"add_seats": {"DC0001": 40}, "close": ["MD02"]}},
            ]
        },
    }


class ComponentLine(BaseModel):
    component: str | None = None
    needing: int = 0
    placed: int = 0
    placed_beyond_limit: int = 0
    unplaced: int = 0
    shortfall: int = Field(0, description="Unplaced for lack of seats.")
    excluded: int = 0
    total_miles: float | None = None
    mean_miles: float | None = None
    is_total: bool = False

    @classmethod
    def of(cls, row: dict[str, Any]) -> ComponentLine:
        # The total row of an empty plan sums nothing: its counts come back null.
        return cls.model_validate({k: v for k, v in row.items() if v is not None})


class Measure(BaseModel):
    measure: str
    base: float
    what_if: float
    change: float


class PlanMade(BaseModel):
    plan_id: int | None
    summary: list[ComponentLine] = Field(description="Per component, and a total row.")
    what_if: list[Measure] = Field(description="With what-if changes: against the base plan.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "plan_id": 7,
                    "summary": [
                        {
                            "component": "DEA-ECA",
                            "needing": 12,
                            "placed": 10,
                            "placed_beyond_limit": 0,
                            "unplaced": 2,
                            "shortfall": 2,
                            "excluded": 0,
                            "total_miles": 231.4,
                            "mean_miles": 23.1,
                            "is_total": False,
                        }
                    ],
                    "what_if": [],
                }
            ]
        }
    }


class PlanSummaryOut(BaseModel):
    id: int
    status: Status
    created_at: UtcDateTime
    created_by: str
    org_unit: str | None = Field(description="null: the whole organisation.")
    day: date | None
    effective_from: date | None
    what_if: bool
    placed: int
    unplaced: int
    total_miles: float

    @classmethod
    def of(cls, p: designation_views.PlanSummary) -> PlanSummaryOut:
        return cls.model_validate(p, from_attributes=True)


class ProposalOut(BaseModel):
    employee_id: str
    name: str
    site_id: str
    office_name: str
    effective_from: date
    distance_miles: float
    rule: str = Field(description="The rule matched, in words.")
    applied: bool


class PlanOut(BaseModel):
    plan: PlanSummaryOut
    parameters: dict[str, Any] = Field(description="What the plan was made with.")
    proposals: Page[ProposalOut]


class Applied(BaseModel):
    id: int
    status: Status
    designations: int = Field(description="Designations recorded (apply) or removed (discard).")


def _rows(table: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


@router.post(
    "/plans",
    summary="Make a designation plan",
    status_code=201,
    response_model=PlanMade,
    responses=WRITE_ERRORS,
)
def make_plan(
    request: Request, response: Response, runtime: RuntimeDep, actor: WritingActor, body: PlanIn
) -> PlanMade:
    """Proposes a designation for everyone who needs one, within each office's free seats,
    and stores it as ``proposed``. Review its proposals (``GET /designation/plans/{id}``),
    then apply or discard it. The rules are the ``designation_rules_file`` setting's."""
    what_if = WhatIf(
        add_seats=dict(body.what_if.add_seats),
        open=dict(body.what_if.open),
        close=tuple(body.what_if.close),
    )
    made = designation.plan_designations(
        runtime,
        actor,
        designation.PlanRequest(
            day=body.on or date.today(),
            effective_from=body.effective,
            org_unit=body.org_unit,
            what_if=what_if,
        ),
    )
    report = made.report
    keys = {s.key for s in report.sections}
    measures = _rows(report.section("what-if").table) if "what-if" in keys else []
    if made.plan_id is not None:
        response.headers["Location"] = request.url_for("show_plan", plan_id=made.plan_id).path
    return PlanMade(
        plan_id=made.plan_id,
        summary=[ComponentLine.of(r) for r in _rows(report.section("summary").table)],
        what_if=[Measure.model_validate(r) for r in measures],
    )


@router.get(
    "/plans",
    summary="List designation plans",
    response_model=Page[PlanSummaryOut],
    responses=READ_ERRORS,
)
def list_plans(
    runtime: RuntimeDep,
    actor: CurrentActor,
    params: Paging,
    status: Annotated[Status | None, Query(description="Only plans in this status.")] = None,
) -> Page[PlanSummaryOut]:
    """The plans you may read, newest first."""
    found = designation_views.list_plans(runtime, actor, status=status)
    return Page.of([PlanSummaryOut.of(p) for p in found], params)


@router.get(
    "/plans/{plan_id}",
    summary="Show a designation plan",
    response_model=PlanOut,
    responses=READ_ERRORS,
)
def show_plan(runtime: RuntimeDep, actor: CurrentActor, plan_id: PlanId, params: Paging) -> PlanOut:
    """The plan and a page of its proposals (``limit``/``offset``), by employee id."""
    view = designation_views.show_plan(
        runtime, actor, plan_id, limit=params.limit, offset=params.offset
    )
    proposals = [ProposalOut.model_validate(p, from_attributes=True) for p in view.proposals]
    return PlanOut(
        plan=PlanSummaryOut.of(view.plan),
        parameters=view.parameters,
        proposals=Page[ProposalOut](
            items=proposals, total=view.proposals_total, limit=params.limit, offset=params.offset
        ),
    )


@router.post(
    "/plans/{plan_id}/apply",
    summary="Apply a designation plan",
    response_model=Applied,
    responses=WRITE_ERRORS,
)
def apply_plan(runtime: RuntimeDep, actor: WritingActor, plan_id: PlanId) -> Applied:
    """Records its proposals as the employees' designations. Refused (409) for a what-if
    plan, or when the roster or offices were imported, or another plan applied, since."""
    count = designation.apply_designations(runtime, actor, plan_id)
    return Applied(id=plan_id, status="applied", designations=count)


@router.post(
    "/plans/{plan_id}/discard",
    summary="Discard a designation plan",
    response_model=Applied,
    responses=WRITE_ERRORS,
)
def discard_plan(runtime: RuntimeDep, actor: WritingActor, plan_id: PlanId) -> Applied:
    count = designation.discard_designations(runtime, actor, plan_id)
    return Applied(id=plan_id, status="discarded", designations=count)
