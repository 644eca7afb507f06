"""Use cases: list requests, show one, download a document (docs/exemptions.md).

What an actor sees is built through a per-role allowlist (``VIEW_FIELDS``): every reader
sees the category group, the states, the dates, the certifications with their (generic)
reasons and the non-medical documents; only the reasonable-accommodation coordinator sees
a confidential request's category, justification, decision notes and documents, read
from the medical store, and every such read is written to the audit trail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Row, and_, or_, select
from sqlalchemy.orm import Session

from dutystation.bootstrap import Runtime
from dutystation.domain.access import POLICY, SYSTEM, Actor, Operation, Role
from dutystation.domain.directive import ExemptionCategory
from dutystation.domain.exemptions import RequestStatus
from dutystation.errors import Forbidden, NotFound
from dutystation.services import documents, medical_store
from dutystation.services.audit import Change, denials_recorded, record
from dutystation.services.authorization import Subject, authorize
from dutystation.services.disclosures import Stated, record_document_download
from dutystation.services.exemption_guard import attempt, guarded_request, may_ever, restricted
from dutystation.services.exemption_records import (
    DOCUMENTS,
    EMPLOYEES,
    REQUESTS,
    SUBJECT_TYPE,
    certification_rows,
    facts,
)
from dutystation.store.db import write_transaction
from dutystation.store.repositories import org_subtree
from dutystation.store.schema import EmployeeAssignment, OrgUnit

NOTHING_STATED = Stated()

# What every reader of a request may see.
READER_FIELDS = frozenset(
    {
        "id",
        "employee_id",
        "employee_name",
        "category_group",
        "category",  # present for non-confidential categories only (see _candidate)
        "justification",  # likewise: a confidential justification is in the medical store
        "status",
        "requested_start",
        "requested_end",
        "approved_start",
        "approved_end",
        "filed_at",
        "filed_by",
        "decided_at",
        "renewal_of",
        "revoked_from",
        "revoke_reason",
        "expired_at",
        "directive_ref",
        "certifications_required",
        "certifications",
        "documents",
    }
)
# Read from the medical store, for the RA coordinator only.
MEDICAL_FIELDS = frozenset({"category", "justification", "medical_documents", "medical_notes"})
VIEW_FIELDS: Mapping[Role, frozenset[str]] = {
    **dict.fromkeys(POLICY[Operation.EXEMPTION_READ], READER_FIELDS),
    Role.RA_COORDINATOR: READER_FIELDS | MEDICAL_FIELDS,
}


@dataclass(frozen=True)
class RequestSummary:
    """One line of ``list``: nothing a supervisor may not see."""

    id: int
    employee_id: str
    category_group: str
    status: str
    requested_start: date
    requested_end: date | None
    approved_start: date | None
    approved_end: date | None
    org_unit: str | None  # as of today


def list_requests(
    runtime: Runtime,
    actor: Actor,
    *,
    status: RequestStatus | None = None,
    category_group: str | None = None,
    org_unit: str | None = None,
    today: date | None = None,
) -> list[RequestSummary]:
    """The requests of the people in the actor's scope, newest first; ``org_unit`` keeps
    those of people in that unit or below it today."""
    day = today or date.today()
    with runtime.engine.connect() as conn:
        may_ever(actor, Operation.EXEMPTION_READ)
        a = EmployeeAssignment
        in_force = and_(
            a.employee_pk == REQUESTS.c.employee_pk,
            a.effective_from <= day,
            or_(a.effective_to.is_(None), a.effective_to > day),
        )
        query = (
            select(REQUESTS, EMPLOYEES.c.employee_id, OrgUnit.code.label("org_unit"))
            .join(EMPLOYEES, EMPLOYEES.c.id == REQUESTS.c.employee_pk)
            .outerjoin(a, in_force)
            .outerjoin(OrgUnit, OrgUnit.id == a.org_unit_id)
            .order_by(REQUESTS.c.id.desc())
        )
        if status is not None:
            query = query.where(REQUESTS.c.status == status.value)
        if category_group is not None:
            query = query.where(REQUESTS.c.category_group == category_group)
        if org_unit is not None:
            query = query.where(OrgUnit.code.in_(_units_under(conn, org_unit)))
        visible: dict[int, bool] = {}
        found = []
        for row in conn.execute(query):
            pk = row.employee_pk
            if pk not in visible:
                visible[pk] = _may(conn, actor, Operation.EXEMPTION_READ, pk, day)
            if visible[pk]:
                found.append(
                    RequestSummary(
                        row.id,
                        row.employee_id,
                        row.category_group,
                        row.status,
                        row.requested_start,
                        row.requested_end,
                        row.approved_start,
                        row.approved_end,
                        row.org_unit,
                    )
                )
        return found


def _units_under(conn: Connection, code: str) -> list[str]:
    """The unit and those below it; none for a code nobody has. A filter on an unknown
    unit finds nothing, like one on a unit outside the scope: answering "does not exist"
    for the one and an empty page for the other would tell which units exist."""
    with Session(bind=conn) as session:
        try:
            return org_subtree(session, code)
        except NotFound:
            return []


def _may(conn: Connection, actor: Actor, operation: Operation, employee_pk: int, day: date) -> bool:
    try:
        authorize(conn, actor, operation, Subject(employee_pk=employee_pk), today=day)
    except (NotFound, Forbidden):
        return False
    return True


def show_request(runtime: Runtime, actor: Actor, request_id: int) -> dict[str, Any]:
    """The request as the actor may see it: keys from ``VIEW_FIELDS`` of the roles that
    let them read it. A confidential request's medical fields are added for the RA
    coordinator, and that read is audited."""
    refused = attempt(Operation.EXEMPTION_READ, request_id)
    with denials_recorded(runtime.engine, actor, refused), runtime.engine.connect() as conn:
        row, _ = guarded_request(conn, actor, Operation.EXEMPTION_READ, request_id)
        allowed = _allowed_fields(conn, actor, row.employee_pk)
        view = _candidate(conn, row)
        medical = ExemptionCategory(row.category).confidential and _may(
            conn, actor, Operation.EXEMPTION_READ_MEDICAL, row.employee_pk, date.today()
        )
    if medical:
        with write_transaction(runtime.engine) as conn:
            try:
                record_ = medical_store.get(conn, runtime.settings, request_id)
            except NotFound:  # an imported record: nothing was filed with it
                record_ = medical_store.MedicalRecord(request_id, {}, ())
            view |= {
                "category": row.category,
                "justification": record_.fields.get("justification"),
                "medical_documents": [
                    {
                        "position": n,
                        "file_name": d.file_name,
                        "media_type": d.media_type,
                        "size": d.size,
                    }
                    for n, d in enumerate(record_.documents, start=1)
                ],
                "medical_notes": {k: v for k, v in record_.fields.items() if k != "justification"},
            }
            _record_read(conn, actor, request_id, Operation.EXEMPTION_READ_MEDICAL, {})
    return {k: v for k, v in view.items() if k in allowed}


def _allowed_fields(conn: Connection, actor: Actor, employee_pk: int) -> frozenset[str]:
    if actor is SYSTEM:
        return READER_FIELDS
    fields: set[str] = set()
    for grant in actor.grants:
        one = restricted(actor, (grant,))
        if grant.role in VIEW_FIELDS and _may(
            conn, one, Operation.EXEMPTION_READ, employee_pk, date.today()
        ):
            fields |= VIEW_FIELDS[grant.role]
    return frozenset(fields)


def _candidate(conn: Connection, row: Row[Any]) -> dict[str, Any]:
    """Every field a non-medical reader could see; nothing from the medical store."""
    request = facts(row)
    certs = [
        {
            "certifier": c.certifier,
            "decision": c.decision,
            "by": c.username,
            "at": c.at,
            "reason": c.reason,
            "approves": (c.approve_start, c.approve_end) if c.approve_start else None,
        }
        for c in certification_rows(conn, row.id)
    ]
    view: dict[str, Any] = {
        "id": row.id,
        "employee_id": row.employee_id,
        "employee_name": row.employee_name,
        "category_group": row.category_group,
        "status": row.status,
        "requested_start": row.requested_start,
        "requested_end": row.requested_end,
        "approved_start": row.approved_start,
        "approved_end": row.approved_end,
        "filed_at": row.filed_at,
        "filed_by": row.filed_by,
        "decided_at": row.decided_at,
        "renewal_of": row.renewal_of_id,
        "revoked_from": row.revoked_from,
        "revoke_reason": row.revoke_reason,
        "expired_at": row.expired_at,
        "directive_ref": row.directive_ref,
        "certifications_required": [c.value for c in request.required],
        "certifications": certs,
    }
    if not request.category.confidential:
        docs = conn.execute(
            select(DOCUMENTS).where(DOCUMENTS.c.request_id == row.id).order_by(DOCUMENTS.c.position)
        ).all()
        view |= {
            "category": row.category,
            "justification": row.justification,
            "documents": [
                {
                    "position": d.position,
                    "file_name": d.file_name,
                    "media_type": d.media_type,
                    "size": d.size,
                }
                for d in docs
            ],
        }
    return view


def _record_read(
    conn: Connection, actor: Actor, request_id: int, operation: Operation, what: dict[str, Any]
) -> None:
    record(
        conn,
        actor,
        Change(
            action=operation.value,
            subject_type=SUBJECT_TYPE,
            subject_id=str(request_id),
            after=what or None,
        ),
    )


@dataclass(frozen=True)
class Download:
    """A document's bytes with a server-made file name (``documents.download_name``) and
    its detected media type; ``download_headers`` gives what a web response must carry."""

    file_name: str
    media_type: str
    data: bytes = b""

    def __repr__(self) -> str:  # the bytes are the document
        return f"Download({self.file_name!r}, {self.media_type!r}, {len(self.data)} bytes)"


def download_document(
    runtime: Runtime,
    actor: Actor,
    request_id: int,
    position: int,
    said: Stated = NOTHING_STATED,
) -> Download:
    """Document ``position`` (1, 2, ...) of a request. For a confidential category it is
    a medical document: ``exemption.read_medical`` is needed, not just ``exemption.read``.
    Every download is audited, and one by anyone but the request's subject is recorded in
    the subject's disclosure ledger (``said``: purpose and recipient)."""
    sentence = f"request {request_id} has no document {position}"
    today = date.today()
    refused = attempt(Operation.EXEMPTION_READ, request_id)
    with (
        denials_recorded(runtime.engine, actor, refused),
        write_transaction(runtime.engine) as conn,
    ):
        row, _ = guarded_request(conn, actor, Operation.EXEMPTION_READ, request_id)
        if ExemptionCategory(row.category).confidential:
            # Out of reach answers like a missing document, whichever the reason.
            if not _may(conn, actor, Operation.EXEMPTION_READ_MEDICAL, row.employee_pk, today):
                raise NotFound(sentence)
            try:
                medical = medical_store.get(conn, runtime.settings, request_id).documents
            except NotFound:
                medical = ()
            if not 1 <= position <= len(medical):
                raise NotFound(sentence)
            doc = medical[position - 1]
            data = documents.load(runtime.settings, doc.sha256, medical=True)
            operation, media_type = Operation.EXEMPTION_READ_MEDICAL, doc.media_type
        else:
            found = conn.execute(
                select(DOCUMENTS).where(
                    DOCUMENTS.c.request_id == request_id, DOCUMENTS.c.position == position
                )
            ).first()
            if found is None:
                raise NotFound(sentence)
            data = documents.load(runtime.settings, found.sha256, medical=False)
            operation, media_type = Operation.EXEMPTION_READ, found.media_type
        _record_read(conn, actor, request_id, operation, {"document": position})
        record_document_download(conn, actor, request_id, position, row.employee_pk, said)
        name = documents.download_name(request_id, position, media_type)
        return Download(name, media_type, data)
