"""Writing the Privacy Act disclosure ledger (5 U.S.C. 552a(c)): every path that hands a
copy of people's records to someone calls one function here, in the transaction (or just
before the hand-over) of that path. docs/privacy.md states the rule; in short:

- a report or plan whose exported sections hold an ``employee_id`` column, written to a
  file or downloaded (CSV of one section, XLSX, JSON, HTML) — the people in what was
  exported (an HTML page shows the first ``html.DEFAULT_MAX_ROWS`` rows of a section);
- an export of the audit trail — the people its records are about;
- a supporting document of an exemption request, downloaded by anyone but its subject.

Reading on screen (terminal tables, dashboard pages, the API's JSON views of records) is
use by staff with a need to know (552a(b)(1)) and is not a disclosure. Every export is
recorded even when it stays inside the agency: the recipient is then the exporting user
(``agency_user``) and the purpose whatever they stated, or ``DEFAULT_PURPOSE``. A copy
for someone outside the agency names them (``--recipient`` / ``recipient``) and must say
why (``--purpose`` / ``purpose``).

Each disclosure also writes one audit record (``disclosure.record``) whose ``after``
holds the fields and a SHA-256 of the people's store keys, so an edited ledger row is
caught by the audit trail's hash chain.
"""

from __future__ import annotations

import getpass
import hashlib
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import cast

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Engine, String, Table, and_, insert, select, text, union
from sqlalchemy import cast as sql_cast

from dutystation.domain.access import SYSTEM, Actor
from dutystation.errors import ConfigError, InvalidRequest
from dutystation.reports.model import Report
from dutystation.services.audit import AUDIT, Change, record
from dutystation.store.db import write_transaction
from dutystation.store.schema import Employee
from dutystation.store.schema_access import AppUser
from dutystation.store.schema_disclosures import Disclosure, DisclosureSubject
from dutystation.store.schema_exemptions import ExemptionRequest

DISCLOSURE = cast(Table, Disclosure.__table__)
SUBJECT = cast(Table, DisclosureSubject.__table__)
AUDIT_ACTION = "disclosure.record"
DEFAULT_PURPOSE = "use within the agency by the exporting user (no purpose stated)"
PURPOSE_MAX = 500
RECIPIENT_MAX = 200
PERSON_COLUMN = "employee_id"  # a section with this column names people
_LOOKUP_CHUNK = 5_000  # HR ids per IN (...) when finding store keys
# Control characters, and the invisible and bidi ones that would make a recipient read
# differently on screen than it is stored (RELIABILITY T14).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


class NatureKind(StrEnum):
    REPORT_EXPORT = "report_export"
    PLAN_EXPORT = "plan_export"
    AUDIT_EXPORT = "audit_export"
    DOCUMENT_DOWNLOAD = "document_download"


class RecipientKind(StrEnum):
    AGENCY_USER = "agency_user"  # the exporting user: a (b)(1) use, accounted for anyway
    OUTSIDE_AGENCY = "outside_agency"


@dataclass(frozen=True)
class Stated:
    """What the person exporting says: why, and — only for a copy that goes outside the
    agency — to whom. Build it with ``stated(...)``, which checks both."""

    purpose: str | None = None
    recipient: str | None = None


def stated(purpose: str | None = None, recipient: str | None = None) -> Stated:
    """``Stated`` with blanks trimmed; ``InvalidRequest`` (one sentence) for text too long
    or holding control characters, and for a recipient without a purpose."""
    clean_purpose = _text(purpose, "purpose", PURPOSE_MAX)
    clean_recipient = _text(recipient, "recipient", RECIPIENT_MAX)
    if clean_recipient is not None and clean_purpose is None:
        raise InvalidRequest(
            "a disclosure to a recipient outside the agency needs its purpose (the Privacy "
            "Act accounting records why): give --purpose or purpose"
        )
    return Stated(clean_purpose, clean_recipient)


def _text(value: str | None, name: str, limit: int) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > limit:
        raise InvalidRequest(f"the {name} is longer than {limit} characters")
    if _UNPRINTABLE.search(value):
        raise InvalidRequest(f"the {name} holds control or invisible characters")
    return value


