"""People who use dutystation: accounts, their role grants, web sessions and API tokens
(``services/accounts.py``, ``services/sessions.py`` and ``services/tokens.py`` own them).

Secrets never reach the database in the clear: passwords are Argon2id hashes, session
and token secrets are stored as their SHA-256 (they are 256-bit random values, so a fast
hash is enough; Argon2's cost protects guessable secrets, not random ones).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dutystation.domain.access import Role
from dutystation.store.schema import Base, _one_of


class AppUser(Base):
    """An account. ``employee_pk`` links it to the person's employee record (at most one
    account per employee); accounts without one are service or administration accounts."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)  # stored lower-case
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    employee_pk: Mapped[int | None] = mapped_column(
        ForeignKey("employee.id", ondelete="RESTRICT"), unique=True
    )
    password_hash: Mapped[str | None] = mapped_column(String(255))  # None: no password login
    active: Mapped[bool]
    failed_logins: Mapped[int]
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RoleGrant(Base):
    """``role`` over an org subtree (``scope_org_unit_id``; NULL = the whole organisation).
    Supervisor grants carry no scope: their scope is the user's reports on the roster.

    SQL treats NULLs as distinct, so the unique constraint does not stop a second
    whole-organisation grant of the same role; the service checks that under the
    serialised write transaction."""

    __tablename__ = "role_grant"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "scope_org_unit_id"),
        CheckConstraint(_one_of("role", [r.value for r in Role]), name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    scope_org_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("org_unit.id", ondelete="RESTRICT"), index=True
    )


class UserSession(Base):
    """A signed-in browser. ``id`` is the SHA-256 of the cookie's secret; the CSRF token
    is kept as its hash too."""

    __tablename__ = "user_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    csrf_hash: Mapped[str] = mapped_column(String(64))


class ApiToken(Base):
    """A bearer token for the API. Only its hash is stored; ``prefix`` (the first
    characters of the secret) lets a person tell their tokens apart."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
