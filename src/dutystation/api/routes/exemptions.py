"""Exemption requests over HTTP: ``services.exemption_*`` (docs/exemptions.md).

Who may see or do what is the services' business: a request outside the caller's scope
answers 404 exactly like a missing one, a role that never may answers 403. What a reader
sees is the service's role-filtered view, answered as it is (``ExemptionView``): medical
fields reach the reasonable-accommodation coordinator only. Documents are always
downloads (``documents.download_headers``), never shown inline.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, Request, Response, UploadFile

from dutystation.api.deps import CurrentActor, RuntimeDep, WritingActor
from dutystation.api.errors import problem_responses
from dutystation.api.pagination import Page, Paging
from dutystation.api.routes.codes import GROUP_PATTERN, ID_PATTERN, Day
from dutystation.api.routes.disclosures import PurposeQuery, RecipientQuery
from dutystation.api.routes.exemption_models import (
    CATEGORIES_HELP,
    CertificationIn,
    Certified,
    Changed,
    ExemptionSummary,
    ExemptionView,
    Expired,
    ExpiryIn,
    Filed,
    RevocationIn,
)
from dutystation.domain.directive import ExemptionCategory
from dutystation.domain.exemptions import RequestStatus
from dutystation.errors import InvalidRequest
from dutystation.evaluation_inputs import CATEGORY_ALIASES
from dutystation.services import exemptions
from dutystation.services.disclosures import stated
from dutystation.services.documents import Upload, download_headers
from dutystation.settings import Settings

router = APIRouter(prefix="/exemptions", tags=["exemptions"])

REQUEST_ID = Path(ge=1, le=2**31 - 1, description="The exemption request's number.")
RequestId = Annotated[int, REQUEST_ID]
READ_ERRORS = problem_responses(401, 403, 404, 422)
WRITE_ERRORS = problem_responses(401, 403, 404, 409, 413, 422)
DOCUMENTS_HELP = (
    "Supporting documents (repeat the field): PDF, PNG, JPEG, plain text, DOCX or ODT, "
    "judged by their bytes; see docs/documents.md for the limits."
)
DOWNLOAD_TYPES = {
    t: {"schema": {"type": "string", "format": "binary"}}
    for t in (
        "application/pdf",
        "image/png",
        "image/jpeg",
        "text/plain",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.oasis.opendocument.text",
        "application/octet-stream",
    )
}


def _category(text: str) -> ExemptionCategory:
    value = text.strip().lower()
    if value in CATEGORY_ALIASES:
        return CATEGORY_ALIASES[value]
    try:
        return ExemptionCategory(value)
    except ValueError:
        choices = ", ".join(c.value for c in ExemptionCategory)
        raise InvalidRequest(f"category {text!r} is not one of: {choices}") from None


def _uploads(files: list[UploadFile] | None, settings: Settings) -> tuple[Upload, ...]:
    """The uploaded documents, each read up to one byte past the size limit: the
    documents service refuses a larger one by its position (the body limit has already
    refused anything far larger). The browser's file name is kept for the service, which
    stores it apart for medical requests; it is never echoed back."""
    limit = settings.document_max_bytes + 1
    return tuple(Upload(f.filename or "", f.file.read(limit)) for f in files or [])


def _location(request: Request, request_id: int) -> str:
    return request.url_for("show_exemption", request_id=request_id).path


@router.get(
    "",
    summary="List exemption requests",
    response_model=Page[ExemptionSummary],
    responses=READ_ERRORS,
)
def list_exemptions(
    runtime: RuntimeDep,
    actor: CurrentActor,
    params: Paging,
    status: Annotated[RequestStatus | None, Query(description="Only this status.")] = None,
    category_group: Annotated[
        str | None,
        Query(
            pattern=GROUP_PATTERN,
            description="Only this group: medical_disability, or a non-medical category.",
        ),
    ] = None,
    org_unit: Annotated[
        str | None,
        Query(pattern=ID_PATTERN, description="Only people in this unit or below, today."),
    ] = None,
    employee: Annotated[
        str | None, Query(pattern=ID_PATTERN, description="Only this person (HR id).")
    ] = None,
) -> Page[ExemptionSummary]:
    """The requests of the people in your scope, newest first."""
    found = exemptions.list_requests(
        runtime, actor, status=status, category_group=category_group, org_unit=org_unit
    )
    if employee is not None:
        found = [s for s in found if s.employee_id == employee]
    return Page.of([ExemptionSummary.of(s) for s in found], params)


@router.get(
    "/{request_id}",
    summary="Show an exemption request",
    response_model=ExemptionView,
    response_model_exclude_unset=True,
    responses=READ_ERRORS,
)
def show_exemption(runtime: RuntimeDep, actor: CurrentActor, request_id: RequestId) -> Any:
    """The request as your roles let you see it; a medical request's justification,
    category, documents and decision notes only for the reasonable-accommodation
    coordinator (that read is audited)."""
    return ExemptionView.model_validate(exemptions.show_request(runtime, actor, request_id))


@router.post(
    "",
    summary="File an exemption request",
    status_code=201,
    response_model=Filed,
    responses=WRITE_ERRORS,
)
def file_exemption(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    actor: WritingActor,
    employee_id: Annotated[str, Form(pattern=ID_PATTERN, description="HR id.")],
    category: Annotated[str, Form(max_length=64, description=CATEGORIES_HELP)],
    start: Annotated[Day, Form(description="First day.")],
    end: Annotated[Day, Form(description="Last day (included).")],
    justification: Annotated[str, Form(max_length=20_000, description="Why it is needed.")],
    documents: Annotated[list[UploadFile] | None, File(description=DOCUMENTS_HELP)] = None,
) -> Filed:
    """For yourself, or (as their supervisor) for a report. A multipart form; the
    documents are checked by content and nothing is stored if one is refused."""
    new = exemptions.NewRequest(
        employee_id=employee_id,
        category=_category(category),
        start=start,
        end=end,
        justification=justification,
        documents=_uploads(documents, runtime.settings),
    )
    request_id = exemptions.request_exemption(runtime, actor, new)
    response.headers["Location"] = _location(request, request_id)
    return Filed(id=request_id)


@router.post(
    "/{request_id}/certifications",
    summary="Certify (approve or deny) a request",
    response_model=Certified,
    responses=WRITE_ERRORS,
)
def certify_exemption(
    runtime: RuntimeDep, actor: WritingActor, request_id: RequestId, body: CertificationIn
) -> Certified:
    """Give your required certification, with a reason. The request is approved when every
    required certification approves it (for the days all of them agreed to), denied by
    the first denial."""
    done = exemptions.certify(
        runtime,
        actor,
        request_id,
        body.decision,
        body.reason,
        start=body.start,
        end=body.end,
        certifier=body.certifier,
    )
    approved = done.approved
    return Certified(
        id=request_id,
        certifier=done.certifier,
        status=done.status,
        approved_start=approved.start if approved else None,
        approved_end=approved.end if approved else None,
    )


@router.post(
    "/{request_id}/withdraw",
    summary="Withdraw a pending request",
    response_model=Changed,
    responses=WRITE_ERRORS,
)
def withdraw_exemption(runtime: RuntimeDep, actor: WritingActor, request_id: RequestId) -> Changed:
    """The employee, or their supervisor, before a decision."""
    exemptions.withdraw_request(runtime, actor, request_id)
    return Changed(id=request_id, status=RequestStatus.WITHDRAWN)


@router.post(
    "/{request_id}/revoke",
    summary="Revoke an approved exemption from a day on",
    response_model=Changed,
    responses=WRITE_ERRORS,
)
def revoke_exemption(
    runtime: RuntimeDep, actor: WritingActor, request_id: RequestId, body: RevocationIn
) -> Changed:
    """A certifying official or TMO ends the coverage from a day within the approved
    dates, with a reason."""
    exemptions.revoke(runtime, actor, request_id, body.from_day, body.reason)
    return Changed(id=request_id, status=RequestStatus.REVOKED)


@router.post(
    "/{request_id}/renewals",
    summary="Renew an approved or expired exemption",
    status_code=201,
    response_model=Filed,
    responses=WRITE_ERRORS,
)
def renew_exemption(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    actor: WritingActor,
    request_id: RequestId,
    end: Annotated[Day, Form(description="Last day (included).")],
    justification: Annotated[str, Form(max_length=20_000, description="Why it is still needed.")],
    start: Annotated[
        Day | None, Form(description="First day (default: the day after it ends).")
    ] = None,
    documents: Annotated[list[UploadFile] | None, File(description=DOCUMENTS_HELP)] = None,
) -> Filed:
    """A new request in the same category, linked to this one (a multipart form)."""
    new_id = exemptions.renew_exemption(
        runtime,
        actor,
        request_id,
        end=end,
        start=start,
        justification=justification,
        uploads=_uploads(documents, runtime.settings),
    )
    response.headers["Location"] = _location(request, new_id)
    return Filed(id=new_id, renewal_of=request_id)


@router.post(
    "/expire",
    summary="Mark ended exemptions expired",
    response_model=Expired,
    responses=problem_responses(401, 403, 422),
)
def expire_exemptions(
    runtime: RuntimeDep, actor: WritingActor, body: ExpiryIn | None = None
) -> Expired:
    """Housekeeping for a TMO, HR or an agency administrator: approved exemptions in your
    scope whose last day is before ``today`` (default: today) become expired."""
    today = body.today if body is not None and body.today else date.today()
    return Expired(expired=exemptions.expire_due(runtime, actor, today))


@router.get(
    "/{request_id}/documents/{position}",
    summary="Download a document of a request",
    response_class=Response,
    responses={200: {"content": DOWNLOAD_TYPES, "description": "The document."}, **READ_ERRORS},
)
def download_document(
    runtime: RuntimeDep,
    actor: CurrentActor,
    request_id: RequestId,
    position: Annotated[int, Path(ge=1, le=1000, description="1, 2, ...")],
    purpose: PurposeQuery = None,
    recipient: RecipientQuery = None,
) -> Response:
    """Always an attachment with a server-made name (never the uploader's), its detected
    type, no sniffing, no caching and a sandbox. A medical document only for the
    reasonable-accommodation coordinator; every download is audited, and one by anyone
    but the employee it is about is recorded in their disclosure ledger."""
    said = stated(purpose, recipient)
    found = exemptions.download_document(runtime, actor, request_id, position, said)
    headers = download_headers(found.media_type, found.file_name)
    media_type = headers.pop("Content-Type")
    return Response(content=found.data, media_type=media_type, headers=headers)