def record_disclosure(
    conn: Connection,
    actor: Actor,
    kind: NatureKind,
    nature: str,
    people: Iterable[int],
    said: Stated,
    *,
    now: datetime | None = None,
) -> int | None:
    """Append one disclosure of the records of ``people`` (store keys) inside the caller's
    write transaction, with its audit record; returns its id, or None when it names
    nobody (there is nothing to account for)."""
    pks = sorted(set(people))
    if not pks:
        return None
    at = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    recipient, recipient_kind = _recipient(actor, said)
    purpose = said.purpose or DEFAULT_PURPOSE
    fields = {
        "nature_kind": kind.value,
        "nature": nature[:300],
        "purpose": purpose,
        "recipient": recipient,
        "recipient_kind": recipient_kind.value,
        "people": len(pks),
    }
    digest = hashlib.sha256(",".join(map(str, pks)).encode()).hexdigest()
    audit_seq = record(
        conn,
        actor,
        Change(AUDIT_ACTION, "disclosure", None, None, {**fields, "people_sha256": digest}),
        now=at,
    )
    disclosure_id = conn.execute(
        insert(DISCLOSURE)
        .values(
            disclosed_at=at,
            recorded_by=actor.username,
            recorded_by_user_id=actor.user_id,
            channel=actor.channel,
            audit_seq=audit_seq,
            **fields,
        )
        .returning(DISCLOSURE.c.id)
    ).scalar_one()
    if conn.dialect.name == "postgresql":
        # One array instead of a quarter of a million bound rows: twice as fast there.
        conn.execute(_PG_SUBJECTS, {"pks": pks, "disclosure_id": disclosure_id})
    else:
        conn.execute(
            insert(SUBJECT), [{"employee_pk": pk, "disclosure_id": disclosure_id} for pk in pks]
        )
    return int(disclosure_id)


_PG_SUBJECTS = text(
    "INSERT INTO disclosure_subject (employee_pk, disclosure_id) "
    "SELECT unnest(CAST(:pks AS integer[])), :disclosure_id"
)
_PG_KEYS = text("SELECT id FROM employee WHERE employee_id = ANY(CAST(:ids AS text[]))")


def _recipient(actor: Actor, said: Stated) -> tuple[str, RecipientKind]:
    if said.recipient is not None:
        return said.recipient, RecipientKind.OUTSIDE_AGENCY
    if actor is SYSTEM or actor.user_id is None:
        # The command line without --as: the best name for who got the file is the login.
        return f"{_os_login()} (operating-system login; no --as given)", RecipientKind.AGENCY_USER
    return actor.username, RecipientKind.AGENCY_USER


def _os_login() -> str:
    try:
        return getpass.getuser()[:100]
    except (OSError, KeyError):  # no USER variable and no passwd entry (some containers)
        return "unknown"


# --- reports and plans -------------------------------------------------------------------


def record_report_export(
    engine: Engine,
    actor: Actor,
    report: Report,
    fmt: str,
    said: Stated,
    *,
    section: str | None = None,
    kind: NatureKind = NatureKind.REPORT_EXPORT,
    nature: str | None = None,
    now: datetime | None = None,
) -> int | None:
    """Record that ``report`` went out as ``fmt`` (csv, xlsx, json, html; ``section``: the
    CSV's table, default the main one). Called before the file is handed over, so a crash
    in between leaves an entry for an export that did not finish, never the reverse.
    Returns the disclosure's id, or None when the exported sections name nobody."""
    ids = report_people(report, fmt, section)
    if not ids:
        return None
    what = nature or (
        f"report {report.kind} ({fmt}), {report.period_start.isoformat()} to "
        f"{report.period_end.isoformat()}"
    )
    with write_transaction(engine) as conn:
        pks = store_keys(conn, ids)
        return record_disclosure(conn, actor, kind, what, pks, said, now=now)


