"""Designation plans and designations of staff to agency offices.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "designation_plan",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("parameters", sa.JSON, nullable=False),
        sa.Column("total_distance_m", sa.Float, nullable=False),
        sa.Column("placed", sa.Integer, nullable=False),
        sa.Column("unplaced", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_designation_plan"),
        sa.CheckConstraint(
            "status IN ('proposed', 'applied', 'discarded')", name="ck_designation_plan_status"
        ),
    )
    op.create_table(
        "designation",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "plan_id",
            sa.Integer,
            sa.ForeignKey(
                "designation_plan.id",
                name="fk_designation_plan_id_designation_plan",
                ondelete="RESTRICT",
            ),
            nullable=True,
        ),
        sa.Column(
            "employee_pk",
            sa.Integer,
            sa.ForeignKey(
                "employee.id", name="fk_designation_employee_pk_employee", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column(
            "office_id",
            sa.Integer,
            sa.ForeignKey("office.id", name="fk_designation_office_id_office", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("effective_to", sa.Date, nullable=True),
        sa.Column("distance_m", sa.Float, nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("applied_by", sa.String(200), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_designation"),
        sa.CheckConstraint(
            "effective_to IS NULL OR effective_to > effective_from", name="ck_designation_period"
        ),
        sa.CheckConstraint("distance_m >= 0", name="ck_designation_distance"),
    )
    op.create_index("ix_designation_as_of", "designation", ["effective_from", "effective_to"])
    for column in ("plan_id", "employee_pk", "office_id"):
        op.create_index(f"ix_designation_{column}", "designation", [column])


def downgrade() -> None:
    op.drop_table("designation")
    op.drop_table("designation_plan")
