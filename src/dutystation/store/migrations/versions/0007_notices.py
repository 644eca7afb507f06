"""Notices, their recipients and acknowledgements, and the mail outbox.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05

Written out in full rather than importing the models (see 0001_initial.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def _fk(column: str, table: str, target: str, *, ondelete: str) -> sa.Column[int]:
    return sa.Column(
        column,
        sa.Integer,
        sa.ForeignKey(f"{target}.id", name=f"fk_{table}_{column}_{target}", ondelete=ondelete),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "notice",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("directive_ref", sa.String(80), nullable=False),
        sa.Column("org_unit", sa.String(64), nullable=True),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.Date, nullable=True),
        sa.Column("deadline_kind", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notice"),
        sa.CheckConstraint("kind IN ('announcement', 'reminder')", name="ck_notice_kind"),
        sa.CheckConstraint(
            "deadline_kind IS NULL OR deadline_kind IN "
            "('policy_revision', 'full_compliance', 'report')",
            name="ck_notice_deadline_kind",
        ),
    )
    op.create_index("ix_notice_directive_ref", "notice", ["directive_ref"])

    op.create_table(
        "notice_recipient",
        sa.Column("id", sa.Integer, primary_key=True),
        _fk("notice_id", "notice_recipient", "notice", ondelete="CASCADE"),
        _fk("employee_pk", "notice_recipient", "employee", ondelete="RESTRICT"),
        sa.Column("org_unit", sa.String(64), nullable=False),
        sa.Column("component", sa.String(64), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_via", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notice_recipient"),
        sa.UniqueConstraint(
            "notice_id", "employee_pk", name="uq_notice_recipient_notice_id_employee_pk"
        ),
    )
    op.create_index("ix_notice_recipient_employee_pk", "notice_recipient", ["employee_pk"])

    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        _fk("notice_id", "mail_outbox", "notice", ondelete="CASCADE"),
        _fk("employee_pk", "mail_outbox", "employee", ondelete="RESTRICT"),
        sa.Column("to_address", sa.String(254), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(32), nullable=True),
        sa.Column("last_error_code", sa.String(32), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.String(250), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_mail_outbox"),
        sa.UniqueConstraint(
            "notice_id", "employee_pk", name="uq_mail_outbox_notice_id_employee_pk"
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed')", name="ck_mail_outbox_status"
        ),
        sa.CheckConstraint("attempts >= 0", name="ck_mail_outbox_attempts"),
    )
    op.create_index("ix_mail_outbox_due", "mail_outbox", ["status", "next_attempt_at"])
    op.create_index("ix_mail_outbox_employee_pk", "mail_outbox", ["employee_pk"])


def downgrade() -> None:
    op.drop_table("mail_outbox")
    op.drop_table("notice_recipient")
    op.drop_table("notice")
