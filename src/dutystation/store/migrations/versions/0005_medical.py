"""The medical store: sealed records and document references.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "medical_record",
        sa.Column("request_id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name="pk_medical_record"),
    )
    op.create_table(
        "medical_document",
        sa.Column("request_id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("position", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "position", name="pk_medical_document"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["medical_record.request_id"],
            name="fk_medical_document_request_id_medical_record",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("request_id", "address", name="uq_medical_document_request_id_address"),
    )
    op.create_index("ix_medical_document_address", "medical_document", ["address"])


def downgrade() -> None:
    op.drop_table("medical_document")
    op.drop_table("medical_record")
