"""Collective bargaining agreements over HTTP: ``services.agreements`` (docs/agreements.md).

``agreement.read`` (supervisors, leaders, TMOs, HR, certifying officials, auditors, agency
administrators) lists and shows them; ``agreement.manage`` (HR) creates and changes
agreements, clauses and legal statuses. Every change is audited by the service.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from dutystation.api.deps import CurrentActor, RuntimeDep, WritingActor
from dutystation.api.errors import problem_responses
from dutystation.api.pagination import Page, Paging
from dutystation.api.routes.codes import ID_PATTERN, Day, UtcDateTime
from dutystation.api.routes.codes import Code as UnitCode
from dutystation.domain.agreements import TERM_KEYS, Clause, LegalStatus, StatusRecord
from dutystation.services import agreements as service
from dutystation.store.agreement_rows import StoredAgreement

router = APIRouter(prefix="/agreements", tags=["agreements"])

CODE = Path(min_length=1, max_length=64, description="The agreement's code.")
REF = Path(min_length=1, max_length=64, description="The clause's ref, e.g. 'Art. 31 §4'.")
Code = Annotated[str, CODE]
Ref = Annotated[str, REF]
READ_ERRORS = problem_responses(401, 403, 404, 422)
WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)


class StatusOut(BaseModel):
    status: LegalStatus
    effective_on: date
    source: str
    recorded_by: str | None = None
    recorded_at: UtcDateTime | None = None


class ClauseOut(BaseModel):
    ref: str
    summary: str
    terms: dict[str, int | float] = Field(description="Exactly one kind of hybrid terms.")
    described: str = Field(description="The terms in words, as the evaluation reads them.")
    status_today: LegalStatus = Field(description="Its legal status today.")
    statuses: list[StatusOut] = Field(description="Its legal-status history, as recorded.")


class AgreementOut(BaseModel):
    code: str
    title: str
    union: str
    units: list[str] = Field(description="Bargaining unit codes it covers.")
    effective_from: date
    effective_to: date | None = Field(description="Its last day (included); null: open-ended.")
    clauses: list[ClauseOut]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "code": "EEU-L1-2023",
                    "title": "Master Agreement, Article 31",
                    "union": "Example Employees Union, Local 1",
                    "units": ["EEU-L1"],
                    "effective_from": "2023-10-01",
                    "effective_to": "2026-09-30",
                    "clauses": [
                        {
                            "ref": "Art. 31 §4",
                            "summary": "At least 4 days on site each pay period.",
                            "terms": {"min_onsite_days_per_pay_period": 4},
                            "described": "4 days on site per pay period",
                            "status_today": "disputed",
                            "statuses": [
                                {
                                    "status": "disputed",
                                    "effective_on": "2025-02-03",
                                    "source": "OPM memo 2025-02-03",
                                    "recorded_by": "hr",
                                    "recorded_at": "2025-02-04T10:00:00Z",
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    }

    @classmethod
    def of(cls, stored: StoredAgreement, today: date) -> AgreementOut:
        facts = stored.facts
        return cls(
            code=facts.code,
            title=facts.title,
            union=facts.union,
            units=list(facts.units),
            effective_from=facts.start,
            effective_to=facts.end,
            clauses=[_clause(c, stored, today) for c in facts.clauses],
        )


def _clause(clause: Clause, stored: StoredAgreement, today: date) -> ClauseOut:
    recorded = stored.recorded.get(clause.ref, ())
    statuses = [
        StatusOut(
            status=r.record.status,
            effective_on=r.record.effective_on,
            source=r.record.source,
            recorded_by=r.recorded_by,
            recorded_at=r.recorded_at,
        )
        for r in recorded
    ] or [
        StatusOut(status=s.status, effective_on=s.effective_on, source=s.source)
        for s in clause.statuses
    ]
    current = clause.status_on(today)
    return ClauseOut(
        ref=clause.ref,
        summary=clause.summary,
        terms={k: v for k, v in clause.terms.as_dict().items() if v is not None},
        described=clause.terms.describe(),
        status_today=current.status if current else LegalStatus.IN_FORCE,
        statuses=statuses,
    )


class AgreementIn(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    title: str = Field("", max_length=300)
    union: str = Field("", max_length=200)
    units: list[UnitCode] = Field(min_length=1, max_length=100, description="Bargaining units.")
    effective_from: Day
    effective_to: Day | None = Field(None, description="The last day (included).")

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {
                    "code": "EEU-L1-2023",
                    "title": "Master Agreement, Article 31",
                    "union": "Example Employees Union, Local 1",
                    "units": ["EEU-L1"],
                    "effective_from": "2023-10-01",
                    "effective_to": "2026-09-30",
                }
            ]
        },
    }


class AgreementChange(BaseModel):
    """What to change; a field left out stays as it is."""

    title: str | None = Field(None, max_length=300)
    union: str | None = Field(None, max_length=200)
    units: list[UnitCode] | None = Field(None, min_length=1, max_length=100)
    effective_from: Day | None = None
    effective_to: Day | None = Field(None, description="The last day; see open_ended.")
    open_ended: bool = Field(False, description="Remove the expiry date.")

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"effective_to": "2027-09-30"}]},
    }


class ClauseIn(BaseModel):
    summary: str | None = Field(None, max_length=2000, description="What the clause says.")
    min_onsite_days_per_pay_period: int | None = Field(None, ge=1, le=14)
    min_onsite_days_per_week: int | None = Field(None, ge=1, le=7)
    min_onsite_share_of_hours: float | None = Field(None, gt=0, le=1)
    max_telework_days_per_pay_period: int | None = Field(None, ge=0, le=9)

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [{"summary": "4 days on site", "min_onsite_days_per_pay_period": 4}]
        },
    }


class LegalStatusIn(BaseModel):
    status: LegalStatus
    on: Day = Field(description="First day of the status.")
    source: str = Field(min_length=1, max_length=300, description="e.g. 'OPM memo 2025-02-03'.")

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [{"status": "disputed", "on": "2025-02-03", "source": "OPM memo"}]
        },
    }


class SavedClause(BaseModel):
    code: str
    ref: str
    described: str


@router.get("", summary="List agreements", response_model=Page[AgreementOut], responses=READ_ERRORS)
def list_agreements(
    runtime: RuntimeDep,
    actor: CurrentActor,
    params: Paging,
    on: Annotated[Day | None, Query(description="Only those in force on this day.")] = None,
    unit: Annotated[
        str | None, Query(pattern=ID_PATTERN, description="Only those covering this unit.")
    ] = None,
) -> Page[AgreementOut]:
    """Every agreement with its clauses and their legal status today."""
    today = date.today()
    found = service.list_agreements(runtime.engine, actor)
    if on is not None:
        found = [s for s in found if s.facts.in_force_on(on)]
    if unit is not None:
        found = [s for s in found if unit in s.facts.units]
    return Page.of([AgreementOut.of(s, today) for s in found], params)


@router.get(
    "/{code}", summary="Show an agreement", response_model=AgreementOut, responses=READ_ERRORS
)
def show_agreement(runtime: RuntimeDep, actor: CurrentActor, code: Code) -> AgreementOut:
    return AgreementOut.of(service.show_agreement(runtime.engine, actor, code), date.today())


@router.post(
    "",
    summary="Add an agreement",
    status_code=201,
    response_model=AgreementOut,
    responses=WRITE_ERRORS,
)
def create_agreement(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    actor: WritingActor,
    body: AgreementIn,
) -> AgreementOut:
    """A new agreement without clauses (it covers nobody until one is added). Its units
    must be on some roster version."""
    draft = service.AgreementDraft(
        body.code,
        body.title,
        body.union,
        tuple(body.units),
        body.effective_from,
        body.effective_to,
    )
    facts = service.create_agreement(runtime.engine, actor, draft)
    response.headers["Location"] = request.url_for("show_agreement", code=facts.code).path
    return show_agreement(runtime, actor, facts.code)


@router.patch(
    "/{code}", summary="Change an agreement", response_model=AgreementOut, responses=WRITE_ERRORS
)
def update_agreement(
    runtime: RuntimeDep, actor: WritingActor, code: Code, body: AgreementChange
) -> AgreementOut:
    """Title, union, units or dates; its clauses stay."""
    old = service.agreement_to_change(runtime.engine, actor, code).facts
    draft = service.AgreementDraft(
        old.code,
        body.title if body.title is not None else old.title,
        body.union if body.union is not None else old.union,
        tuple(body.units) if body.units else old.units,
        body.effective_from or old.start,
        None if body.open_ended else (body.effective_to or old.end),
    )
    service.update_agreement(runtime.engine, actor, draft)
    return show_agreement(runtime, actor, old.code)


@router.put(
    "/{code}/clauses/{ref}",
    summary="Add or change a clause",
    response_model=SavedClause,
    responses=WRITE_ERRORS,
)
def save_clause(
    runtime: RuntimeDep, actor: WritingActor, code: Code, ref: Ref, body: ClauseIn
) -> SavedClause:
    """A clause with exactly one kind of hybrid terms; its legal-status history stays."""
    terms = {k: getattr(body, k) for k in TERM_KEYS}
    saved = service.save_clause(runtime.engine, actor, code, ref, terms, body.summary)
    return SavedClause(code=code, ref=saved.ref, described=saved.terms.describe())


@router.post(
    "/{code}/clauses/{ref}/statuses",
    summary="Record a clause's legal status",
    status_code=201,
    response_model=StatusOut,
    responses=WRITE_ERRORS,
)
def record_legal_status(
    runtime: RuntimeDep, actor: WritingActor, code: Code, ref: Ref, body: LegalStatusIn
) -> StatusOut:
    """Appended to the clause's history from ``on``; a history is never rewritten."""
    entry: StatusRecord = service.record_legal_status(
        runtime.engine, actor, code, ref, body.status, body.on, body.source
    )
    return StatusOut(status=entry.status, effective_on=entry.effective_on, source=entry.source)
