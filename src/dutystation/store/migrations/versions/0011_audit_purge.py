"""The audit trail may lose its oldest records, but only to a purge that leaves a checkpoint.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

Migration 0003 refused every DELETE on ``audit_record``. A record may now be deleted when
both hold, checked by the database for every row whoever deletes it:

- it is more than six years old (NARA GRS 3.2 item 031; the ``audit_retention_years``
  setting cannot go lower), and
- a later ``audit.purge`` record — the checkpoint, already in the chain — names it
  (``after.last_seq`` at or past its seq).

UPDATE and TRUNCATE stay refused for every role. The trigger names of 0003 are kept (on
PostgreSQL only the function behind them changes), so tools and tests that name them still
work. On PostgreSQL the application's role still has no DELETE privilege at all
(``store/app_role.py``): a purge runs connected as the tables' owner (docs/security.md).
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen here: a later change of the floor needs a migration of its own.
FLOOR = "6 years"
MESSAGE = "audit_record is append-only"
PURGE_ONLY = (
    "audit_record is append-only: only a purge removes records, older than 6 years and "
    "named by its checkpoint"
)

SQLITE_DELETE_BEFORE = f"""CREATE TRIGGER audit_record_no_delete BEFORE DELETE ON audit_record
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"""
# Stored times are UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]', comparable with datetime().
SQLITE_DELETE_AFTER = f"""CREATE TRIGGER audit_record_no_delete BEFORE DELETE ON audit_record
    WHEN NOT (
        OLD.at < datetime('now', '-{FLOOR}')
        AND EXISTS (
            SELECT 1 FROM audit_record AS c
            WHERE c.action = 'audit.purge' AND c.outcome = 'allowed' AND c.seq > OLD.seq
              AND json_extract(c.after, '$.last_seq') >= OLD.seq
        )
    )
    BEGIN SELECT RAISE(ABORT, '{PURGE_ONLY}'); END"""

POSTGRES_BEFORE = f"""
CREATE OR REPLACE FUNCTION audit_record_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
END
$$"""
# The same function serves the row trigger (UPDATE, DELETE) and the TRUNCATE one.
POSTGRES_AFTER = f"""
CREATE OR REPLACE FUNCTION audit_record_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.at < now() - interval '{FLOOR}' AND EXISTS (
            SELECT 1 FROM audit_record AS c
            WHERE c.action = 'audit.purge' AND c.outcome = 'allowed' AND c.seq > OLD.seq
              AND (c.after::jsonb ->> 'last_seq')::bigint >= OLD.seq
        ) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION '{PURGE_ONLY}' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
END
$$"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_AFTER)
    else:
        op.execute("DROP TRIGGER audit_record_no_delete")
        op.execute(SQLITE_DELETE_AFTER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_BEFORE)
    else:
        op.execute("DROP TRIGGER audit_record_no_delete")
        op.execute(SQLITE_DELETE_BEFORE)
