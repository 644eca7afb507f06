"""The exemption workflow's tables: requests, their certifications, and the metadata of
their non-medical documents (``services/exemption_*.py`` write them; docs/exemptions.md).

Nothing medical is stored here. For a medical or disability category
(``ExemptionCategory.confidential``) the justification, the documents (their names too)
and the certifiers' reasons live in the medical store only; these tables keep the
category, its group (``medical_disability``), the dates, the states and a generic reason.
Document bytes are stored content-addressed outside the database (``services.documents``).

``filed_by_user_id`` and ``certification.user_id`` name user accounts, with a copy of the
username (accounts can be renamed or removed; the record must still say who acted).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from dutystation.domain.directive import Certifier, ExemptionCategory
from dutystation.domain.exemptions import Decision, RequestStatus
from dutystation.store.schema import Base


def _one_of(column: str, values: list[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# The states that carry approved dates: approved, and what an approval can become.
APPROVED_STATES = ["approved", "expired", "revoked"]


class ExemptionRequest(Base):
    __tablename__ = "exemption_request"
    __table_args__ = (
        CheckConstraint(_one_of("status", [s.value for s in RequestStatus]), name="status"),
        CheckConstraint(_one_of("category", [c.value for c in ExemptionCategory]), name="category"),
        CheckConstraint(
            "requested_end IS NULL OR requested_end >= requested_start", name="requested"
        ),
        CheckConstraint(
            f"status NOT IN ({', '.join(repr(s) for s in APPROVED_STATES)}) OR "
            "(approved_start IS NOT NULL AND approved_end IS NOT NULL "
            "AND approved_end >= approved_start)",
            name="approved",
        ),
        CheckConstraint(
            "status <> 'revoked' OR (revoked_from IS NOT NULL AND revoke_reason IS NOT NULL)",
            name="revoked",
        ),
        Index("ix_exemption_request_employee_pk_status", "employee_pk", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_pk: Mapped[int] = mapped_column(ForeignKey("employee.id", ondelete="RESTRICT"))
    category: Mapped[str] = mapped_column(String(32))
    category_group: Mapped[str] = mapped_column(String(32))
    # id@version of the directive binding the employee on the requested start (NULL for an
    # imported record no directive bound), and the certifiers it required, comma-separated.
    directive_ref: Mapped[str | None] = mapped_column(String(80))
    certifiers_required: Mapped[str] = mapped_column(String(200))
    requested_start: Mapped[date] = mapped_column(Date)
    requested_end: Mapped[date | None] = mapped_column(Date)  # NULL: the request named none
    justification: Mapped[str | None] = mapped_column(Text)  # NULL for confidential ones
    status: Mapped[str] = mapped_column(String(16))
    filed_by_user_id: Mapped[int | None] = mapped_column(Integer)
    filed_by: Mapped[str] = mapped_column(String(200))
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When it stopped being pending: approved, denied or withdrawn.
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_start: Mapped[date | None] = mapped_column(Date)
    approved_end: Mapped[date | None] = mapped_column(Date)
    renewal_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("exemption_request.id", ondelete="RESTRICT"), index=True
    )
    revoked_from: Mapped[date | None] = mapped_column(Date)  # first day no longer covered
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    expired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Imported records: a hash of employee, category and filing day, so that importing
    # the same file again adds nothing (``exemption_import``). NULL for workflow requests.
    import_key: Mapped[str | None] = mapped_column(String(64), unique=True)


class ExemptionCertification(Base):
    """One required certifier's decision on one request, with its reason."""

    __tablename__ = "exemption_certification"
    __table_args__ = (
        UniqueConstraint("request_id", "certifier"),
        CheckConstraint(_one_of("certifier", [c.value for c in Certifier]), name="certifier"),
        CheckConstraint(_one_of("decision", [d.value for d in Decision]), name="decision"),
        CheckConstraint(
            "decision = 'deny' OR (approve_start IS NOT NULL AND approve_end IS NOT NULL)",
            name="dates",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("exemption_request.id", ondelete="CASCADE"))
    certifier: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)  # generic for confidential categories
    approve_start: Mapped[date | None] = mapped_column(Date)  # the dates an approval agrees to
    approve_end: Mapped[date | None] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ExemptionDocument(Base):
    """A supporting document of a request in a non-medical category (the bytes are in the
    document store, by sha256). Medical documents are listed in the medical store only."""

    __tablename__ = "exemption_document"
    __table_args__ = (UniqueConstraint("request_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("exemption_request.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, ... in upload order
    sha256: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)  # bytes
