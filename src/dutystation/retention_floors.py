"""The shortest times the law and the records schedule let records be kept, and the checks
that refuse a setting below them (``settings.py``): one sentence each, naming the source.
"""

from __future__ import annotations

from pydantic_core import PydanticCustomError

# 5 U.S.C. 552a(c)(2): the accounting of disclosures is kept at least five years.
STATUTORY_RETENTION_YEARS = 5
# NARA GRS 3.2 item 031: access records of systems that need special accountability
# (this one holds personnel and medical records) are kept 6 years; docs/audit.md.
AUDIT_RETENTION_FLOOR_YEARS = 6


def disclosure_years(years: int) -> int:
    """``years`` for the disclosure ledger, refused below the Privacy Act's minimum."""
    if years < STATUTORY_RETENTION_YEARS:
        # A custom error, so the sentence is shown without pydantic's "Value error,".
        raise PydanticCustomError(
            "retention_below_statutory_minimum",
            "the Privacy Act keeps the accounting of disclosures at least {minimum} years "
            "(5 U.S.C. 552a(c)(2)); {years} is too few",
            {"minimum": STATUTORY_RETENTION_YEARS, "years": years},
        )
    return years


def audit_years(years: int) -> int:
    """``years`` for the audit trail, refused below the records schedule's floor."""
    if years < AUDIT_RETENTION_FLOOR_YEARS:
        raise PydanticCustomError(
            "retention_below_records_schedule",
            "audit records are kept at least {minimum} years (NARA General Records "
            "Schedule 3.2, item 031); {years} is too few",
            {"minimum": AUDIT_RETENTION_FLOOR_YEARS, "years": years},
        )
    return years
