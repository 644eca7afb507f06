"""The Privacy Act disclosure ledger over HTTP (``services.disclosure_ledger``,
docs/privacy.md): ``GET /me/disclosures`` lists every recorded disclosure of the caller's
own records — when, what, why and to whom — and nobody else's.

Also the two query parameters every export route takes (``purpose``, ``recipient``), so
that reports, audit exports and document downloads describe them the same way.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from dutystation.api.deps import CurrentActor, RuntimeDep
from dutystation.api.errors import problem_responses
from dutystation.api.pagination import Page, Paging
from dutystation.api.routes.codes import UtcDateTime
from dutystation.services import disclosure_ledger
from dutystation.services.disclosures import PURPOSE_MAX, RECIPIENT_MAX

router = APIRouter(prefix="/me", tags=["disclosures"])

PurposeQuery = Annotated[
    str | None,
    Query(
        max_length=PURPOSE_MAX,
        description="Why the copy is made; recorded in the disclosure ledger of everyone it "
        "names (docs/privacy.md).",
    ),
]
RecipientQuery = Annotated[
    str | None,
    Query(
        max_length=RECIPIENT_MAX,
        description="Who outside the agency receives the copy (needs purpose); default: you.",
    ),
]


class DisclosureOut(BaseModel):
    id: int
    disclosed_at: UtcDateTime
    nature_kind: str = Field(
        description="report_export, plan_export, audit_export or document_download."
    )
    nature: str = Field(description="What was disclosed, in words.")
    purpose: str
    recipient: str
    recipient_kind: str = Field(
        description="agency_user (a user of the agency, for use within it) or outside_agency."
    )
    recorded_by: str = Field(description="The user who made the copy.")
    channel: str = Field(description="cli, api, web or system.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": 12,
                    "disclosed_at": "2025-03-03T15:04:05Z",
                    "nature_kind": "report_export",
                    "nature": "report not-returned (csv), 2025-02-21 to 2025-03-23",
                    "purpose": "Congressional inquiry 2025-117",
                    "recipient": "Office of Senator Example",
                    "recipient_kind": "outside_agency",
                    "recorded_by": "hr-alex",
                    "channel": "api",
                }
            ]
        }
    }

    @classmethod
    def of(cls, entry: disclosure_ledger.Entry) -> DisclosureOut:
        return cls(
            id=entry.id,
            disclosed_at=entry.disclosed_at,
            nature_kind=entry.nature_kind,
            nature=entry.nature,
            purpose=entry.purpose,
            recipient=entry.recipient,
            recipient_kind=entry.recipient_kind,
            recorded_by=entry.recorded_by,
            channel=entry.channel,
        )


@router.get(
    "/disclosures",
    summary="Disclosures of your records",
    response_model=Page[DisclosureOut],
    responses=problem_responses(401, 403, 404, 422),
)
def my_disclosures(runtime: RuntimeDep, actor: CurrentActor, params: Paging) -> Page[DisclosureOut]:
    """Every recorded copy of your records that left dutystation (Privacy Act accounting,
    5 U.S.C. 552a(c)), newest first. Empty for an account linked to no employee."""
    found = disclosure_ledger.person_disclosures(runtime.engine, actor)
    return Page.of([DisclosureOut.of(e) for e in found.entries], params)
