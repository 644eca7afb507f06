"""Bargaining agreements, clauses and their legal status; grievances.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

Written out in full rather than importing the models (see 0001_initial.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

LEGAL_STATUSES = "'in_force', 'disputed', 'grievance_filed', 'held_unenforceable'"
GRIEVANCE_STATUSES = "'filed', 'in_progress', 'arbitration', 'resolved', 'withdrawn'"
TERMS = (
    "min_onsite_days_per_pay_period",
    "min_onsite_days_per_week",
    "min_onsite_share_of_hours",
    "max_telework_days_per_pay_period",
)


def _fk(column: str, table: str, target: str, *, ondelete: str) -> sa.Column[int]:
    return sa.Column(
        column,
        sa.Integer,
        sa.ForeignKey(f"{target}.id", name=f"fk_{table}_{column}_{target}", ondelete=ondelete),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "agreement",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("union_name", sa.String(200), nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("effective_to", sa.Date, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_agreement"),
        sa.UniqueConstraint("code", name="uq_agreement_code"),
        sa.CheckConstraint(
            "effective_to IS NULL OR effective_to > effective_from", name="ck_agreement_period"
        ),
    )

    op.create_table(
        "agreement_unit",
        _fk("agreement_id", "agreement_unit", "agreement", ondelete="CASCADE"),
        sa.Column("bargaining_unit", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("agreement_id", "bargaining_unit", name="pk_agreement_unit"),
    )
    op.create_index("ix_agreement_unit_bargaining_unit", "agreement_unit", ["bargaining_unit"])

    one_kind = " + ".join(f"CASE WHEN {t} IS NULL THEN 0 ELSE 1 END" for t in TERMS) + " = 1"
    op.create_table(
        "agreement_clause",
        sa.Column("id", sa.Integer, primary_key=True),
        _fk("agreement_id", "agreement_clause", "agreement", ondelete="CASCADE"),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("min_onsite_days_per_pay_period", sa.Integer, nullable=True),
        sa.Column("min_onsite_days_per_week", sa.Integer, nullable=True),
        sa.Column("min_onsite_share_of_hours", sa.Float, nullable=True),
        sa.Column("max_telework_days_per_pay_period", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_agreement_clause"),
        sa.UniqueConstraint("agreement_id", "ref", name="uq_agreement_clause_agreement_id_ref"),
        sa.CheckConstraint(one_kind, name="ck_agreement_clause_one_kind_of_terms"),
    )

    op.create_table(
        "clause_legal_status",
        sa.Column("id", sa.Integer, primary_key=True),
        _fk("clause_id", "clause_legal_status", "agreement_clause", ondelete="CASCADE"),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("effective_on", sa.Date, nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_clause_legal_status"),
        sa.CheckConstraint(f"status IN ({LEGAL_STATUSES})", name="ck_clause_legal_status_status"),
    )
    op.create_index("ix_clause_legal_status_clause_id", "clause_legal_status", ["clause_id"])

    op.create_table(
        "grievance",
        sa.Column("id", sa.Integer, primary_key=True),
        _fk("agreement_id", "grievance", "agreement", ondelete="RESTRICT"),
        sa.Column("union_name", sa.String(200), nullable=False),
        sa.Column("filed_on", sa.Date, nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        _fk("component_id", "grievance", "org_unit", ondelete="RESTRICT"),
        sa.Column("outcome", sa.Text, nullable=True),
        sa.Column("outcome_on", sa.Date, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_grievance"),
        sa.UniqueConstraint(
            "agreement_id",
            "component_id",
            "filed_on",
            "subject",
            name="uq_grievance_agreement_id_component_id_filed_on_subject",
        ),
    )
    op.create_index("ix_grievance_agreement_id", "grievance", ["agreement_id"])
    op.create_index("ix_grievance_component_id", "grievance", ["component_id"])

    op.create_table(
        "grievance_status",
        sa.Column("id", sa.Integer, primary_key=True),
        _fk("grievance_id", "grievance_status", "grievance", ondelete="CASCADE"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("effective_on", sa.Date, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_grievance_status"),
        sa.CheckConstraint(f"status IN ({GRIEVANCE_STATUSES})", name="ck_grievance_status_status"),
    )
    op.create_index("ix_grievance_status_grievance_id", "grievance_status", ["grievance_id"])

    op.create_table(
        "grievance_employee",
        _fk("grievance_id", "grievance_employee", "grievance", ondelete="CASCADE"),
        _fk("employee_pk", "grievance_employee", "employee", ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("grievance_id", "employee_pk", name="pk_grievance_employee"),
    )
    op.create_index("ix_grievance_employee_employee_pk", "grievance_employee", ["employee_pk"])


def downgrade() -> None:
    for table in (
        "grievance_employee",
        "grievance_status",
        "grievance",
        "clause_legal_status",
        "agreement_clause",
        "agreement_unit",
        "agreement",
    ):
        op.drop_table(table)
