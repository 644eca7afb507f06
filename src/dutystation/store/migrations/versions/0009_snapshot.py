"""The evaluation snapshot: stored weekly evaluation for fast status reads.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def _week_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("week_end", sa.Date, nullable=False),
        sa.Column("week", sa.String(10), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "evaluation_snapshot",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("computed_by", sa.String(200), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("evidence_first", sa.Date, nullable=False),
        sa.Column("evidence_last", sa.Date, nullable=False),
        sa.Column("event_batches", sa.Integer, nullable=False),
        sa.Column("last_event_batch", sa.String(80), nullable=True),
        sa.Column("changes_seen", sa.Integer, nullable=False),
        sa.Column("employees", sa.Integer, nullable=False),
        sa.Column("week_rows", sa.Integer, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("directives", sa.JSON, nullable=False),
        sa.Column("notes", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_evaluation_snapshot"),
    )
    state = op.create_table(
        "snapshot_state",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column(
            "current_snapshot_id",
            sa.Integer,
            sa.ForeignKey(
                "evaluation_snapshot.id",
                name="fk_snapshot_state_current_snapshot_id_evaluation_snapshot",
                ondelete="SET NULL",
            ),
            nullable=True,
        ),
        sa.Column("changes", sa.Integer, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changed_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_snapshot_state"),
    )
    op.bulk_insert(state, [{"id": 1, "current_snapshot_id": None, "changes": 0}])
    op.create_table(
        "snapshot_week",
        sa.Column("snapshot_id", sa.Integer, nullable=False),
        sa.Column("employee_pk", sa.Integer, nullable=False),
        sa.Column("week_start", sa.Date, nullable=False),
        *_week_columns(),
        sa.Column("org_unit", sa.String(64), nullable=False),
        sa.Column("component", sa.String(64), nullable=False),
        sa.Column("arrangement", sa.String(16), nullable=False),
        sa.Column("duty_station", sa.String(64), nullable=True),
        sa.Column("directive_ref", sa.String(80), nullable=True),
        *[
            sa.Column(f"hours_{name}", sa.Float, nullable=False)
            for name in ("required", "on_site", "field_travel", "off_site", "leave", "holiday")
        ],
        sa.Column("days_present_badge", sa.Integer, nullable=False),
        sa.Column("days_on_site_ta", sa.Integer, nullable=False),
        sa.Column("days_at_duty_station", sa.Integer, nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint(
            "snapshot_id", "employee_pk", "week_start", name="pk_snapshot_week"
        ),
    )
    op.create_table(
        "snapshot_pay_period",
        sa.Column("snapshot_id", sa.Integer, nullable=False),
        sa.Column("employee_pk", sa.Integer, nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("pay_period", sa.String(10), nullable=False),
        sa.Column("duty_station", sa.String(64), nullable=True),
        sa.Column("days_at_duty_station", sa.Integer, nullable=False),
        sa.Column("duty_station_test_failed", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint(
            "snapshot_id", "employee_pk", "period_start", name="pk_snapshot_pay_period"
        ),
    )
    op.create_table(
        "snapshot_employee",
        sa.Column("snapshot_id", sa.Integer, nullable=False),
        sa.Column("employee_pk", sa.Integer, nullable=False),
        sa.Column("employee_id", sa.String(64), nullable=False),
        sa.Column("org_unit", sa.String(64), nullable=False),
        sa.Column("component", sa.String(64), nullable=False),
        sa.Column("arrangement", sa.String(16), nullable=False),
        sa.Column("duty_station", sa.String(64), nullable=True),
        sa.Column("directive_ref", sa.String(80), nullable=True),
        sa.Column("week", sa.String(10), nullable=False),
        sa.Column("week_start", sa.Date, nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("not_returned", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("snapshot_id", "employee_pk", name="pk_snapshot_employee"),
    )
    op.create_index(
        "ix_snapshot_employee_unit",
        "snapshot_employee",
        ["snapshot_id", "org_unit", "employee_id"],
    )
    op.create_table(
        "snapshot_unit_week",
        sa.Column("snapshot_id", sa.Integer, nullable=False),
        sa.Column("org_unit", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("week_start", sa.Date, nullable=False),
        *_week_columns(),
        sa.Column("employees", sa.Integer, nullable=False),
        *[
            sa.Column(f"hours_{name}", sa.Float, nullable=False)
            for name in ("at_station", "off_site", "telework", "remote")
        ],
        *[
            sa.Column(name, sa.Integer, nullable=False)
            for name in (
                "bound",
                "in_compliance",
                "exempt",
                "covered_by_agreement",
                "pending_exemption",
                "non_compliant",
            )
        ],
        sa.PrimaryKeyConstraint(
            "snapshot_id", "org_unit", "scope", "week_start", name="pk_snapshot_unit_week"
        ),
    )
    op.create_table(
        "snapshot_unit",
        sa.Column("snapshot_id", sa.Integer, nullable=False),
        sa.Column("org_unit", sa.String(64), nullable=False),
        sa.Column("parent", sa.String(64), nullable=True),
        sa.Column("depth", sa.Integer, nullable=False),
        sa.Column("child_units", sa.Integer, nullable=False),
        sa.Column("own_staff", sa.Integer, nullable=False),
        sa.Column("staff", sa.Integer, nullable=False),
        sa.Column("not_returned", sa.Integer, nullable=True),
        sa.Column("exemptions", sa.JSON, nullable=False),
        sa.Column("compliance_rate", sa.Float, nullable=True),
        sa.Column("expected_full_compliance", sa.Date, nullable=True),
        sa.Column("trend_full_compliance", sa.Date, nullable=True),
        sa.Column("limits", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("snapshot_id", "org_unit", name="pk_snapshot_unit"),
    )
    op.create_index("ix_snapshot_unit_parent", "snapshot_unit", ["snapshot_id", "parent"])


def downgrade() -> None:
    for table in (
        "snapshot_unit",
        "snapshot_unit_week",
        "snapshot_employee",
        "snapshot_pay_period",
        "snapshot_week",
        "snapshot_state",
        "evaluation_snapshot",
    ):
        op.drop_table(table)
