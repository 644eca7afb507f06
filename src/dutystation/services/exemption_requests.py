"""Use cases: file an exemption request (for oneself, or as a supervisor for a report),
renew an exemption, withdraw a request (docs/exemptions.md).

Every refusal is one sentence and changes nothing: documents are checked by content
before the transaction opens, and the rows, the document metadata, the medical record and
the audit record are written in one transaction. For a confidential category the
justification and the documents (names included) go to the medical store only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NoReturn

from sqlalchemy import Connection, insert, update

from dutystation.bootstrap import Runtime
from dutystation.domain.access import Actor, Operation
from dutystation.domain.directive import ExemptionCategory
from dutystation.domain.exemptions import (
    InvalidRequest,
    RequestFacts,
    RequestStatus,
    Span,
    category_group,
    check_category,
    check_no_overlap,
    check_span,
    check_withdraw,
    renewal_start,
)
from dutystation.errors import NotFound
from dutystation.services import documents, medical_store
from dutystation.services.audit import Change, denials_recorded, record
from dutystation.services.authorization import Subject, authorize
from dutystation.services.documents import Upload
from dutystation.services.exemption_directives import Directives
from dutystation.services.exemption_guard import attempt, guarded_request, may_ever, translated
from dutystation.services.exemption_records import (
    DOCUMENTS,
    REQUESTS,
    SUBJECT_TYPE,
    audit_picture,
    employee_pk_of,
    facts,
    person_requests,
    utc_now,
)
from dutystation.store.db import write_transaction
from dutystation.store.snapshot_rows import mark_stale

MAX_JUSTIFICATION_CHARS = 20_000


@dataclass(frozen=True)
class NewRequest:
    """What a requester gives: whose, which category, which days (both included), why,
    and supporting documents."""

    employee_id: str
    category: ExemptionCategory
    start: date
    end: date
    justification: str
    documents: tuple[Upload, ...] = ()


@dataclass(frozen=True)
class _Checked:
    justification: str
    documents: tuple[tuple[Upload, str, int], ...]  # upload, media type, size


def _check_inputs(runtime: Runtime, justification: str, uploads: Sequence[Upload]) -> _Checked:
    text = justification.strip()
    with translated():
        if not text:
            raise InvalidRequest("a request needs a justification")
        if len(text) > MAX_JUSTIFICATION_CHARS:
            raise InvalidRequest(
                f"a justification may be at most {MAX_JUSTIFICATION_CHARS:,} characters; "
                "attach a document for more"
            )
    found = documents.inspect_all(uploads, runtime.settings)
    return _Checked(text, tuple((u, m, s) for u, (m, s) in zip(uploads, found, strict=True)))


def request_exemption(
    runtime: Runtime, actor: Actor, new: NewRequest, *, now: datetime | None = None
) -> int:
    """File ``new``; returns the request's id. The binding directive on the start date
    must allow the category, and the person may have no other exemption or pending
    request on any of those days."""
    checked = _check_inputs(runtime, new.justification, new.documents)
    sentence = f"no employee {new.employee_id!r}"
    # A refusal names whom the request was for (the request itself does not exist yet).
    refused = Change(Operation.EXEMPTION_REQUEST.value, "employee", new.employee_id)
    with (
        denials_recorded(runtime.engine, actor, refused),
        write_transaction(runtime.engine) as conn,
    ):
        may_ever(actor, Operation.EXEMPTION_REQUEST)
        employee_pk = employee_pk_of(conn, new.employee_id)
        if employee_pk is None:
            raise NotFound(sentence)
        subject = Subject(employee_pk=employee_pk)
        authorize(conn, actor, Operation.EXEMPTION_REQUEST, subject, not_found=sentence)
        span = Span(new.start, new.end)
        who = (employee_pk, new.employee_id)
        return _file(conn, runtime, actor, who, new.category, span, checked, None, now)


def refuse_unlinked(runtime: Runtime, actor: Actor) -> NoReturn:
    """Refuse a request "for oneself" by an account linked to no employee record, like a
    request for nobody, and record the refusal (every refused attempt is audited)."""
    refused = Change(Operation.EXEMPTION_REQUEST.value, "employee", None)
    with denials_recorded(runtime.engine, actor, refused):
        raise NotFound("your account is not linked to an employee record")


def renew_exemption(
    runtime: Runtime,
    actor: Actor,
    request_id: int,
    *,
    end: date,
    justification: str,
    start: date | None = None,
    uploads: Sequence[Upload] = (),
    now: datetime | None = None,
) -> int:
    """File a renewal of an approved (or expired) exemption: a new request in the same
    category, linked to it, starting at the earliest (and by default) the day after the
    old one ends. Returns the new request's id."""
    checked = _check_inputs(runtime, justification, uploads)
    refused = attempt(Operation.EXEMPTION_REQUEST, request_id)
    with (
        denials_recorded(runtime.engine, actor, refused),
        write_transaction(runtime.engine) as conn,
    ):
        row, _ = guarded_request(conn, actor, Operation.EXEMPTION_REQUEST, request_id)
        old = facts(row)
        with translated():
            earliest = renewal_start(old)
            first = start or earliest
            if first < earliest:
                raise InvalidRequest(
                    f"a renewal of request {old.id} starts on {earliest.isoformat()} at the "
                    "earliest, the day after it ends"
                )
        who = (old.employee_pk, row.employee_id)
        return _file(conn, runtime, actor, who, old.category, Span(first, end), checked, old, now)


