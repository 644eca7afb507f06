"""The PostgreSQL role the application connects as: it may change the operational tables
but only append to the audit trail (NIST AU-9: the writer of a record cannot alter it).

Triggers (migration 0003) already refuse UPDATE and DELETE on ``audit_record`` for every
role, but the tables' owner can drop a trigger. So the application should not connect as
the owner: an administrator runs migrations as the owner and, once per upgrade, grants a
separate login role what the application needs (``dutystation db grant-app-role ROLE``).
Without UPDATE, DELETE and TRUNCATE privileges on ``audit_record`` that role gets
"permission denied" before any trigger is reached, and it cannot drop the triggers.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text

from dutystation.errors import ConfigError, NotFound
from dutystation.store.db import write_transaction

AUDIT_TABLE = "audit_record"
# The Privacy Act disclosure ledger (migration 0010): read and append, like the trail;
# purging old entries is the owner's job (docs/privacy.md).
LEDGER_TABLES = ("disclosure", "disclosure_subject")


def app_role_statements(conn: Connection, role: str) -> list[str]:
    """The GRANT/REVOKE statements for ``role`` in the current database and schema
    (idempotent: running them again changes nothing). Shown in docs/audit.md."""
    quote = conn.dialect.identifier_preparer.quote
    database = quote(str(conn.scalar(text("SELECT current_database()"))))
    schema = quote(str(conn.scalar(text("SELECT current_schema()"))))
    who = quote(role)
    return [
        f"GRANT CONNECT ON DATABASE {database} TO {who}",
        f"GRANT USAGE ON SCHEMA {schema} TO {who}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {who}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {who}",
        # The schema version is read (is the database current?), never written.
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {schema}.alembic_version FROM {who}",
        # The audit trail: read and append, nothing else.
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {schema}.{AUDIT_TABLE} "
        f"FROM {who}",
        *(
            f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {schema}.{table} FROM {who}"
            for table in LEDGER_TABLES
        ),
    ]


def grant_app_role(engine: Engine, role: str) -> list[str]:
    """Grant ``role`` what the application needs, and on ``audit_record`` only SELECT and
    INSERT; returns the statements run. Run it as the tables' owner after each upgrade."""
    if engine.dialect.name != "postgresql":
        raise ConfigError(
            "grant-app-role is for PostgreSQL; SQLite has no roles (its triggers still "
            "refuse changes to the audit trail)"
        )
    with write_transaction(engine) as conn:
        found = conn.execute(
            text("SELECT rolsuper FROM pg_roles WHERE rolname = :role"), {"role": role}
        ).first()
        if found is None:
            raise NotFound(
                f"there is no PostgreSQL role {role!r}; create it first "
                "(CREATE ROLE ... LOGIN PASSWORD ...)"
            )
        if found[0]:
            raise ConfigError(
                f"role {role!r} is a superuser, which no privilege can restrict; the "
                "application needs an ordinary login role"
            )
        owner = conn.scalar(
            text(
                "SELECT tableowner FROM pg_tables "
                "WHERE schemaname = current_schema() AND tablename = :table"
            ),
            {"table": AUDIT_TABLE},
        )
        if owner is None:
            raise ConfigError("the database has no audit trail yet; run `dutystation db upgrade`")
        member = conn.scalar(
            text("SELECT pg_has_role(:role, :owner, 'MEMBER')"), {"role": role, "owner": owner}
        )
        if member:
            raise ConfigError(
                f"role {role!r} owns the tables (or is a member of their owner {owner!r}) and "
                "could drop the audit triggers; the application needs a role of its own"
            )
        statements = app_role_statements(conn, role)
        for statement in statements:
            conn.execute(text(statement))
    return statements
