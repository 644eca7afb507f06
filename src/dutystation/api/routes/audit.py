"""The audit trail over HTTP: search it, verify its hash chain, export it as a file
(``services.audit_export`` / ``audit_verify``; auditors and agency administrators)."""

from __future__ import annotations

import json
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask
from starlette.responses import FileResponse

from dutystation.api.deps import CurrentActor, RuntimeDep
from dutystation.api.errors import problem_responses
from dutystation.api.pagination import Page, Paging
from dutystation.api.routes.disclosures import PurposeQuery, RecipientQuery
from dutystation.api.schemas import IsoDay
from dutystation.services.audit_export import AuditQuery, count_trail, export_trail, search_trail
from dutystation.services.audit_files import ExportFormat
from dutystation.services.audit_verify import verify_trail
from dutystation.services.disclosures import stated

router = APIRouter(prefix="/audit", tags=["audit"])

ERRORS = problem_responses(401, 403, 422)
MEDIA_TYPES = {ExportFormat.JSONL: "application/jsonl", ExportFormat.CSV: "text/csv"}


class AuditRecordOut(BaseModel):
    """One record of the trail. ``before`` and ``after`` are the stored JSON, parsed;
    ``prev_hash`` and ``hash`` link it into the chain."""

    seq: int
    at: datetime | str = Field(description="When (UTC); text if the stored value is damaged.")
    actor: str
    actor_user_id: int | None
    channel: str
    action: str
    outcome: Literal["allowed", "denied"] | str
    subject_type: str | None
    subject_id: str | None
    before: Any = None
    after: Any = None
    prev_hash: str
    hash: str

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "seq": 42,
                    "at": "2026-03-02T09:15:00+00:00",
                    "actor": "admin",
                    "actor_user_id": 1,
                    "channel": "api",
                    "action": "user.grant",
                    "outcome": "allowed",
                    "subject_type": "user",
                    "subject_id": "jdoe",
                    "before": {"roles": ["employee"]},
                    "after": {"roles": ["employee", "supervisor"]},
                    "prev_hash": "9f2c...",
                    "hash": "03ab...",
                }
            ]
        }
    )


class BreakOut(BaseModel):
    seq: int
    kind: str = Field(description="deleted, changed, inserted, reordered or truncated")
    reason: str


class VerifyOut(BaseModel):
    """The outcome of walking the whole chain; a broken chain is an answer, not an error."""

    intact: bool
    records: int
    first_seq: int | None
    head_seq: int | None
    head_hash: str
    anchor_seq: int | None = Field(description="Where expect_head was found, if given.")
    broken: BreakOut | None
    sentence: str

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "intact": True,
                    "records": 1204,
                    "first_seq": 1,
                    "head_seq": 1204,
                    "head_hash": "5d41...",
                    "anchor_seq": None,
                    "broken": None,
                    "sentence": "the audit trail is intact: 1,204 records (seq 1..1204), ...",
                }
            ]
        }
    )


def _parsed(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text  # damaged: shown as stored, so verify's finding can be inspected


def _record(row: dict[str, Any]) -> AuditRecordOut:
    fields = {**row, "before": _parsed(row.get("before")), "after": _parsed(row.get("after"))}
    return AuditRecordOut.model_validate(fields)


Action = Annotated[
    str | None,
    Query(max_length=64, description="An action (user.grant), or a prefix ending in * (import.*)."),
]
Since = Annotated[IsoDay | None, Query(description="First day (UTC), included.")]
Until = Annotated[IsoDay | None, Query(description="Last day (UTC), included.")]


@router.get(
    "/records",
    summary="Search the audit trail",
    response_model=Page[AuditRecordOut],
    responses=ERRORS,
)
def list_records(
    actor: CurrentActor,
    runtime: RuntimeDep,
    params: Paging,
    action: Action = None,
    subject_id: Annotated[str | None, Query(max_length=200)] = None,
    by: Annotated[str | None, Query(max_length=200, description="The acting username.")] = None,
    outcome: Annotated[Literal["allowed", "denied"] | None, Query()] = None,
    since: Since = None,
    until: Until = None,
) -> Page[AuditRecordOut]:
    """Matching records, newest first."""
    query = AuditQuery(
        action=action,
        subject_id=subject_id,
        actor=by,
        outcome=outcome,
        since=since,
        until=until,
        limit=params.limit,
        offset=params.offset,
    )
    rows = search_trail(runtime.engine, actor, query)
    total = count_trail(runtime.engine, actor, query)
    return Page[AuditRecordOut](
        items=[_record(r) for r in rows], total=total, limit=params.limit, offset=params.offset
    )


@router.get("/verify", summary="Verify the hash chain", response_model=VerifyOut, responses=ERRORS)
def verify(
    actor: CurrentActor,
    runtime: RuntimeDep,
    expect_head: Annotated[
        str | None,
        Query(
            pattern="^[0-9a-f]{64}$",
            description="A head hash from an earlier verify that must still be in the chain.",
        ),
    ] = None,
) -> VerifyOut:
    result = verify_trail(runtime.engine, actor, expect_head=expect_head)
    broken = result.broken
    return VerifyOut(
        intact=result.intact,
        records=result.records,
        first_seq=result.first_seq,
        head_seq=result.head_seq,
        head_hash=result.head_hash,
        anchor_seq=result.anchor_seq,
        broken=BreakOut(seq=broken.seq, kind=broken.kind, reason=broken.reason) if broken else None,
        sentence=result.sentence(),
    )


@router.get(
    "/export",
    summary="Download the trail as a file",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The records in seq order, verifiable offline (docs/audit.md).",
            "content": {"application/jsonl": {}, "text/csv": {}},
        },
        **ERRORS,
    },
)
def export(
    actor: CurrentActor,
    runtime: RuntimeDep,
    format: Annotated[ExportFormat, Query(description="jsonl or csv")] = ExportFormat.JSONL,
    since: Since = None,
    until: Until = None,
    purpose: PurposeQuery = None,
    recipient: RecipientQuery = None,
) -> FileResponse:
    """The records from ``since`` to ``until`` as one unbroken piece of the chain. The
    export is itself recorded in the trail, and in the disclosure ledger of the people the
    records are about."""
    said = stated(purpose, recipient)
    runtime.settings.tmp_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="audit-export-", dir=runtime.settings.tmp_dir))
    out = folder / f"audit.{format.value}"
    try:
        export_trail(runtime.engine, actor, out, format, since=since, until=until, said=said)
    except BaseException:
        _remove(folder)
        raise
    return FileResponse(
        out,
        media_type=MEDIA_TYPES[format],
        filename=f"audit-trail.{format.value}",
        background=BackgroundTask(_remove, folder),
    )


def _remove(folder: Path) -> None:
    for child in folder.iterdir():
        child.unlink(missing_ok=True)
    folder.rmdir()