def _file(
    conn: Connection,
    runtime: Runtime,
    actor: Actor,
    who: tuple[int, str],
    category: ExemptionCategory,
    span: Span,
    checked: _Checked,
    renewal_of: RequestFacts | None,
    now: datetime | None,
) -> int:
    settings = runtime.settings
    employee_pk, employee_id = who
    judged = Directives(runtime, conn).require(conn, employee_pk, employee_id, span.start)
    with translated():
        check_span(span, settings.exemption_max_days)
        check_category(category, judged.allowed, judged.directive_ref or "")
        check_no_overlap(employee_id, span, person_requests(conn, employee_pk))
    confidential = category.confidential
    moment = now or utc_now()
    values: dict[str, Any] = {
        "employee_pk": employee_pk,
        "category": category.value,
        "category_group": category_group(category),
        "directive_ref": judged.directive_ref,
        "certifiers_required": ",".join(c.value for c in judged.required),
        "requested_start": span.start,
        "requested_end": span.end,
        "justification": None if confidential else checked.justification,
        "status": RequestStatus.SUBMITTED.value,
        "filed_by_user_id": actor.user_id,
        "filed_by": actor.username,
        "filed_at": moment,
        "renewal_of_id": renewal_of.id if renewal_of else None,
    }
    inserted = conn.execute(insert(REQUESTS).values(**values).returning(REQUESTS.c.id))
    request_id = int(inserted.scalar_one())
    stored = [
        documents.save(settings, upload, medical=confidential, position=n)
        for n, (upload, _, _) in enumerate(checked.documents, start=1)
    ]
    if confidential:
        medical_store.put(
            conn,
            settings,
            request_id,
            {"justification": checked.justification},
            [
                medical_store.MedicalDocument(s.sha256, upload.file_name, s.media_type, s.size)
                for s, (upload, _, _) in zip(stored, checked.documents, strict=True)
            ],
        )
    elif stored:
        conn.execute(
            insert(DOCUMENTS),
            [
                {
                    "request_id": request_id,
                    "position": n,
                    "sha256": s.sha256,
                    "file_name": upload.file_name,
                    "media_type": s.media_type,
                    "size": s.size,
                }
                for n, (s, (upload, _, _)) in enumerate(
                    zip(stored, checked.documents, strict=True), start=1
                )
            ],
        )
    after = {**audit_picture(values), "documents": len(stored)}
    # A pending request changes the employee's status (pending exemption): pages that read
    # the evaluation snapshot say it is out of date until the next refresh.
    mark_stale(conn, Operation.EXEMPTION_REQUEST.value)
    record(
        conn,
        actor,
        Change(
            action=Operation.EXEMPTION_REQUEST.value,
            subject_type=SUBJECT_TYPE,
            subject_id=str(request_id),
            after=after,
        ),
    )
    return request_id


def withdraw_request(
    runtime: Runtime, actor: Actor, request_id: int, *, now: datetime | None = None
) -> None:
    """Withdraw a request that is still pending (the employee, or their supervisor)."""
    refused = attempt(Operation.EXEMPTION_WITHDRAW, request_id)
    with (
        denials_recorded(runtime.engine, actor, refused),
        write_transaction(runtime.engine) as conn,
    ):
        row, _ = guarded_request(conn, actor, Operation.EXEMPTION_WITHDRAW, request_id)
        with translated():
            check_withdraw(facts(row))
        moment = now or utc_now()
        changed = {"status": RequestStatus.WITHDRAWN.value, "decided_at": moment}
        conn.execute(update(REQUESTS).where(REQUESTS.c.id == request_id).values(**changed))
        mark_stale(conn, Operation.EXEMPTION_WITHDRAW.value)  # no longer pending: see _file
        before = audit_picture(row)
        record(
            conn,
            actor,
            Change(
                action=Operation.EXEMPTION_WITHDRAW.value,
                subject_type=SUBJECT_TYPE,
                subject_id=str(request_id),
                before=before,
                after={**before, "status": RequestStatus.WITHDRAWN.value},
            ),
        )
