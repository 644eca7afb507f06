"""A value the database replaces on every change to the roster tables.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

The evaluation keeps the results of whole periods (docs/evaluation.md, "Kept period
results") and reuses them while their inputs are unchanged. The roster is one of those
inputs, and reading it whole to see whether it changed costs seconds at 250,000 people.
So the database itself marks changes: triggers on every table the evaluation reads the
roster from replace ``roster_revision.revision`` in the writing transaction, whoever
writes and however (ORM, Core, bulk ``COPY`` on PostgreSQL, a hand-run ``UPDATE``). The
value is random, not a count: two databases, or a database restored from a backup and
changed again, never come to the same value with different rosters. A new table the
evaluation reads must get the same triggers, or kept results would outlive its changes.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None

# Every table ``store.history.assignment_intervals`` and ``org_unit_chains`` read.
TABLES = ("employee", "employee_assignment", "org_unit", "office")
SQLITE_BUMP = "UPDATE roster_revision SET revision = random() WHERE id = 1"
POSTGRES_BUMP = (
    "UPDATE roster_revision SET revision = floor(random() * 9007199254740991)::bigint WHERE id = 1"
)
OPERATIONS = ("INSERT", "UPDATE", "DELETE")

POSTGRES_FUNCTION = f"""
CREATE FUNCTION roster_revision_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {POSTGRES_BUMP};
    RETURN NULL;
END
$$"""


def upgrade() -> None:
    op.create_table(
        "roster_revision",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_roster_revision"),
        sa.CheckConstraint("id = 1", name="ck_roster_revision_one_row"),
    )
    start = secrets.randbits(62)
    op.execute(
        sa.text("INSERT INTO roster_revision (id, revision) VALUES (1, :start)").bindparams(
            start=start
        )
    )
    if op.get_bind().dialect.name == "postgresql":
        # Statement triggers: one bump per statement, not per row of a 250,000-row COPY.
        op.execute(POSTGRES_FUNCTION)
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_roster_revision AFTER INSERT OR UPDATE OR DELETE "
                f"OR TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION roster_revision_bump()"
            )
        return
    # SQLite has row triggers only.
    for table in TABLES:
        for operation in OPERATIONS:
            op.execute(
                f"CREATE TRIGGER {table}_roster_revision_{operation.lower()} AFTER {operation} "
                f"ON {table} BEGIN {SQLITE_BUMP}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_roster_revision ON {table}")
        op.execute("DROP FUNCTION roster_revision_bump()")
    else:
        for table in TABLES:
            for operation in OPERATIONS:
                op.execute(f"DROP TRIGGER {table}_roster_revision_{operation.lower()}")
    op.drop_table("roster_revision")
