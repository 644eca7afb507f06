"""The evaluation snapshot: the weekly evaluation stored for fast reads (docs/evaluation.md,
"The snapshot"). ``services/snapshot.py`` writes it, ``services/status.py`` reads it.

One refresh is one ``evaluation_snapshot`` row and its generation of rows in the other
tables, keyed by ``snapshot_id``; ``snapshot_state`` (one row) names the current one.
A refresh stores a new generation, points ``snapshot_state`` at it and deletes the old
one in a single transaction, so a reader sees either the old snapshot or the new one.

``snapshot_state.changes`` counts the imports that stored something; a snapshot records
the count it started from (``changes_seen``), and it is stale once the count has moved on.

The row tables carry no foreign keys: millions of rows go in by ``COPY``, and a key check
per row would cost more than the copy. Their primary keys start with ``snapshot_id``, so
every read is an index range of one generation. Reasons never name a confidential
(medical or disability) exemption category: the evaluation writes "confidential
category", and the refresh redacts again before storing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String
from sqlalchemy import Text as TextType
from sqlalchemy.orm import Mapped, mapped_column

from dutystation.store.schema import Base


class EvaluationSnapshot(Base):
    """One refresh: when, over which range and evidence, by whom, and what it holds."""

    __tablename__ = "evaluation_snapshot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # UTC
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # stored, UTC
    computed_by: Mapped[str] = mapped_column(String(200))  # username, or "system"
    period_start: Mapped[date] = mapped_column(Date)  # first day evaluated
    period_end: Mapped[date] = mapped_column(Date)  # last day evaluated: the "as of"
    evidence_first: Mapped[date] = mapped_column(Date)  # first day with evidence stored
    evidence_last: Mapped[date] = mapped_column(Date)
    event_batches: Mapped[int]  # event-store batches (manifests) committed when it began
    last_event_batch: Mapped[str | None] = mapped_column(String(80))
    changes_seen: Mapped[int]  # snapshot_state.changes when it began
    employees: Mapped[int]
    week_rows: Mapped[int]
    seconds: Mapped[float] = mapped_column(Float)  # evaluation and storing, wall clock
    # The directives in force over the range, as the status pages describe them:
    # [{ref, title, issuer, effective, expires, full_compliance, requirement, counts_at}].
    directives: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # Sentences about what was left out (no not-returned window in the evidence, ...).
    notes: Mapped[list[str]] = mapped_column(JSON)


class SnapshotState(Base):
    """The single row (``id`` = 1) naming the current snapshot, and the change count."""

    __tablename__ = "snapshot_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    current_snapshot_id: Mapped[int | None] = mapped_column(
        ForeignKey("evaluation_snapshot.id", ondelete="SET NULL")
    )
    changes: Mapped[int]  # imports that stored rows, ever
    changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    changed_by: Mapped[str | None] = mapped_column(String(64))  # e.g. "import.badges"


class SnapshotWeek(Base):
    """One employee and ISO week, as the evaluation judged it."""

    __tablename__ = "snapshot_week"

    snapshot_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    week_start: Mapped[date] = mapped_column(Date, primary_key=True)  # clipped to the range
    week_end: Mapped[date] = mapped_column(Date)
    week: Mapped[str] = mapped_column(String(10))  # 2025-W07
    org_unit: Mapped[str] = mapped_column(String(64))
    component: Mapped[str] = mapped_column(String(64))
    arrangement: Mapped[str] = mapped_column(String(16))
    duty_station: Mapped[str | None] = mapped_column(String(64))
    directive_ref: Mapped[str | None] = mapped_column(String(80))
    hours_required: Mapped[float] = mapped_column(Float)
    hours_on_site: Mapped[float] = mapped_column(Float)
    hours_field_travel: Mapped[float] = mapped_column(Float)
    hours_off_site: Mapped[float] = mapped_column(Float)
    hours_leave: Mapped[float] = mapped_column(Float)
    hours_holiday: Mapped[float] = mapped_column(Float)
    days_present_badge: Mapped[int]
    days_on_site_ta: Mapped[int]
    days_at_duty_station: Mapped[int]
    status: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(TextType)


class SnapshotPayPeriod(Base):
    """The duty-station test of one teleworker and pay period (only the rows it judged)."""

    __tablename__ = "snapshot_pay_period"

    snapshot_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    period_end: Mapped[date] = mapped_column(Date)
    pay_period: Mapped[str] = mapped_column(String(10))  # 2025-PP05
    duty_station: Mapped[str | None] = mapped_column(String(64))
    days_at_duty_station: Mapped[int]
    duty_station_test_failed: Mapped[bool] = mapped_column(Boolean)


class SnapshotEmployee(Base):
    """One employee's latest week (the last whole week they have, else their last):
    what team tables and the people of a unit show."""

    __tablename__ = "snapshot_employee"
    __table_args__ = (Index("ix_snapshot_employee_unit", "snapshot_id", "org_unit", "employee_id"),)

    snapshot_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_id: Mapped[str] = mapped_column(String(64))
    org_unit: Mapped[str] = mapped_column(String(64))
    component: Mapped[str] = mapped_column(String(64))
    arrangement: Mapped[str] = mapped_column(String(16))
    duty_station: Mapped[str | None] = mapped_column(String(64))
    directive_ref: Mapped[str | None] = mapped_column(String(80))
    week: Mapped[str] = mapped_column(String(10))
    week_start: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(TextType)
    # Listed by the not-returned report (no day on site in the window after the deadline).
    not_returned: Mapped[bool] = mapped_column(Boolean)


class SnapshotUnitWeek(Base):
    """Per org unit and week: hours and statuses of its whole subtree (``scope`` =
    ``subtree``), or of its own staff only (``own``, units with staff of their own)."""

    __tablename__ = "snapshot_unit_week"

    snapshot_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_unit: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    week_start: Mapped[date] = mapped_column(Date, primary_key=True)
    week_end: Mapped[date] = mapped_column(Date)
    week: Mapped[str] = mapped_column(String(10))
    employees: Mapped[int]
    hours_at_station: Mapped[float] = mapped_column(Float)  # on site + field and travel
    hours_off_site: Mapped[float] = mapped_column(Float)
    hours_telework: Mapped[float] = mapped_column(Float)
    hours_remote: Mapped[float] = mapped_column(Float)
    bound: Mapped[int]  # status other than not_in_scope
    in_compliance: Mapped[int]  # compliant, exempt or covered by agreement
    exempt: Mapped[int]
    covered_by_agreement: Mapped[int]
    pending_exemption: Mapped[int]
    non_compliant: Mapped[int]  # non_compliant or not_yet_due


class SnapshotUnit(Base):
    """Per org unit (as the org tree stood at the refresh): its place in the tree and the
    figures that are not weekly."""

    __tablename__ = "snapshot_unit"
    __table_args__ = (Index("ix_snapshot_unit_parent", "snapshot_id", "parent"),)

    snapshot_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_unit: Mapped[str] = mapped_column(String(64), primary_key=True)
    parent: Mapped[str | None] = mapped_column(String(64))
    depth: Mapped[int]  # 1 for a root
    child_units: Mapped[int]  # units directly below
    own_staff: Mapped[int]  # employees whose latest week is in this unit itself
    staff: Mapped[int]  # ... in this unit or below
    not_returned: Mapped[int | None]  # None: no not-returned window had evidence
    # {category_group: {"approved": n, "pending": n}} on the last day; counts only.
    exemptions: Mapped[dict[str, Any]] = mapped_column(JSON)
    compliance_rate: Mapped[float | None] = mapped_column(Float)  # the plan's, last whole week
    expected_full_compliance: Mapped[date | None] = mapped_column(Date)
    trend_full_compliance: Mapped[date | None] = mapped_column(Date)
    limits: Mapped[str | None] = mapped_column(TextType)
