"""The hash-chained audit trail, append-only in the database itself.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

Triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) on ``audit_record`` for
every role, so nothing in the product can edit or remove a record even by mistake. They
do not stop the table's owner, who may drop a trigger; that is why the chain exists and
why the application should connect as a role that owns nothing (docs/audit.md:
``dutystation db grant-app-role``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

MESSAGE = "audit_record is append-only"

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER audit_record_no_{verb.lower()} BEFORE {verb} ON audit_record
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"""
    for verb in ("UPDATE", "DELETE")
]
POSTGRES_FUNCTION = f"""
CREATE FUNCTION audit_record_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
END
$$"""
POSTGRES_TRIGGERS = [
    """CREATE TRIGGER audit_record_no_change BEFORE UPDATE OR DELETE ON audit_record
    FOR EACH ROW EXECUTE FUNCTION audit_record_append_only()""",
    """CREATE TRIGGER audit_record_no_truncate BEFORE TRUNCATE ON audit_record
    FOR EACH STATEMENT EXECUTE FUNCTION audit_record_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "audit_record",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("actor_user_id", sa.Integer, nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("subject_type", sa.String(64), nullable=True),
        sa.Column("subject_id", sa.String(200), nullable=True),
        sa.Column("before", sa.Text, nullable=True),
        sa.Column("after", sa.Text, nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_record"),
        sa.UniqueConstraint("hash", name="uq_audit_record_hash"),
    )
    op.create_index("ix_audit_record_at", "audit_record", ["at"])
    op.create_index("ix_audit_record_action", "audit_record", ["action"])
    op.create_index("ix_audit_record_subject_id", "audit_record", ["subject_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        for statement in POSTGRES_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    # Dropping the table drops its triggers on both backends.
    op.drop_table("audit_record")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_record_append_only()")
