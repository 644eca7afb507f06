"""The Privacy Act disclosure ledger, append-only in the database itself.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

Like the audit trail (0003), triggers refuse UPDATE (and TRUNCATE on PostgreSQL) of
``disclosure`` and ``disclosure_subject`` for every role. DELETE is refused too, except
for entries disclosed more than five years ago: 5 U.S.C. 552a(c)(2) keeps the accounting
at least that long, so the database enforces the statutory floor whatever the retention
setting says, and ``dutystation disclosures purge`` (run as the tables' owner on
PostgreSQL; the application's role may not delete at all) can remove what is older.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

MESSAGE = "the disclosure ledger is append-only"
YOUNG = "disclosure ledger entries are kept at least 5 years"
TABLES = ("disclosure", "disclosure_subject")

SQLITE_TRIGGERS = [
    *(
        f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"""
        for table in TABLES
    ),
    # Stored times are UTC text 'YYYY-MM-DD HH:MM:SS.ffffff', comparable with datetime().
    f"""CREATE TRIGGER disclosure_young_no_delete BEFORE DELETE ON disclosure
    WHEN OLD.disclosed_at > datetime('now', '-5 years')
    BEGIN SELECT RAISE(ABORT, '{YOUNG}'); END""",
    f"""CREATE TRIGGER disclosure_subject_young_no_delete BEFORE DELETE ON disclosure_subject
    WHEN (SELECT disclosed_at FROM disclosure WHERE id = OLD.disclosure_id)
         > datetime('now', '-5 years')
    BEGIN SELECT RAISE(ABORT, '{YOUNG}'); END""",
]
POSTGRES_FUNCTIONS = [
    f"""
CREATE FUNCTION disclosure_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
END
$$""",
    f"""
CREATE FUNCTION disclosure_delete_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.disclosed_at > now() - interval '5 years' THEN
        RAISE EXCEPTION '{YOUNG}' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
END
$$""",
    f"""
CREATE FUNCTION disclosure_subject_delete_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT disclosed_at FROM disclosure WHERE id = OLD.disclosure_id)
            > now() - interval '5 years' THEN
        RAISE EXCEPTION '{YOUNG}' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
END
$$""",
]
POSTGRES_TRIGGERS = [
    *(
        statement
        for table in TABLES
        for statement in (
            f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
            FOR EACH ROW EXECUTE FUNCTION disclosure_append_only()""",
            f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION disclosure_append_only()""",
            f"""CREATE TRIGGER {table}_young_no_delete BEFORE DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION {table}_delete_guard()""",
        )
    ),
]


def upgrade() -> None:
    op.create_table(
        "disclosure",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("disclosed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("nature_kind", sa.String(32), nullable=False),
        sa.Column("nature", sa.String(300), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("recipient", sa.String(300), nullable=False),
        sa.Column("recipient_kind", sa.String(16), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("recorded_by_user_id", sa.Integer, nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("people", sa.Integer, nullable=False),
        sa.Column("audit_seq", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_disclosure"),
        sa.CheckConstraint(
            "nature_kind IN ('report_export', 'plan_export', 'audit_export', 'document_download')",
            name="ck_disclosure_nature_kind",
        ),
        sa.CheckConstraint(
            "recipient_kind IN ('agency_user', 'outside_agency')",
            name="ck_disclosure_recipient_kind",
        ),
    )
    op.create_index("ix_disclosure_disclosed_at", "disclosure", ["disclosed_at"])
    op.create_table(
        "disclosure_subject",
        sa.Column(
            "employee_pk",
            sa.Integer,
            sa.ForeignKey(
                "employee.id",
                name="fk_disclosure_subject_employee_pk_employee",
                ondelete="RESTRICT",
            ),
            nullable=False,
        ),
        sa.Column(
            "disclosure_id",
            sa.Integer,
            sa.ForeignKey(
                "disclosure.id",
                name="fk_disclosure_subject_disclosure_id_disclosure",
                ondelete="RESTRICT",
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("employee_pk", "disclosure_id", name="pk_disclosure_subject"),
    )
    op.create_index("ix_disclosure_subject_disclosure_id", "disclosure_subject", ["disclosure_id"])
    if op.get_bind().dialect.name == "postgresql":
        for statement in (*POSTGRES_FUNCTIONS, *POSTGRES_TRIGGERS):
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    # Dropping the tables drops their triggers on both backends.
    op.drop_table("disclosure_subject")
    op.drop_table("disclosure")
    if op.get_bind().dialect.name == "postgresql":
        for function in (
            "disclosure_append_only",
            "disclosure_delete_guard",
            "disclosure_subject_delete_guard",
        ):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
