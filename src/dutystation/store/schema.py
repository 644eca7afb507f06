"""The operational tables (SQLAlchemy 2 typed declarative). Migrations in ``migrations/``
are written by hand from these; ``tests/integration/test_store_schema.py`` checks the two
agree.

Naming: ``employee.employee_id`` is the HR id (text, leading zeros matter); columns ending
in ``_pk`` point at ``employee.id``, the store's own integer key. Dates are calendar days;
``effective_to`` / ``valid_to`` are exclusive and NULL means "still open".

``employee_home`` is sensitive (home ZIP and coordinates, used only by the 50-mile rule): it
is a separate table so that no report query picks it up by joining ``employee``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dutystation.domain.vocabulary import Arrangement, OrgUnitKind, ScheduleKind

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _one_of(column: str, values: list[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class OrgUnit(Base):
    __tablename__ = "org_unit"
    __table_args__ = (
        CheckConstraint(_one_of("kind", [k.value for k in OrgUnitKind]), name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("org_unit.id", ondelete="RESTRICT"), index=True
    )


class Office(Base):
    __tablename__ = "office"
    __table_args__ = (
        CheckConstraint("seats >= 0", name="seats"),
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    zip: Mapped[str | None] = mapped_column(String(10))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64))
    seats: Mapped[int] = mapped_column(Integer)


office_org_unit = Table(
    "office_org_unit",
    Base.metadata,
    Column("office_id", ForeignKey("office.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "org_unit_id",
        ForeignKey("org_unit.id", ondelete="RESTRICT"),
        primary_key=True,
        index=True,
    ),
)

office_job_function = Table(
    "office_job_function",
    Base.metadata,
    Column("office_id", ForeignKey("office.id", ondelete="CASCADE"), primary_key=True),
    Column("job_function", String(200), primary_key=True),
)


class Employee(Base):
    __tablename__ = "employee"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    # Derived from the history on every import: active = an open version exists.
    active: Mapped[bool]
    separated_on: Mapped[date | None] = mapped_column(Date)


class EmployeeAssignment(Base):
    """One version of an employee's assignment, in force on [effective_from, effective_to)."""

    __tablename__ = "employee_assignment"
    __table_args__ = (
        UniqueConstraint("employee_pk", "effective_from"),
        CheckConstraint("effective_to IS NULL OR effective_to > effective_from", name="period"),
        CheckConstraint(_one_of("arrangement", [a.value for a in Arrangement]), name="arr"),
        CheckConstraint(_one_of("schedule", [s.value for s in ScheduleKind]), name="schedule"),
        # "Who is assigned on day D" scans by start and filters by end.
        Index("ix_employee_assignment_as_of", "effective_from", "effective_to"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_pk: Mapped[int] = mapped_column(ForeignKey("employee.id", ondelete="CASCADE"))
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    org_unit_id: Mapped[int] = mapped_column(
        ForeignKey("org_unit.id", ondelete="RESTRICT"), index=True
    )
    # RESTRICT: an office that is (or was) anyone's duty station cannot be deleted.
    duty_station_id: Mapped[int | None] = mapped_column(
        ForeignKey("office.id", ondelete="RESTRICT"), index=True
    )
    arrangement: Mapped[str] = mapped_column(String(16))
    schedule: Mapped[str] = mapped_column(String(16))
    supervisor_pk: Mapped[int | None] = mapped_column(
        ForeignKey("employee.id", ondelete="RESTRICT"), index=True
    )
    position: Mapped[str | None] = mapped_column(String(200))
    job_function: Mapped[str | None] = mapped_column(String(200))
    bargaining_unit: Mapped[str | None] = mapped_column(String(64))
    telework_eligible: Mapped[bool | None]


class BadgeAssignment(Base):
    """A badge number held by one employee on [valid_from, valid_to); numbers are reissued."""

    __tablename__ = "badge_assignment"
    __table_args__ = (
        UniqueConstraint("badge_id", "valid_from"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    badge_id: Mapped[str] = mapped_column(String(64))
    employee_pk: Mapped[int] = mapped_column(
        ForeignKey("employee.id", ondelete="CASCADE"), index=True
    )
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class EmployeeHome(Base):
    """Sensitive: where an employee lives, from a date on. Never joined into reports."""

    __tablename__ = "employee_home"

    employee_pk: Mapped[int] = mapped_column(
        ForeignKey("employee.id", ondelete="CASCADE"), primary_key=True
    )
    effective_from: Mapped[date] = mapped_column(Date, primary_key=True)
    zip: Mapped[str | None] = mapped_column(String(10))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)


class ImportBatch(Base):
    """One committed import. Written in the import's own transaction, so a batch is either
    recorded with all its rows or absent with none of them."""

    __tablename__ = "import_batch"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    files: Mapped[str] = mapped_column(Text)  # file names only, newline-separated
    rows_read: Mapped[int]
    rows_stored: Mapped[int]
    rows_rejected: Mapped[int]


class RosterRevision(Base):
    """One row whose random value database triggers replace on every change to the roster
    tables (migration 0012): kept period results are reused only while it stands still."""

    __tablename__ = "roster_revision"
    __table_args__ = (CheckConstraint("id = 1", name="ck_roster_revision_one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    revision: Mapped[int] = mapped_column(BigInteger)


# Tables of other areas live in their own modules; importing them here puts them on the
# one metadata that migrations and tests compare against.
from dutystation.store import (  # noqa: E402, F401
    schema_access,
    schema_agreements,
    schema_audit,
    schema_designation,
    schema_disclosures,
    schema_exemptions,
    schema_medical,
    schema_notices,
    schema_snapshot,
)
