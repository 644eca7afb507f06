"""Reading the exemption tables for the workflow services and the evaluation.

Shared by ``exemption_requests``, ``exemption_decisions``, ``exemption_views`` and
``exemption_import``: stored rows turned into the domain's ``RequestFacts``, the audit
picture of a request (never its justification, never a confidential category), and
``stored_exemption_inputs``, what the compliance engine is told.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Row, Table, select

from dutystation.domain.directive import Certifier, ExemptionCategory
from dutystation.domain.exemptions import (
    Certification,
    Decision,
    RequestFacts,
    RequestStatus,
    Span,
)
from dutystation.domain.inputs import EmployeeExemption, ExemptionRequest
from dutystation.domain.status import ApprovedExemption
from dutystation.store.schema import Employee
from dutystation.store.schema_exemptions import (
    ExemptionCertification,
    ExemptionDocument,
)
from dutystation.store.schema_exemptions import (
    ExemptionRequest as RequestRow,
)

REQUESTS = cast(Table, RequestRow.__table__)
CERTIFICATIONS = cast(Table, ExemptionCertification.__table__)
DOCUMENTS = cast(Table, ExemptionDocument.__table__)
EMPLOYEES = cast(Table, Employee.__table__)
SUBJECT_TYPE = "exemption_request"


def not_found(request_id: int) -> str:
    """The one sentence for a request that does not exist or is out of scope."""
    return f"no exemption request {request_id}"


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def utc_date(moment: datetime) -> date:
    """The calendar day of a stored moment (SQLite hands back naive UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).date()


def load_request(conn: Connection, request_id: int) -> Row[Any] | None:
    """The request's row with the employee's HR id as ``employee_id``."""
    query = (
        select(REQUESTS, EMPLOYEES.c.employee_id, EMPLOYEES.c.name.label("employee_name"))
        .join(EMPLOYEES, EMPLOYEES.c.id == REQUESTS.c.employee_pk)
        .where(REQUESTS.c.id == request_id)
    )
    return conn.execute(query).first()


def facts(row: Row[Any] | Mapping[str, Any]) -> RequestFacts:
    m = row._mapping if isinstance(row, Row) else row
    approved = (
        Span(m["approved_start"], m["approved_end"]) if m["approved_start"] is not None else None
    )
    return RequestFacts(
        id=m["id"],
        employee_pk=m["employee_pk"],
        category=ExemptionCategory(m["category"]),
        status=RequestStatus(m["status"]),
        requested=Span(m["requested_start"], m["requested_end"]),
        required=required_of(m["certifiers_required"]),
        filed_by_user_id=m["filed_by_user_id"],
        approved=approved,
        revoked_from=m["revoked_from"],
    )


def required_of(text: str) -> tuple[Certifier, ...]:
    return tuple(Certifier(c) for c in text.split(",") if c)


def person_requests(conn: Connection, employee_pk: int) -> list[RequestFacts]:
    rows = conn.execute(
        select(REQUESTS).where(REQUESTS.c.employee_pk == employee_pk).order_by(REQUESTS.c.id)
    ).all()
    return [facts(r) for r in rows]


def certification_rows(conn: Connection, request_id: int) -> list[Row[Any]]:
    return list(
        conn.execute(
            select(CERTIFICATIONS)
            .where(CERTIFICATIONS.c.request_id == request_id)
            .order_by(CERTIFICATIONS.c.id)
        ).all()
    )


def certifications(rows: Sequence[Row[Any]]) -> list[Certification]:
    found = []
    for r in rows:
        approves = Span(r.approve_start, r.approve_end) if r.approve_start is not None else None
        found.append(
            Certification(Certifier(r.certifier), r.user_id, Decision(r.decision), approves)
        )
    return found


def employee_pk_of(conn: Connection, employee_id: str) -> int | None:
    return conn.scalar(select(EMPLOYEES.c.id).where(EMPLOYEES.c.employee_id == employee_id))


def audit_picture(row: Row[Any] | Mapping[str, Any]) -> dict[str, Any]:
    """What the audit trail keeps of a request: states and dates, the category group, and
    the category only when it is not confidential. Never the justification, documents or
    reasons of a confidential request."""
    m = row._mapping if isinstance(row, Row) else row
    category = ExemptionCategory(m["category"])
    picture: dict[str, Any] = {
        "employee_pk": m["employee_pk"],
        "category_group": m["category_group"],
        "status": m["status"],
        "requested": _span_text(m["requested_start"], m["requested_end"]),
    }
    if not category.confidential:
        picture["category"] = category.value
    if m.get("approved_start") is not None:
        picture["approved"] = _span_text(m["approved_start"], m["approved_end"])
    if m.get("revoked_from") is not None:
        picture["revoked_from"] = m["revoked_from"].isoformat()
    if m.get("renewal_of_id") is not None:
        picture["renewal_of"] = m["renewal_of_id"]
    return picture


def _span_text(start: date, end: date | None) -> str:
    return f"{start.isoformat()}..{end.isoformat() if end else ''}"


def stored_exemption_inputs(
    source: Connection | Engine,
) -> tuple[tuple[EmployeeExemption, ...], tuple[ExemptionRequest, ...]]:
    """What the compliance engine is told: every exemption that covers (or covered) days
    (approved, expired, revoked up to the day before its revocation), and every request
    with the day it was filed and the day it stopped being pending (None: still pending),
    in the order the requests were stored."""
    if isinstance(source, Engine):
        with source.connect() as conn:
            return stored_exemption_inputs(conn)
    query = (
        select(REQUESTS, EMPLOYEES.c.employee_id)
        .join(EMPLOYEES, EMPLOYEES.c.id == REQUESTS.c.employee_pk)
        .order_by(REQUESTS.c.id)
    )
    approved: list[EmployeeExemption] = []
    requests: list[ExemptionRequest] = []
    for row in source.execute(query):
        request = facts(row)
        covered = request.coverage
        if request.status is not RequestStatus.SUBMITTED and covered is not None:
            exemption = ApprovedExemption(request.category, covered.start, covered.end)
            approved.append(EmployeeExemption(row.employee_id, exemption))
        decided = utc_date(row.decided_at) if row.decided_at is not None else None
        filed = utc_date(row.filed_at)
        requests.append(ExemptionRequest(row.employee_id, request.category, filed, decided))
    return tuple(approved), tuple(requests)
