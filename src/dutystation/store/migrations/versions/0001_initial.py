"""Org units, offices, employees with effective-dated assignments, badges, homes, batches.

Revision ID: 0001
Revises:
Create Date: 2025-02-01

Written out in full rather than importing the models: a migration must keep meaning what
it meant when it shipped, whatever the models say later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

ARRANGEMENTS = "'onsite', 'telework', 'remote', 'field'"
SCHEDULES = "'5x8', '4x10', '5-4/9', 'custom'"
KINDS = "'department', 'component', 'division', 'other'"


def _employee_fk(column: str, table: str, *, ondelete: str, nullable: bool) -> sa.Column[int]:
    return sa.Column(
        column,
        sa.Integer,
        sa.ForeignKey("employee.id", name=f"fk_{table}_{column}_employee", ondelete=ondelete),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "org_unit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column(
            "parent_id",
            sa.Integer,
            sa.ForeignKey(
                "org_unit.id", name="fk_org_unit_parent_id_org_unit", ondelete="RESTRICT"
            ),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name="pk_org_unit"),
        sa.UniqueConstraint("code", name="uq_org_unit_code"),
        sa.CheckConstraint(f"kind IN ({KINDS})", name="ck_org_unit_kind"),
    )
    op.create_index("ix_org_unit_parent_id", "org_unit", ["parent_id"])

    op.create_table(
        "office",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("address", sa.String(300), nullable=True),
        sa.Column("zip", sa.String(10), nullable=True),
        sa.Column("latitude", sa.Float, nullable=True),
        sa.Column("longitude", sa.Float, nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("seats", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_office"),
        sa.UniqueConstraint("site_id", name="uq_office_site_id"),
        sa.CheckConstraint("seats >= 0", name="ck_office_seats"),
        sa.CheckConstraint("latitude BETWEEN -90 AND 90", name="ck_office_latitude"),
        sa.CheckConstraint("longitude BETWEEN -180 AND 180", name="ck_office_longitude"),
    )

    op.create_table(
        "office_org_unit",
        sa.Column("office_id", sa.Integer, nullable=False),
        sa.Column("org_unit_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("office_id", "org_unit_id", name="pk_office_org_unit"),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["office.id"],
            ondelete="CASCADE",
            name="fk_office_org_unit_office_id_office",
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
            ondelete="RESTRICT",
            name="fk_office_org_unit_org_unit_id_org_unit",
        ),
    )
    op.create_index("ix_office_org_unit_org_unit_id", "office_org_unit", ["org_unit_id"])

    op.create_table(
        "office_job_function",
        sa.Column("office_id", sa.Integer, nullable=False),
        sa.Column("job_function", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("office_id", "job_function", name="pk_office_job_function"),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["office.id"],
            ondelete="CASCADE",
            name="fk_office_job_function_office_id_office",
        ),
    )

    op.create_table(
        "employee",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("employee_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("separated_on", sa.Date, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_employee"),
        sa.UniqueConstraint("employee_id", name="uq_employee_employee_id"),
    )

    op.create_table(
        "employee_assignment",
        sa.Column("id", sa.Integer, primary_key=True),
        _employee_fk("employee_pk", "employee_assignment", ondelete="CASCADE", nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("effective_to", sa.Date, nullable=True),
        sa.Column("org_unit_id", sa.Integer, nullable=False),
        sa.Column("duty_station_id", sa.Integer, nullable=True),
        sa.Column("arrangement", sa.String(16), nullable=False),
        sa.Column("schedule", sa.String(16), nullable=False),
        _employee_fk("supervisor_pk", "employee_assignment", ondelete="RESTRICT", nullable=True),
        sa.Column("position", sa.String(200), nullable=True),
        sa.Column("job_function", sa.String(200), nullable=True),
        sa.Column("bargaining_unit", sa.String(64), nullable=True),
        sa.Column("telework_eligible", sa.Boolean, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_employee_assignment"),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_unit.id"],
            ondelete="RESTRICT",
            name="fk_employee_assignment_org_unit_id_org_unit",
        ),
        sa.ForeignKeyConstraint(
            ["duty_station_id"],
            ["office.id"],
            ondelete="RESTRICT",
            name="fk_employee_assignment_duty_station_id_office",
        ),
        sa.UniqueConstraint(
            "employee_pk",
            "effective_from",
            name="uq_employee_assignment_employee_pk_effective_from",
        ),
        sa.CheckConstraint(
            "effective_to IS NULL OR effective_to > effective_from",
            name="ck_employee_assignment_period",
        ),
        sa.CheckConstraint(f"arrangement IN ({ARRANGEMENTS})", name="ck_employee_assignment_arr"),
        sa.CheckConstraint(f"schedule IN ({SCHEDULES})", name="ck_employee_assignment_schedule"),
    )
    op.create_index(
        "ix_employee_assignment_as_of", "employee_assignment", ["effective_from", "effective_to"]
    )
    for column in ("org_unit_id", "duty_station_id", "supervisor_pk"):
        op.create_index(f"ix_employee_assignment_{column}", "employee_assignment", [column])

    op.create_table(
        "badge_assignment",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("badge_id", sa.String(64), nullable=False),
        _employee_fk("employee_pk", "badge_assignment", ondelete="CASCADE", nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_badge_assignment"),
        sa.UniqueConstraint(
            "badge_id", "valid_from", name="uq_badge_assignment_badge_id_valid_from"
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to > valid_from", name="ck_badge_assignment_period"
        ),
    )
    op.create_index("ix_badge_assignment_employee_pk", "badge_assignment", ["employee_pk"])

    op.create_table(
        "employee_home",
        _employee_fk("employee_pk", "employee_home", ondelete="CASCADE", nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("zip", sa.String(10), nullable=True),
        sa.Column("latitude", sa.Float, nullable=True),
        sa.Column("longitude", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("employee_pk", "effective_from", name="pk_employee_home"),
    )

    op.create_table(
        "import_batch",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("files", sa.Text, nullable=False),
        sa.Column("rows_read", sa.Integer, nullable=False),
        sa.Column("rows_stored", sa.Integer, nullable=False),
        sa.Column("rows_rejected", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_import_batch"),
    )


def downgrade() -> None:
    for table in (
        "import_batch",
        "employee_home",
        "badge_assignment",
        "employee_assignment",
        "employee",
        "office_job_function",
        "office_org_unit",
        "office",
        "org_unit",
    ):
        op.drop_table(table)
