"""RELIABILITY T09, the store and services half: the Privacy Act disclosure ledger on SQLite
and PostgreSQL. Every kind of disclosure writes {date, nature, purpose, recipient} for
each person it names; a person sees all of their entries and nobody else's; the purge
removes exactly what is past its retention; the database refuses to change an entry or
delete a young one. (The HTTP and command-line paths: tests/api/test_api_disclosures.py,
tests/e2e/test_disclosures_cli.py.)"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from access_builders import build_organisation
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from dutystation.domain.access import SYSTEM, Actor, Grant, Role
from dutystation.errors import ConfigError, Forbidden, InvalidRequest, NotFound
from dutystation.reports.model import Column, Report, Section
from dutystation.services import accounts
from dutystation.services.audit import AUDIT, Change, record
from dutystation.services.audit_export import export_trail
from dutystation.services.audit_verify import verify
from dutystation.services.disclosure_ledger import person_disclosures, purge, retention_cutoff
from dutystation.services.disclosures import (
    DEFAULT_PURPOSE,
    DISCLOSURE,
    SUBJECT,
    NatureKind,
    Stated,
    record_disclosure,
    record_document_download,
    record_report_export,
    report_people,
    stated,
)
from dutystation.settings import Settings
from dutystation.store.db import write_transaction

NOW = datetime.now(UTC).replace(microsecond=0)
FOIA = stated("FOIA request 2026-014", "Office of Special Counsel")


@pytest.fixture
def org(engine: Engine) -> dict[str, int]:
    return build_organisation(engine)


def person(org: dict[str, int], who: str, *grants: Grant) -> Actor:
    return Actor(
        user_id=100 + org[who],
        username=who.lower(),
        grants=(Grant(Role.EMPLOYEE), *grants),
        employee_pk=org[who],
    )


HR = Actor(user_id=1, username="hr-alex", grants=(Grant(Role.HR, "COMP-A"),), channel="api")
ADMIN = Actor(user_id=2, username="ada", grants=(Grant(Role.AGENCY_ADMIN),))


def named_report(*employee_ids: str, kind: str = "not-returned") -> Report:
    """A report whose main section lists people and whose second section counts them."""
    people = pa.table(
        {"employee_id": list(employee_ids), "name": [f"Person {e}" for e in employee_ids]}
    )
    counts = pa.table({"org_unit": ["COMP-A"], "people": [len(employee_ids)]})
    return Report(
        kind=kind,
        title="People",
        subtitle="",
        period_start=date(2025, 2, 21),
        period_end=date(2025, 3, 23),
        as_of=date(2025, 3, 23),
        sections=(
            Section(
                "people", "People", (Column("employee_id", "Id"), Column("name", "Name")), people
            ),
            Section(
                "summary", "Summary", (Column("org_unit", "Unit"), Column("people", "N")), counts
            ),
        ),
        primary="people",
    )


def entries_of(engine: Engine, actor: Actor, employee_id: str | None = None) -> list[str]:
    return [e.nature for e in person_disclosures(engine, actor, employee_id).entries]


def ledger_rows(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (
            int(conn.scalar(select(func.count()).select_from(DISCLOSURE)) or 0),
            int(conn.scalar(select(func.count()).select_from(SUBJECT)) or 0),
        )


def test_every_kind_of_disclosure_records_date_nature_purpose_and_recipient(
    engine: Engine, org: dict[str, int], tmp_path: Path
) -> None:
    # A report to someone outside the agency; a plan kept by its maker (no purpose given).
    record_report_export(engine, HR, named_report("W1", "W2"), "csv", FOIA)
    record_report_export(
        engine,
        HR,
        named_report("W1"),
        "xlsx",
        Stated(),
        kind=NatureKind.PLAN_EXPORT,
        nature="plan 3",
    )
    # A document of W2's request downloaded by HR; W2's own download is no disclosure.
    with write_transaction(engine) as conn:
        record_document_download(conn, HR, 42, 1, org["W2"], stated("grievance file 7"))
        w2 = person(org, "W2")
        assert record_document_download(conn, w2, 42, 1, org["W2"], Stated()) is None
    # An audit export names the people its records are about (here: B1 as a subject).
    with write_transaction(engine) as conn:
        record(conn, HR, Change("status.read", "employee", "B1"))
    export_trail(engine, ADMIN, tmp_path / "trail.jsonl", said=stated("annual audit"))

    with engine.connect() as conn:
        rows = conn.execute(select(DISCLOSURE).order_by(DISCLOSURE.c.id)).mappings().all()
    kinds = ["report_export", "plan_export", "document_download", "audit_export"]
    assert [r["nature_kind"] for r in rows] == kinds
    assert set(kinds) == {k.value for k in NatureKind}  # every kind there is
    for row in rows:  # the four elements of 5 U.S.C. 552a(c)(1), all present
        assert row["disclosed_at"] is not None and row["nature"] and row["purpose"]
        assert row["recipient"]
    first, plan, document, audit = rows
    assert (first["purpose"], first["recipient"], first["recipient_kind"]) == (
        "FOIA request 2026-014",
        "Office of Special Counsel",
        "outside_agency",
    )
    assert first["nature"] == "report not-returned (csv), 2025-02-21 to 2025-03-23"
    assert first["people"] == 2 and first["recorded_by"] == "hr-alex" and first["channel"] == "api"
    assert (plan["nature"], plan["purpose"], plan["recipient"]) == (
        "plan 3",
        DEFAULT_PURPOSE,
        "hr-alex",
    )
    assert plan["recipient_kind"] == "agency_user"
    assert document["nature"] == "exemption request 42, document 1"
    assert audit["recipient"] == "ada" and audit["nature"].startswith("audit trail export (jsonl)")
    assert entries_of(engine, person(org, "B1")) == [audit["nature"]]
    # Each entry has its audit record, chained: an edited row would not match its digest.
    with engine.connect() as conn:
        actions = conn.scalars(
            select(AUDIT.c.action).where(AUDIT.c.seq.in_([r["audit_seq"] for r in rows]))
        )
        assert set(actions) == {"disclosure.record"}
        assert verify(conn).intact
    # Nothing naming nobody is recorded: a summary-only CSV, a terminal table.
    assert (
        record_report_export(engine, HR, named_report("W1"), "csv", FOIA, section="summary") is None
    )
    assert record_report_export(engine, HR, named_report("W1"), "table", Stated()) is None
    assert ledger_rows(engine) == (4, 5)


def test_the_exported_part_decides_whose_records_left() -> None:
    report = named_report(*(f"E{i:04d}" for i in range(600)))
    with pytest.raises(ConfigError, match="has no section 'nope'"):
        report_people(report, "csv", "nope")
    assert report_people(report, "csv", "summary") == set()
    assert len(report_people(report, "csv")) == 600
    assert len(report_people(report, "json")) == len(report_people(report, "xlsx")) == 600
    # An HTML page shows the first 500 rows of a section, so it discloses those only.
    assert report_people(report, "html") == {f"E{i:04d}" for i in range(500)}


def test_a_person_sees_every_entry_about_them_and_none_about_others(
    engine: Engine, org: dict[str, int]
) -> None:
    record_report_export(engine, HR, named_report("W1", "W2", "B1"), "json", FOIA)
    record_report_export(engine, HR, named_report("W2"), "csv", stated("roster check"))
    record_report_export(engine, HR, named_report("B1", kind="presence"), "html", Stated())
    w1, w2, b1 = (person(org, who) for who in ("W1", "W2", "B1"))
    assert entries_of(engine, w1) == ["report not-returned (json), 2025-02-21 to 2025-03-23"]
    assert len(entries_of(engine, w2)) == 2
    assert len(entries_of(engine, b1)) == 2
    assert entries_of(engine, b1)[0].startswith("report presence")  # newest first
    # Nobody reads another person's entries by naming them ...
    for who in ("W2", "B1"):
        with pytest.raises(NotFound, match=f"no employee '{who}'"):
            person_disclosures(engine, w1, who)
    with pytest.raises(NotFound, match="no employee 'NOPE'"):
        person_disclosures(engine, w1, "NOPE")
    # ... not even their supervisor; HR reads those of its component only.
    manager = person(org, "MGR1", Grant(Role.SUPERVISOR))
    with pytest.raises(NotFound):
        person_disclosures(engine, manager, "W1")
    assert len(entries_of(engine, HR, "W2")) == 2
    with pytest.raises(NotFound):
        person_disclosures(engine, HR, "B1")
    # An account linked to no employee has no entries of its own.
    assert person_disclosures(engine, HR).entries == []


def test_purge_removes_what_is_past_retention_and_nothing_else(
    engine: Engine, org: dict[str, int]
) -> None:
    ages = {"six years": 6 * 366, "five years less a week": 5 * 365 - 7, "yesterday": 1}
    for label, days in ages.items():
        with write_transaction(engine) as conn:
            when = NOW - timedelta(days=days)
            record_disclosure(
                conn, HR, NatureKind.REPORT_EXPORT, label, [org["W1"], org["W2"]], FOIA, now=when
            )
    dry = purge(engine, ADMIN, 5, dry_run=True)
    assert (dry.disclosures, dry.people_rows, dry.dry_run) == (1, 2, True)
    assert ledger_rows(engine) == (3, 6)
    assert purge(engine, ADMIN, 7).disclosures == 0  # a longer retention keeps all
    done = purge(engine, ADMIN, 5)
    assert (done.disclosures, done.people_rows) == (1, 2)
    assert done.cutoff == retention_cutoff(datetime.now(UTC).date(), 5)
    assert entries_of(engine, person(org, "W1")) == ["yesterday", "five years less a week"]
    # The purge is itself on the audit trail, with what it removed.
    with engine.connect() as conn:
        purges = conn.scalars(
            select(AUDIT.c.after).where(AUDIT.c.action == "disclosure.purge").order_by(AUDIT.c.seq)
        ).all()
    assert len(purges) == 2 and '"disclosures":1' in purges[-1]
    assert purge(engine, ADMIN, 5).disclosures == 0


def test_only_an_administrator_of_the_whole_organisation_purges(engine: Engine) -> None:
    scoped = Actor(user_id=5, username="comp-admin", grants=(Grant(Role.AGENCY_ADMIN, "COMP-A"),))
    with pytest.raises(Forbidden, match="whole organisation"):
        purge(engine, scoped, 5)
    with pytest.raises(Forbidden):
        purge(engine, HR, 5)
    with engine.connect() as conn:
        denied = conn.scalar(
            select(func.count()).where(
                AUDIT.c.action == "disclosure.purge", AUDIT.c.outcome == "denied"
            )
        )
    assert denied == 2


def test_the_retention_setting_refuses_less_than_five_years(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).disclosure_retention_years == 5
    with pytest.raises(ValueError, match=r"at least 5 years \(5 U.S.C. 552a\(c\)\(2\)\); 4 is"):
        Settings(data_dir=tmp_path, disclosure_retention_years=4)
    assert retention_cutoff(date(2028, 2, 29), 5) == datetime(2023, 2, 28, tzinfo=UTC)


def test_what_is_stated_is_checked() -> None:
    with pytest.raises(InvalidRequest, match="needs its purpose"):
        stated(None, "The Daily Planet")
    with pytest.raises(InvalidRequest, match="control or invisible"):
        stated("FOIA\u202e41-AIOF")
    with pytest.raises(InvalidRequest, match="longer than 200"):
        stated("why", "x" * 201)
    assert stated("  ", "  ") == Stated()


def test_the_database_refuses_to_change_an_entry_or_delete_a_young_one(
    engine: Engine, org: dict[str, int]
) -> None:
    with write_transaction(engine) as conn:
        young = record_disclosure(conn, HR, NatureKind.REPORT_EXPORT, "x", [org["W1"]], FOIA)
        old = record_disclosure(
            conn,
            HR,
            NatureKind.REPORT_EXPORT,
            "y",
            [org["W2"]],
            FOIA,
            now=NOW - timedelta(days=2200),
        )
    attacks = [
        f"UPDATE disclosure SET recipient = 'nobody' WHERE id = {old}",
        f"UPDATE disclosure_subject SET employee_pk = {org['B1']} WHERE disclosure_id = {young}",
        f"DELETE FROM disclosure_subject WHERE disclosure_id = {young}",
        f"DELETE FROM disclosure WHERE id = {young}",
    ]
    if engine.dialect.name == "postgresql":
        attacks.append("TRUNCATE disclosure_subject, disclosure")
    for statement in attacks:
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(text(statement))
    assert ledger_rows(engine) == (2, 2)
    # What is older than five years may go (that is the purge), subjects first.
    with engine.begin() as conn:
        conn.execute(text(f"DELETE FROM disclosure_subject WHERE disclosure_id = {old}"))
        conn.execute(text(f"DELETE FROM disclosure WHERE id = {old}"))
    assert ledger_rows(engine) == (1, 1)


def test_the_command_line_without_as_names_the_login_as_recipient(
    engine: Engine, org: dict[str, int]
) -> None:
    record_report_export(engine, SYSTEM, named_report("W1"), "csv", Stated())
    with engine.connect() as conn:
        row = conn.execute(select(DISCLOSURE)).mappings().one()
    assert row["recipient"].endswith("(operating-system login; no --as given)")
    assert (row["recorded_by"], row["recipient_kind"]) == ("system", "agency_user")


def test_an_audit_export_names_linked_actors_and_the_people_records_are_about(
    engine: Engine, org: dict[str, int], tmp_path: Path
) -> None:
    admin_info = accounts.bootstrap_admin(engine, "ada")
    with engine.connect() as conn:
        admin = accounts.load_actor(conn, admin_info.username)
    accounts.create_user(engine, admin, "mgr1", employee_id="MGR1", grants=[Grant(Role.EMPLOYEE)])
    with engine.connect() as conn:
        mgr1 = accounts.load_actor(conn, "mgr1")
    with write_transaction(engine) as conn:
        record(conn, mgr1, Change("status.read", "employee", "W1"))  # actor MGR1, subject W1
        record(conn, SYSTEM, Change("exemption.expire", "exemption", "999"))  # no such request
    export_trail(engine, admin, tmp_path / "t.csv", said=stated("inspector general review"))
    with engine.connect() as conn:
        pks = set(conn.scalars(select(SUBJECT.c.employee_pk)))
    assert pks == {org["MGR1"], org["W1"]}
