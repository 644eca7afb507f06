"""Notices over HTTP: ``services.notices`` and ``notice_status`` (docs/notices.md).

Everyone reads and acknowledges their own notices; TMOs and HR announce a directive and
send reminders for their scope; leaders, TMOs, HR, certifying officials and auditors read
acknowledgement rates. Sending only queues the mail: the delivery worker
(``dutystation notices deliver``) sends it, so a request never waits on an SMTP server.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from dutystation.api.deps import CurrentActor, RuntimeDep, WritingActor
from dutystation.api.errors import problem_responses
from dutystation.api.pagination import Page, Paging
from dutystation.api.routes.codes import ID_PATTERN, Day, OrgUnitQuery, UtcDateTime
from dutystation.api.routes.reports import (
    REPORT_RESPONSES,
    FormatQuery,
    ReportFormat,
    report_response,
)
from dutystation.bootstrap import Runtime
from dutystation.domain.directive import Directive
from dutystation.policy_files import load_directives
from dutystation.services import notices as service
from dutystation.services.evaluate import policies_dir
from dutystation.store.schema import OrgUnit

router = APIRouter(prefix="/notices", tags=["notices"])

NoticeId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The notice's number.")]
DirectiveRef = Annotated[
    str,
    Path(
        min_length=3,
        max_length=80,
        pattern=r"^[^@/]+@[0-9]+$",
        description="id@version, e.g. US-RTO-2025@1.",
    ),
]
WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)


class NoticeOut(BaseModel):
    id: int
    kind: str = Field(description="announcement or reminder.")
    directive_ref: str
    subject: str
    body: str = Field(description="Plain text; the same for every recipient.")
    created_at: UtcDateTime
    deadline: date | None = Field(description="The deadline a reminder is about.")
    acknowledged_at: UtcDateTime | None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": 1,
                    "kind": "announcement",
                    "directive_ref": "US-RTO-2025@1",
                    "subject": "Return to In-Person Work (US-RTO-2025@1)",
                    "body": "...",
                    "created_at": "2025-01-22T14:00:00Z",
                    "deadline": None,
                    "acknowledged_at": None,
                }
            ]
        }
    }

    @classmethod
    def of(cls, n: service.MyNotice) -> NoticeOut:
        return cls(
            id=n.notice_id,
            kind=n.kind,
            directive_ref=n.directive_ref,
            subject=n.subject,
            body=n.body,
            created_at=n.created_at,
            deadline=n.deadline,
            acknowledged_at=n.acknowledged_at,
        )


class Acknowledged(BaseModel):
    id: int
    acknowledged_at: UtcDateTime = Field(description="The first acknowledgement's time.")


class SendIn(BaseModel):
    directive_ref: str = Field(min_length=3, max_length=80, description="id@version.")
    org_unit: str | None = Field(None, pattern=ID_PATTERN, description="Only this subtree.")
    again: bool = Field(False, description="Re-announce to everyone in scope, as a new notice.")

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"directive_ref": "US-RTO-2025@1"}]},
    }


class RemindIn(BaseModel):
    org_unit: str | None = Field(None, pattern=ID_PATTERN, description="Only this subtree.")
    today: Day | None = Field(None, description="Deadlines counted from this day.")

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{}]}}


class SentOut(BaseModel):
    """One notice created, or none (``notice_id`` null) when nobody new was to be told."""

    notice_id: int | None
    directive_ref: str
    recipients: int
    mails: int = Field(description="Mails queued for the delivery worker.")
    in_app_only: int = Field(description="Recipients without a mail address.")
    skipped: int = Field(description="Already told (or reminded of this deadline).")
    deadline: date | None = None
    deadline_kind: str | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "notice_id": 1,
                    "directive_ref": "US-RTO-2025@1",
                    "recipients": 2481,
                    "mails": 2450,
                    "in_app_only": 31,
                    "skipped": 0,
                    "deadline": None,
                    "deadline_kind": None,
                }
            ]
        }
    }

    @classmethod
    def of(cls, r: service.SendResult) -> SentOut:
        return cls(
            notice_id=r.notice_id,
            directive_ref=r.directive_ref,
            recipients=r.recipients,
            mails=r.mails,
            in_app_only=r.in_app_only,
            skipped=r.skipped,
            deadline=r.deadline.day if r.deadline else None,
            deadline_kind=str(r.deadline.kind) if r.deadline else None,
        )


def _directives(runtime: Runtime) -> list[Directive]:
    with runtime.engine.connect() as conn:
        units = set(conn.scalars(select(OrgUnit.code)))
    return load_directives(policies_dir(runtime), known_org_units=units)


@router.get(
    "/mine",
    summary="Your notices",
    response_model=Page[NoticeOut],
    responses=problem_responses(401, 403, 404, 422),
)
def my_notices(runtime: RuntimeDep, actor: CurrentActor, params: Paging) -> Page[NoticeOut]:
    """Newest first. Reading them counts as delivery in the app (recorded once)."""
    found = service.my_notices(runtime.engine, actor)
    return Page.of([NoticeOut.of(n) for n in found], params)


@router.post(
    "/{notice_id}/acknowledge",
    summary="Acknowledge one of your notices",
    response_model=Acknowledged,
    responses=WRITE_ERRORS,
)
def acknowledge(runtime: RuntimeDep, actor: WritingActor, notice_id: NoticeId) -> Acknowledged:
    """Acknowledging again changes nothing and answers the first time."""
    when = service.acknowledge(runtime.engine, actor, notice_id)
    return Acknowledged(id=notice_id, acknowledged_at=when)


@router.post(
    "/send",
    summary="Announce a directive",
    response_model=SentOut,
    responses=WRITE_ERRORS,
)
def send(runtime: RuntimeDep, actor: WritingActor, body: SendIn) -> SentOut:
    """To everyone in its scope (and yours) who has not had an announcement of it yet,
    in the app and by mail; the mail is queued for the delivery worker."""
    result = service.send_announcement(
        runtime.engine,
        actor,
        body.directive_ref,
        body.org_unit,
        directives=_directives(runtime),
        again=body.again,
    )
    return SentOut.of(result)


@router.post(
    "/reminders",
    summary="Remind before deadlines",
    response_model=list[SentOut],
    responses=WRITE_ERRORS,
)
def remind(runtime: RuntimeDep, actor: WritingActor, body: RemindIn) -> list[SentOut]:
    """For each deadline within ``notice_reminder_days``: one reminder to those announced
    to, still in scope, who have acknowledged nothing and were not reminded of it yet."""
    results = service.send_reminders(
        runtime.engine,
        actor,
        body.today or date.today(),
        directives=_directives(runtime),
        reminder_days=runtime.settings.notice_reminder_days,
        org_unit=body.org_unit,
    )
    return [SentOut.of(r) for r in results]


@router.get(
    "/status/{directive_ref}",
    summary="Acknowledgement rates of a directive",
    response_class=Response,
    responses=REPORT_RESPONSES,
)
def status(
    runtime: RuntimeDep,
    actor: CurrentActor,
    directive_ref: DirectiveRef,
    org: OrgUnitQuery = None,
    format: FormatQuery = ReportFormat.JSON,
) -> Response:
    """The acknowledgements report for one directive within your scope, per component:
    recipients, acknowledged, rate, reminders, mail sent, waiting and failed."""
    from dutystation.services.notice_status import status as notice_status

    return report_response(notice_status(runtime.engine, actor, directive_ref, org), format)
