"""Designations of staff to agency offices, and the plans that propose them
(docs/designation.md).

A ``designation_plan`` is one run of ``dutystation designate --plan``: its parameters
(date, org unit, rules, what-if changes) and totals. Its proposals are ``designation`` rows
with ``applied_at`` NULL; ``--apply`` stamps them, and from then on each is the employee's
designated duty station on [effective_from, effective_to) (exclusive end, NULL: open, like
roster assignments). The roster stays HR's record: an applied designation does not change
``employee_assignment``; the evaluation keeps reading the roster's duty station, and the
``distance`` report lists designations the roster does not reflect yet.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, DateTime, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dutystation.store.schema import Base

PLAN_STATUSES = ("proposed", "applied", "discarded")


class DesignationPlan(Base):
    __tablename__ = "designation_plan"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in PLAN_STATUSES) + ")", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # UTC
    created_by: Mapped[str] = mapped_column(String(200))  # username
    # day, org_unit, effective_from, rules, what_if (add_seats / open / close), ...
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    total_distance_m: Mapped[float] = mapped_column(Float)
    placed: Mapped[int]
    unplaced: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))


class Designation(Base):
    __tablename__ = "designation"
    __table_args__ = (
        CheckConstraint("effective_to IS NULL OR effective_to > effective_from", name="period"),
        CheckConstraint("distance_m >= 0", name="distance"),
        # "Designations in force on day D" scans by start and filters by end.
        Index("ix_designation_as_of", "effective_from", "effective_to"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("designation_plan.id", ondelete="RESTRICT"), index=True
    )
    employee_pk: Mapped[int] = mapped_column(
        ForeignKey("employee.id", ondelete="CASCADE"), index=True
    )
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="RESTRICT"), index=True)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    distance_m: Mapped[float] = mapped_column(Float)  # home to office, WGS84 geodesic
    rule: Mapped[str] = mapped_column(Text)  # the rule matched, in words
    applied_by: Mapped[str | None] = mapped_column(String(200))  # username; NULL: proposed
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
