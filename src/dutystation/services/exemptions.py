"""The exemption workflow's use cases in one place (docs/exemptions.md). Each lives in a
module of its own: filing (``exemption_requests``), deciding (``exemption_decisions``),
reading (``exemption_views``), importing (``exemption_import``), and what the compliance
engine is told (``exemption_records.stored_exemption_inputs``)."""

from dutystation.services.exemption_decisions import Certified, certify, expire_due, revoke
from dutystation.services.exemption_import import ExemptionImport, import_decisions
from dutystation.services.exemption_records import stored_exemption_inputs
from dutystation.services.exemption_requests import (
    NewRequest,
    refuse_unlinked,
    renew_exemption,
    request_exemption,
    withdraw_request,
)
from dutystation.services.exemption_views import (
    VIEW_FIELDS,
    Download,
    RequestSummary,
    download_document,
    list_requests,
    show_request,
)

__all__ = [
    "VIEW_FIELDS",
    "Certified",
    "Download",
    "ExemptionImport",
    "NewRequest",
    "RequestSummary",
    "certify",
    "download_document",
    "expire_due",
    "import_decisions",
    "list_requests",
    "refuse_unlinked",
    "renew_exemption",
    "request_exemption",
    "revoke",
    "show_request",
    "stored_exemption_inputs",
    "withdraw_request",
]
