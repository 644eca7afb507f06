"""Accounts, role grants, web sessions and API tokens.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04

Written out in full rather than importing the models (see 0001). The role list is the
``Role`` enumeration when this shipped; a new role needs a migration that widens it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

ROLES = (
    "'employee', 'supervisor', 'certifying_official', 'tmo', 'hr', 'ra_coordinator', "
    "'leader', 'auditor', 'agency_admin'"
)


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["app_user.id"], ondelete="CASCADE", name=f"fk_{table}_user_id_app_user"
    )


def _at(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("employee_pk", sa.Integer, nullable=True),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("failed_logins", sa.Integer, nullable=False),
        _at("locked_until", nullable=True),
        _at("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_app_user"),
        sa.UniqueConstraint("username", name="uq_app_user_username"),
        sa.UniqueConstraint("employee_pk", name="uq_app_user_employee_pk"),
        sa.ForeignKeyConstraint(
            ["employee_pk"],
            ["employee.id"],
            ondelete="RESTRICT",
            name="fk_app_user_employee_pk_employee",
        ),
    )

    op.create_table(
        "role_grant",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("scope_org_unit_id", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_role_grant"),
        _user_fk("role_grant"),
        sa.ForeignKeyConstraint(
            ["scope_org_unit_id"],
            ["org_unit.id"],
            ondelete="RESTRICT",
            name="fk_role_grant_scope_org_unit_id_org_unit",
        ),
        sa.UniqueConstraint(
            "user_id",
            "role",
            "scope_org_unit_id",
            name="uq_role_grant_user_id_role_scope_org_unit_id",
        ),
        sa.CheckConstraint(f"role IN ({ROLES})", name="ck_role_grant_role"),
    )
    op.create_index("ix_role_grant_scope_org_unit_id", "role_grant", ["scope_org_unit_id"])

    op.create_table(
        "user_session",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        _at("created_at"),
        _at("expires_at"),
        _at("last_seen_at"),
        _at("revoked_at", nullable=True),
        sa.Column("csrf_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_user_session"),
        _user_fk("user_session"),
    )
    op.create_index("ix_user_session_user_id", "user_session", ["user_id"])

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        _at("created_at"),
        _at("expires_at"),
        _at("revoked_at", nullable=True),
        _at("last_used_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_token"),
        sa.UniqueConstraint("token_hash", name="uq_api_token_token_hash"),
        _user_fk("api_token"),
    )
    op.create_index("ix_api_token_user_id", "api_token", ["user_id"])


def downgrade() -> None:
    for table in ("api_token", "user_session", "role_grant", "app_user"):
        op.drop_table(table)
