"""The exemption workflow: requests, certifications, non-medical document metadata.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

Written out in full rather than importing the models (see 0001_initial.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

STATUSES = "'submitted', 'approved', 'denied', 'withdrawn', 'revoked', 'expired'"
CATEGORIES = (
    "'disability_accommodation', 'medical_condition', 'compelling_reason', "
    "'lack_of_office_space', 'physical_incapacity', 'legal_impediment'"
)
CERTIFIERS = "'supervisor', 'agency_head', 'component_head', 'telework_managing_officer'"


def upgrade() -> None:
    op.create_table(
        "exemption_request",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("employee_pk", sa.Integer, nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("category_group", sa.String(32), nullable=False),
        sa.Column("directive_ref", sa.String(80), nullable=True),
        sa.Column("certifiers_required", sa.String(200), nullable=False),
        sa.Column("requested_start", sa.Date, nullable=False),
        sa.Column("requested_end", sa.Date, nullable=True),
        sa.Column("justification", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("filed_by_user_id", sa.Integer, nullable=True),
        sa.Column("filed_by", sa.String(200), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_start", sa.Date, nullable=True),
        sa.Column("approved_end", sa.Date, nullable=True),
        sa.Column("renewal_of_id", sa.Integer, nullable=True),
        sa.Column("revoked_from", sa.Date, nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoke_reason", sa.Text, nullable=True),
        sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("import_key", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_exemption_request"),
        sa.ForeignKeyConstraint(
            ["employee_pk"],
            ["employee.id"],
            ondelete="RESTRICT",
            name="fk_exemption_request_employee_pk_employee",
        ),
        sa.ForeignKeyConstraint(
            ["renewal_of_id"],
            ["exemption_request.id"],
            ondelete="RESTRICT",
            name="fk_exemption_request_renewal_of_id_exemption_request",
        ),
        sa.UniqueConstraint("import_key", name="uq_exemption_request_import_key"),
        sa.CheckConstraint(f"status IN ({STATUSES})", name="ck_exemption_request_status"),
        sa.CheckConstraint(f"category IN ({CATEGORIES})", name="ck_exemption_request_category"),
        sa.CheckConstraint(
            "requested_end IS NULL OR requested_end >= requested_start",
            name="ck_exemption_request_requested",
        ),
        sa.CheckConstraint(
            "status NOT IN ('approved', 'expired', 'revoked') OR "
            "(approved_start IS NOT NULL AND approved_end IS NOT NULL "
            "AND approved_end >= approved_start)",
            name="ck_exemption_request_approved",
        ),
        sa.CheckConstraint(
            "status <> 'revoked' OR (revoked_from IS NOT NULL AND revoke_reason IS NOT NULL)",
            name="ck_exemption_request_revoked",
        ),
    )
    op.create_index(
        "ix_exemption_request_employee_pk_status", "exemption_request", ["employee_pk", "status"]
    )
    op.create_index("ix_exemption_request_renewal_of_id", "exemption_request", ["renewal_of_id"])

    op.create_table(
        "exemption_certification",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.Integer, nullable=False),
        sa.Column("certifier", sa.String(32), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=True),
        sa.Column("username", sa.String(200), nullable=False),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("approve_start", sa.Date, nullable=True),
        sa.Column("approve_end", sa.Date, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_exemption_certification"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["exemption_request.id"],
            ondelete="CASCADE",
            name="fk_exemption_certification_request_id_exemption_request",
        ),
        sa.UniqueConstraint(
            "request_id", "certifier", name="uq_exemption_certification_request_id_certifier"
        ),
        sa.CheckConstraint(
            f"certifier IN ({CERTIFIERS})", name="ck_exemption_certification_certifier"
        ),
        sa.CheckConstraint(
            "decision IN ('approve', 'deny')", name="ck_exemption_certification_decision"
        ),
        sa.CheckConstraint(
            "decision = 'deny' OR (approve_start IS NOT NULL AND approve_end IS NOT NULL)",
            name="ck_exemption_certification_dates",
        ),
    )

    op.create_table(
        "exemption_document",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_exemption_document"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["exemption_request.id"],
            ondelete="CASCADE",
            name="fk_exemption_document_request_id_exemption_request",
        ),
        sa.UniqueConstraint(
            "request_id", "position", name="uq_exemption_document_request_id_position"
        ),
    )


def downgrade() -> None:
    op.drop_table("exemption_document")
    op.drop_table("exemption_certification")
    op.drop_table("exemption_request")
