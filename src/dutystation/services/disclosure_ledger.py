"""Reading and purging the Privacy Act disclosure ledger (``services/disclosures.py``
writes it; docs/privacy.md).

- ``person_disclosures``: the entries about one person, newest first. Everyone reads their
  own (5 U.S.C. 552a(c)(3)); HR, administrators and auditors those of people in their
  scope. Only the person's own share of an entry is shown: the nature, purpose, recipient
  and when — never who else the same export named.
- ``purge``: removes entries disclosed before the same UTC day ``disclosure_retention_years``
  ago, and nothing else; an administrator of the whole organisation runs it, and it is
  itself audited. The database refuses to delete anything younger than five years
  whatever the setting (migration 0010), and on PostgreSQL only the tables' owner may
  delete at all, so the application's role cannot purge (``store/app_role.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import cast

from sqlalchemy import Connection, Engine, Table, delete, func, select, text

from dutystation.domain.access import Actor, Operation
from dutystation.errors import ConfigError, Forbidden, NotFound
from dutystation.services.audit import Change, denials_recorded, record
from dutystation.services.authorization import Subject, authorize
from dutystation.services.disclosures import DISCLOSURE, SUBJECT
from dutystation.store.db import translate_errors, write_transaction
from dutystation.store.schema import Employee

EMPLOYEE = cast(Table, Employee.__table__)


@dataclass(frozen=True)
class Entry:
    """One disclosure of a person's records, as that person (or HR, or an auditor) sees it."""

    id: int
    disclosed_at: datetime  # UTC
    nature_kind: str
    nature: str
    purpose: str
    recipient: str
    recipient_kind: str  # agency_user | outside_agency
    recorded_by: str
    channel: str


@dataclass(frozen=True)
class PersonDisclosures:
    employee_id: str
    entries: list[Entry]


def person_disclosures(
    engine: Engine, actor: Actor, employee_id: str | None = None
) -> PersonDisclosures:
    """The ledger entries about ``employee_id`` (default: the actor's own record), newest
    first. ``NotFound`` for someone unknown or outside the actor's scope (the same
    sentence); an account linked to no employee has no entries of its own."""
    who = employee_id or "self"
    missing = f"no employee {who!r}"
    attempt = Change(Operation.DISCLOSURE_READ.value, "employee", who)
    with denials_recorded(engine, actor, attempt), translate_errors(), engine.connect() as conn:
        if employee_id is None:
            if actor.employee_pk is None:
                return PersonDisclosures("", [])
            pk = actor.employee_pk
        else:
            found = conn.scalar(select(EMPLOYEE.c.id).where(EMPLOYEE.c.employee_id == employee_id))
            if found is None:
                raise NotFound(missing)  # every role may read its own: no "forbidden" to leak
            pk = int(found)
        subject = Subject(employee_pk=pk)
        authorize(conn, actor, Operation.DISCLOSURE_READ, subject, not_found=missing)
        hr_id = conn.scalar(select(EMPLOYEE.c.employee_id).where(EMPLOYEE.c.id == pk))
        return PersonDisclosures(str(hr_id or ""), _entries(conn, pk))


def _entries(conn: Connection, employee_pk: int) -> list[Entry]:
    d = DISCLOSURE
    rows = conn.execute(
        select(
            d.c.id,
            d.c.disclosed_at,
            d.c.nature_kind,
            d.c.nature,
            d.c.purpose,
            d.c.recipient,
            d.c.recipient_kind,
            d.c.recorded_by,
            d.c.channel,
        )
        .join(SUBJECT, SUBJECT.c.disclosure_id == d.c.id)
        .where(SUBJECT.c.employee_pk == employee_pk)
        .order_by(d.c.disclosed_at.desc(), d.c.id.desc())
    )
    return [
        Entry(
            id=row.id,
            disclosed_at=_utc(row.disclosed_at),
            nature_kind=row.nature_kind,
            nature=row.nature,
            purpose=row.purpose,
            recipient=row.recipient,
            recipient_kind=row.recipient_kind,
            recorded_by=row.recorded_by,
            channel=row.channel,
        )
        for row in rows
    ]


