"""The medical store's tables (29 CFR 1630.14: medical information in separate files).

Everything textual is ciphertext sealed with the medical key (``store/medical_crypto``):
justification, diagnosis, limitations, document names and types. What stays readable is
what a reader of the database learns anyway from the exemption tables: request ids,
positions, times, which key sealed a row, and documents' keyed content addresses (HMACs,
the names of the encrypted files on disk).

``request_id`` is the exemption request's id, deliberately without a foreign key: the
medical store can be kept in a separate database later without a schema change.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dutystation.store.schema import Base


class MedicalRecordRow(Base):
    """One sealed JSON object per request: ``{"fields": {name: text}}``."""

    __tablename__ = "medical_record"

    request_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    key_id: Mapped[str] = mapped_column(String(16))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MedicalDocumentRow(Base):
    """A document attached to a request, in attachment order. Sealed: ``{"file_name",
    "media_type", "size"}``; the bytes are in ``data_dir/medical/documents/<address>``."""

    __tablename__ = "medical_document"
    __table_args__ = (UniqueConstraint("request_id", "address"),)

    request_id: Mapped[int] = mapped_column(
        ForeignKey("medical_record.request_id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    address: Mapped[str] = mapped_column(String(64), index=True)
    key_id: Mapped[str] = mapped_column(String(16))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
