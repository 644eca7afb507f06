"""The Privacy Act disclosure ledger (5 U.S.C. 552a(c)): the accounting of every copy of
people's records that leaves dutystation — when, what (nature), why (purpose) and to whom
(recipient) — kept at least five years and shown to each person for their own records
(``services/disclosures.py`` writes it, ``services/disclosure_ledger.py`` reads and purges
it; docs/privacy.md says what counts as a disclosure).

One export can name a quarter of a million people, so an act of disclosure is one
``disclosure`` row and whose records it carried are ``disclosure_subject`` rows (two
integers each), instead of a quarter of a million copies of the same purpose and
recipient. Both tables are append-only: triggers made by migration 0010 refuse UPDATE
always and DELETE of entries younger than the five-year statutory minimum, and the
application's PostgreSQL role may not delete at all (``store/app_role.py``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dutystation.store.schema import Base

# What left: a report or plan written to a file, the audit trail, a supporting document.
NATURE_KINDS = ("report_export", "plan_export", "audit_export", "document_download")
# Who received it: an agency user (a use by staff with a need to know, 552a(b)(1), kept
# anyway) or someone outside the agency that the exporting user named.
RECIPIENT_KINDS = ("agency_user", "outside_agency")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Disclosure(Base):
    __tablename__ = "disclosure"
    __table_args__ = (
        CheckConstraint(_one_of("nature_kind", NATURE_KINDS), name="nature_kind"),
        CheckConstraint(_one_of("recipient_kind", RECIPIENT_KINDS), name="recipient_kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    disclosed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)  # UTC
    nature_kind: Mapped[str] = mapped_column(String(32))
    nature: Mapped[str] = mapped_column(String(300))  # "report not-returned (csv)"
    purpose: Mapped[str] = mapped_column(Text)
    recipient: Mapped[str] = mapped_column(String(300))
    recipient_kind: Mapped[str] = mapped_column(String(16))
    recorded_by: Mapped[str] = mapped_column(String(200))  # username, or "system"
    recorded_by_user_id: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))  # cli, api, web, system
    people: Mapped[int]  # how many disclosure_subject rows
    # The audit record written with it (its ``after`` holds a digest of the people), so an
    # edited ledger row is caught by the hash chain. No foreign key: the audit trail has a
    # shorter retention than the ledger.
    audit_seq: Mapped[int | None] = mapped_column(Integer)


class DisclosureSubject(Base):
    """Whose records one disclosure carried. Keyed by person first: "my disclosures" is
    an index range scan."""

    __tablename__ = "disclosure_subject"

    employee_pk: Mapped[int] = mapped_column(
        ForeignKey("employee.id", ondelete="RESTRICT"), primary_key=True
    )
    disclosure_id: Mapped[int] = mapped_column(
        ForeignKey("disclosure.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
