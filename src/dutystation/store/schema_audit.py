"""The security audit trail: one append-only row per change (and per refused attempt),
hash-chained so that an edit, a deletion or an insertion in the middle is detectable
(``services/audit.py`` writes it, ``services/audit_verify.py`` checks it). Triggers made
by migration 0003 refuse UPDATE and DELETE."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dutystation.store.schema import Base


class AuditRecord(Base):
    __tablename__ = "audit_record"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)  # UTC
    actor: Mapped[str] = mapped_column(String(200))  # username, or "system"
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))  # cli, web, api, system
    action: Mapped[str] = mapped_column(String(64), index=True)  # an Operation value
    outcome: Mapped[str] = mapped_column(String(16))  # allowed | denied
    subject_type: Mapped[str | None] = mapped_column(String(64))
    subject_id: Mapped[str | None] = mapped_column(String(200), index=True)
    before: Mapped[str | None] = mapped_column(Text)  # canonical JSON, sensitive keys redacted
    after: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
