"""Collective bargaining agreements, their clauses and the dated history of each clause's
legal status; grievances filed under them, with their status history and the employees
they concern (``services/agreements.py``, ``services/grievances.py``; the rules are in
``domain/agreements.py``).

Dates follow the store's convention: ``agreement.effective_to`` is exclusive (the day
after the last day in force; NULL: open-ended). Histories are append-only: a legal status
or grievance step is never edited, a later record supersedes it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from dutystation.domain.agreements import TERM_KEYS as TERMS
from dutystation.domain.agreements import LegalStatus
from dutystation.domain.grievances import GrievanceStatus
from dutystation.store.schema import Base

LEGAL_STATUSES = tuple(s.value for s in LegalStatus)
GRIEVANCE_STATUSES = tuple(s.value for s in GrievanceStatus)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# Exactly one kind of hybrid terms per clause (portable: no boolean arithmetic).
ONE_KIND_OF_TERMS = " + ".join(f"CASE WHEN {t} IS NULL THEN 0 ELSE 1 END" for t in TERMS) + " = 1"


class AgreementRecord(Base):
    __tablename__ = "agreement"
    __table_args__ = (
        CheckConstraint("effective_to IS NULL OR effective_to > effective_from", name="period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    union_name: Mapped[str] = mapped_column(String(200))
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)  # exclusive


agreement_unit = Table(
    "agreement_unit",
    Base.metadata,
    Column("agreement_id", ForeignKey("agreement.id", ondelete="CASCADE"), primary_key=True),
    # The roster's bargaining_unit code (employee_assignment.bargaining_unit).
    Column("bargaining_unit", String(64), primary_key=True, index=True),
)


class AgreementClause(Base):
    __tablename__ = "agreement_clause"
    __table_args__ = (
        UniqueConstraint("agreement_id", "ref"),
        CheckConstraint(ONE_KIND_OF_TERMS, name="one_kind_of_terms"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreement.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(String(64))  # "Art. 12 §3"
    summary: Mapped[str] = mapped_column(Text)
    min_onsite_days_per_pay_period: Mapped[int | None] = mapped_column(Integer)
    min_onsite_days_per_week: Mapped[int | None] = mapped_column(Integer)
    min_onsite_share_of_hours: Mapped[float | None] = mapped_column(Float)
    # "up to N telework days per pay period", kept as written (domain/agreements.py
    # translates it to an on-site minimum).
    max_telework_days_per_pay_period: Mapped[int | None] = mapped_column(Integer)


class ClauseLegalStatus(Base):
    """The status on day D is the latest record with ``effective_on`` <= D (ties: the
    higher id, recorded later)."""

    __tablename__ = "clause_legal_status"
    __table_args__ = (CheckConstraint(_one_of("status", LEGAL_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clause_id: Mapped[int] = mapped_column(
        ForeignKey("agreement_clause.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(24))
    effective_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(300))  # "OPM memo 2025-02-03"
    recorded_by: Mapped[str] = mapped_column(String(200))  # username, or "system"
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # UTC


class Grievance(Base):
    __tablename__ = "grievance"
    __table_args__ = (UniqueConstraint("agreement_id", "component_id", "filed_on", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreement.id", ondelete="RESTRICT"), index=True
    )
    union_name: Mapped[str] = mapped_column(String(200))
    filed_on: Mapped[date] = mapped_column(Date)
    subject: Mapped[str] = mapped_column(String(300))
    component_id: Mapped[int] = mapped_column(
        ForeignKey("org_unit.id", ondelete="RESTRICT"), index=True
    )
    outcome: Mapped[str | None] = mapped_column(Text)
    outcome_on: Mapped[date | None] = mapped_column(Date)


class GrievanceStatusRecord(Base):
    __tablename__ = "grievance_status"
    __table_args__ = (CheckConstraint(_one_of("status", GRIEVANCE_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grievance_id: Mapped[int] = mapped_column(
        ForeignKey("grievance.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    effective_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


grievance_employee = Table(
    "grievance_employee",
    Base.metadata,
    Column("grievance_id", ForeignKey("grievance.id", ondelete="CASCADE"), primary_key=True),
    # RESTRICT: a grievance is a record of who it concerned.
    Column(
        "employee_pk", ForeignKey("employee.id", ondelete="RESTRICT"), primary_key=True, index=True
    ),
)