def _utc(value: datetime) -> datetime:
    """SQLite hands stored times back without their offset; they are UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- retention ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeResult:
    cutoff: datetime  # entries disclosed before this (UTC) are past their retention
    retention_years: int
    disclosures: int  # entries removed (or, in a dry run, that would be)
    people_rows: int  # their disclosure_subject rows
    dry_run: bool


def retention_cutoff(today: date, years: int) -> datetime:
    """Midnight UTC of the same day ``years`` earlier (29 February: the 28th). A whole-day
    boundary keeps a few seconds of clock difference between the application and the
    database from meeting the database's own five-year guard."""
    try:
        day = today.replace(year=today.year - years)
    except ValueError:
        day = today.replace(year=today.year - years, day=28)
    return datetime.combine(day, time(0), tzinfo=UTC)


def purge(
    engine: Engine,
    actor: Actor,
    retention_years: int,
    *,
    dry_run: bool = False,
    today: date | None = None,
) -> PurgeResult:
    """Remove the entries (and their people rows) disclosed before ``retention_cutoff``;
    ``dry_run`` only counts them. Needs ``disclosure.purge`` over the whole organisation.
    A real run writes an audit record (``disclosure.purge``), even when nothing was old
    enough."""
    cutoff = retention_cutoff(today or datetime.now(UTC).date(), retention_years)
    attempt = Change(Operation.DISCLOSURE_PURGE.value, "disclosure_ledger", None)
    with denials_recorded(engine, actor, attempt), write_transaction(engine) as conn:
        grant = authorize(conn, actor, Operation.DISCLOSURE_PURGE)
        if grant is not None and grant.scope is not None:
            raise Forbidden(
                "purging the disclosure ledger needs a grant over the whole organisation; "
                f"user {actor.username!r} holds agency_admin over {grant.scope} only"
            )
        old = select(DISCLOSURE.c.id).where(DISCLOSURE.c.disclosed_at < cutoff)
        disclosures = int(conn.scalar(select(func.count()).select_from(old.subquery())) or 0)
        people_rows = int(
            conn.scalar(
                select(func.count())
                .select_from(SUBJECT)
                .where(SUBJECT.c.disclosure_id.in_(old.scalar_subquery()))
            )
            or 0
        )
        result = PurgeResult(cutoff, retention_years, disclosures, people_rows, dry_run)
        if dry_run:
            return result
        if disclosures:
            _may_delete(conn)
            conn.execute(delete(SUBJECT).where(SUBJECT.c.disclosure_id.in_(old.scalar_subquery())))
            conn.execute(delete(DISCLOSURE).where(DISCLOSURE.c.disclosed_at < cutoff))
        after = {
            "cutoff": cutoff.isoformat(),
            "retention_years": retention_years,
            "disclosures": disclosures,
            "people_rows": people_rows,
        }
        record(
            conn,
            actor,
            Change(Operation.DISCLOSURE_PURGE.value, "disclosure_ledger", None, None, after),
        )
    return result


def _may_delete(conn: Connection) -> None:
    """On PostgreSQL, one sentence instead of "permission denied" for the application's
    role, which only appends to the ledger."""
    if conn.dialect.name != "postgresql":
        return
    allowed = conn.scalar(
        text(
            "SELECT has_table_privilege('disclosure', 'DELETE') "
            "AND has_table_privilege('disclosure_subject', 'DELETE')"
        )
    )
    if not allowed:
        role = conn.scalar(text("SELECT current_user"))
        raise ConfigError(
            f"the database role {role!r} may only append to the disclosure ledger; run the "
            "purge connected as the tables' owner (docs/privacy.md, 'Retention')"
        )
