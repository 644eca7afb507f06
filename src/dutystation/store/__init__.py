"""Operational store: SQLAlchemy tables, Alembic migrations, engines and repositories.
SQLite file by default, PostgreSQL (psycopg 3) in production; the same code runs on both."""

from dutystation.store.db import (
    is_current,
    make_engine,
    migrate,
    schema_revision,
    session_factory,
    write_transaction,
)
from dutystation.store.repositories import (
    ROSTER_SCHEMA,
    AssignmentRecord,
    assignment_as_of,
    assignment_history,
    delete_office,
    org_subtree,
    reference_data,
    roster_as_of,
)

__all__ = [
    "ROSTER_SCHEMA",
    "AssignmentRecord",
    "assignment_as_of",
    "assignment_history",
    "delete_office",
    "is_current",
    "make_engine",
    "migrate",
    "org_subtree",
    "reference_data",
    "roster_as_of",
    "schema_revision",
    "session_factory",
    "write_transaction",
]
