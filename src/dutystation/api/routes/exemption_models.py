"""Request and response models of ``/api/v1/exemptions`` (docs/exemptions.md).

``ExemptionView`` only carries what ``services.exemption_views.show_request`` returned for
the caller: it is built from the service's dict and answered without the keys the service
left out, so a supervisor's answer has no ``justification`` key at all for a medical
request, rather than a null one.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from dutystation.api.routes.codes import Day, UtcDateTime
from dutystation.domain.directive import Certifier
from dutystation.domain.exemptions import Decision, RequestStatus
from dutystation.services.exemption_views import RequestSummary

CATEGORIES_HELP = (
    "disability_accommodation, medical_condition, compelling_reason, lack_of_office_space, "
    "physical_incapacity or legal_impediment (OPM's qualifying_medical_condition and "
    "reasonable_accommodation are accepted too); the directive binding the person on the "
    "start day must allow it."
)
MEDICAL_ONLY = "Only for the reasonable-accommodation coordinator, for a medical request."


class ExemptionSummary(BaseModel):
    """One line of the list: nothing a supervisor may not see."""

    id: int
    employee_id: str
    category_group: str = Field(
        description="medical_disability for the confidential categories, else the category."
    )
    status: RequestStatus
    requested_start: date
    requested_end: date | None
    approved_start: date | None
    approved_end: date | None
    org_unit: str | None = Field(description="The person's org unit today.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": 42,
                    "employee_id": "00001234",
                    "category_group": "medical_disability",
                    "status": "submitted",
                    "requested_start": "2025-02-24",
                    "requested_end": "2025-05-23",
                    "approved_start": None,
                    "approved_end": None,
                    "org_unit": "DEA-ECA",
                }
            ]
        }
    }

    @classmethod
    def of(cls, s: RequestSummary) -> ExemptionSummary:
        return cls(
            id=s.id,
            employee_id=s.employee_id,
            category_group=s.category_group,
            status=RequestStatus(s.status),
            requested_start=s.requested_start,
            requested_end=s.requested_end,
            approved_start=s.approved_start,
            approved_end=s.approved_end,
            org_unit=s.org_unit,
        )


class CertificationOut(BaseModel):
    certifier: Certifier
    decision: Decision
    by: str = Field(description="Username of the certifier.")
    at: UtcDateTime
    reason: str = Field(
        description="The certifier's reason; for a medical request a generic sentence (the "
        "reason itself is in the medical store)."
    )
    approves: tuple[date, date] | None = Field(
        None, description="The days an approval agrees to (first, last)."
    )


class DocumentOut(BaseModel):
    position: int = Field(description="1, 2, ...: the number to download it by.")
    file_name: str
    media_type: str
    size: int = Field(description="Bytes.")


class ExemptionView(BaseModel):
    """A request as the caller may see it. Keys the caller may not see are absent."""

    id: int | None = None
    employee_id: str | None = None
    employee_name: str | None = None
    category_group: str | None = None
    category: str | None = Field(
        None, description="Present for non-medical categories; for medical ones: " + MEDICAL_ONLY
    )
    justification: str | None = Field(
        None, description="Present for non-medical categories; for medical ones: " + MEDICAL_ONLY
    )
    status: RequestStatus | None = None
    requested_start: date | None = None
    requested_end: date | None = None
    approved_start: date | None = None
    approved_end: date | None = None
    filed_at: UtcDateTime | None = None
    filed_by: str | None = None
    decided_at: UtcDateTime | None = None
    renewal_of: int | None = Field(None, description="The request this one renews.")
    revoked_from: date | None = None
    revoke_reason: str | None = None
    expired_at: UtcDateTime | None = None
    directive_ref: str | None = None
    certifications_required: list[Certifier] | None = None
    certifications: list[CertificationOut] | None = None
    documents: list[DocumentOut] | None = Field(None, description="Non-medical documents.")
    medical_documents: list[DocumentOut] | None = Field(None, description=MEDICAL_ONLY)
    medical_notes: dict[str, str] | None = Field(
        None, description="Certifiers' and revokers' reasons. " + MEDICAL_ONLY
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": 42,
                    "employee_id": "00001234",
                    "employee_name": "Jane Doe",
                    "category_group": "medical_disability",
                    "status": "approved",
                    "requested_start": "2025-02-24",
                    "requested_end": "2025-05-23",
                    "approved_start": "2025-02-24",
                    "approved_end": "2025-04-30",
                    "filed_at": "2025-02-20T14:03:11Z",
                    "filed_by": "jdoe",
                    "directive_ref": "US-RTO-2025@1",
                    "certifications_required": ["agency_head", "supervisor"],
                    "certifications": [
                        {
                            "certifier": "supervisor",
                            "decision": "approve",
                            "by": "msmith",
                            "at": "2025-02-21T09:00:00Z",
                            "reason": "approved; the reasons are on file with the "
                            "reasonable-accommodation office",
                            "approves": ["2025-02-24", "2025-05-23"],
                        }
                    ],
                }
            ]
        }
    }


class Filed(BaseModel):
    id: int = Field(description="The new request's number.")
    status: RequestStatus = RequestStatus.SUBMITTED
    renewal_of: int | None = None

    model_config = {"json_schema_extra": {"examples": [{"id": 42, "status": "submitted"}]}}


class CertificationIn(BaseModel):
    decision: Decision
    reason: str = Field(min_length=1, max_length=2000, description="Every decision has one.")
    start: Day | None = Field(None, description="Approve from this day (default: as asked).")
    end: Day | None = Field(None, description="Approve up to this day (default: as asked).")
    certifier: Certifier | None = Field(
        None, description="Certify in this role, when you hold several that could."
    )

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [{"decision": "approve", "reason": "letter on file", "end": "2025-04-30"}]
        },
    }


class Certified(BaseModel):
    id: int
    certifier: Certifier = Field(description="The certification this was recorded as.")
    status: RequestStatus = Field(description="The request's status afterwards.")
    approved_start: date | None = None
    approved_end: date | None = None


class RevocationIn(BaseModel):
    from_day: Day = Field(alias="from", description="First day it no longer covers.")
    reason: str = Field(min_length=1, max_length=2000)

    model_config = {
        "extra": "forbid",
        "populate_by_name": True,
        "json_schema_extra": {"examples": [{"from": "2025-04-01", "reason": "returned early"}]},
    }


class Changed(BaseModel):
    id: int
    status: RequestStatus


class ExpiryIn(BaseModel):
    today: Day | None = Field(None, description="Expire those that ended before this day.")

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{"today": "2025-04-01"}]}}


class Expired(BaseModel):
    expired: list[int] = Field(description="Requests marked expired, in order.")