def report_people(report: Report, fmt: str, section: str | None = None) -> set[str]:
    """The HR ids in the sections a ``fmt`` export of ``report`` carries."""
    if fmt == "table":
        return set()  # the terminal: reading, not a copy
    try:
        sections = [report.section(section)] if fmt == "csv" else list(report.sections)
    except KeyError as exc:  # the same sentence as the renderers give
        raise ConfigError(f"report {report.kind} has no section {exc.args[0]}") from None
    shown_rows = None
    if fmt == "html":
        from dutystation.reports.html import DEFAULT_MAX_ROWS

        shown_rows = DEFAULT_MAX_ROWS
    found: set[str] = set()
    for part in sections:
        if PERSON_COLUMN not in part.table.column_names:
            continue
        column = part.table.column(PERSON_COLUMN)
        if shown_rows is not None:
            column = column.slice(0, shown_rows)
        unique = pc.unique(column.cast(pa.string())).drop_null()
        found.update(str(v) for v in unique.to_pylist())
    return found


def store_keys(conn: Connection, employee_ids: Collection[str]) -> list[int]:
    """The store keys of the employees with these HR ids (unknown ids are skipped)."""
    ordered = sorted(employee_ids)
    if conn.dialect.name == "postgresql":
        return [int(pk) for pk in conn.scalars(_PG_KEYS, {"ids": ordered})]
    keys: list[int] = []
    for start in range(0, len(ordered), _LOOKUP_CHUNK):
        chunk = ordered[start : start + _LOOKUP_CHUNK]
        keys.extend(conn.scalars(select(Employee.id).where(Employee.employee_id.in_(chunk))))
    return keys


# --- the audit trail ---------------------------------------------------------------------


def record_audit_export(
    conn: Connection,
    actor: Actor,
    first_seq: int | None,
    last_seq: int | None,
    fmt: str,
    said: Stated,
    *,
    now: datetime | None = None,
) -> int | None:
    """Record an export of audit records ``first_seq``..``last_seq`` (None: nothing was
    exported) inside the export's write transaction."""
    if first_seq is None or last_seq is None:
        return None
    people = audit_people(conn, first_seq, last_seq)
    nature = f"audit trail export ({fmt}), records {first_seq} to {last_seq}"
    return record_disclosure(conn, actor, NatureKind.AUDIT_EXPORT, nature, people, said, now=now)


def audit_people(conn: Connection, first_seq: int, last_seq: int) -> set[int]:
    """The people audit records ``first_seq``..``last_seq`` are about: actors whose account
    is linked to an employee, and subjects that are user accounts linked to one, employees
    (by HR id) or exemption requests (their employee)."""
    a = AUDIT
    span = a.c.seq.between(first_seq, last_seq)
    linked = AppUser.employee_pk.is_not(None)
    queries = [
        select(AppUser.employee_pk).join(a, a.c.actor_user_id == AppUser.id).where(span, linked),
        select(AppUser.employee_pk)
        .join(a, and_(a.c.subject_type == "user", a.c.subject_id == AppUser.username))
        .where(span, linked),
        # Notice records name the actor's own store key as their subject (covered as the
        # actor); every other employee subject is an HR id.
        select(Employee.id)
        .join(a, and_(a.c.subject_type == "employee", a.c.subject_id == Employee.employee_id))
        .where(span, a.c.action.not_like("notice.%")),
        select(ExemptionRequest.employee_pk)
        .join(
            a,
            and_(
                a.c.subject_type == "exemption",
                a.c.subject_id == sql_cast(ExemptionRequest.id, String),
            ),
        )
        .where(span),
    ]
    return {int(pk) for pk in conn.scalars(union(*queries)) if pk is not None}


# --- documents ---------------------------------------------------------------------------


def record_document_download(
    conn: Connection,
    actor: Actor,
    request_id: int,
    position: int,
    employee_pk: int,
    said: Stated,
    *,
    now: datetime | None = None,
) -> int | None:
    """Record the download of document ``position`` of exemption request ``request_id``
    (about ``employee_pk``), unless the one downloading is that employee."""
    if actor.employee_pk is not None and actor.employee_pk == employee_pk:
        return None  # one's own record: not a disclosure
    nature = f"exemption request {request_id}, document {position}"
    return record_disclosure(
        conn, actor, NatureKind.DOCUMENT_DOWNLOAD, nature, [employee_pk], said, now=now
    )
