"""Notices: directive announcements and deadline reminders, who received each one (in the
app, and by mail when the roster has an address), who acknowledged it, and the mail
outbox that the delivery worker drains (``services/notices.py``, ``services/mail_delivery.py``).

A notice's recipients and its outbox rows are written in the notice's own transaction, so
a notice never exists without the people it is for, nor a mail without its notice. The
recipient row keeps the org unit, component and address *as at sending*: the
acknowledgement rates of a January announcement stay January's when people move later.

``mail_outbox`` holds one row per (notice, employee), so one notice is mailed at most once
to one person; its ``message_id`` is fixed by the first attempt and reused by every later
one. ``last_error_code`` is a short code (``smtp_550``, ``connect_failed``), never the
server's text, which may echo addresses.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from dutystation.store.schema import Base

NOTICE_KINDS = ("announcement", "reminder")
DEADLINE_KINDS = ("policy_revision", "full_compliance", "report")
MAIL_STATUSES = ("pending", "sending", "sent", "failed")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Notice(Base):
    __tablename__ = "notice"
    __table_args__ = (
        CheckConstraint(_one_of("kind", NOTICE_KINDS), name="kind"),
        CheckConstraint(
            f"deadline_kind IS NULL OR {_one_of('deadline_kind', DEADLINE_KINDS)}",
            name="deadline_kind",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    directive_ref: Mapped[str] = mapped_column(String(80), index=True)  # id@version
    org_unit: Mapped[str | None] = mapped_column(String(64))  # asked for; None: whole scope
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)  # plain text, rendered once for every recipient
    created_by: Mapped[str] = mapped_column(String(200))  # username, or "system"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # UTC
    deadline: Mapped[date | None] = mapped_column(Date)  # reminders: the day reminded of
    deadline_kind: Mapped[str | None] = mapped_column(String(32))


class NoticeRecipient(Base):
    __tablename__ = "notice_recipient"
    __table_args__ = (UniqueConstraint("notice_id", "employee_pk"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"))
    # RESTRICT: an acknowledgement is evidence; it outlives nobody's record silently.
    employee_pk: Mapped[int] = mapped_column(
        ForeignKey("employee.id", ondelete="RESTRICT"), index=True
    )
    org_unit: Mapped[str] = mapped_column(String(64))  # as at sending
    component: Mapped[str] = mapped_column(String(64))  # as at sending
    email: Mapped[str | None] = mapped_column(String(254))  # None: in the app only
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_via: Mapped[str | None] = mapped_column(String(16))  # cli, web, api


class MailOutbox(Base):
    __tablename__ = "mail_outbox"
    __table_args__ = (
        UniqueConstraint("notice_id", "employee_pk"),
        CheckConstraint(_one_of("status", MAIL_STATUSES), name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        # The worker's question: "what is due now?"
        Index("ix_mail_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"))
    employee_pk: Mapped[int] = mapped_column(
        ForeignKey("employee.id", ondelete="RESTRICT"), index=True
    )
    to_address: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # A worker owns a row in "sending" until lease_until; claim_token says which worker.
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_error_code: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Fixed by the first attempt (its domain is smtp_from's) and reused by every later one.
    message_id: Mapped[str | None] = mapped_column(String(250))
