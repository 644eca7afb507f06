"""Announcing a directive, reminding before its deadlines, acknowledging, and the
acknowledgement rate per component, on SQLite and PostgreSQL (no mail server needed: the
mail waits in the outbox)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from notice_builders import (
    ANNOUNCED_ON,
    BACKENDS,
    IN_SCOPE,
    LEADER,
    MAILED,
    NOW,
    REF,
    add_people,
    audit_rows,
    directive,
    employee,
    fresh_roster,
    module_database,
    pk,
    sender,
)
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from test_import_records_builders import person

from dutystation.bootstrap import Runtime
from dutystation.domain.access import Role
from dutystation.errors import ConfigError, Conflict, Forbidden, NotFound
from dutystation.reports.model import Report
from dutystation.services.notice_status import acknowledgements_report, status
from dutystation.services.notices import (
    SendResult,
    acknowledge,
    my_notices,
    send_announcement,
    send_reminders,
)
from dutystation.services.reporting import ReportRequest, build_report
from dutystation.settings import Settings
from dutystation.store.schema import Employee
from dutystation.store.schema_notices import MailOutbox, Notice, NoticeRecipient

DIRECTIVES = [directive()]


@pytest.fixture(scope="module", params=BACKENDS)
def notice_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from module_database(request, tmp_path_factory)


@pytest.fixture
def roster(notice_db: Engine) -> Engine:
    return fresh_roster(notice_db)


def announce(engine: Engine, org_unit: str | None = None, *, again: bool = False) -> SendResult:
    return send_announcement(
        engine,
        sender(),
        REF,
        org_unit,
        directives=DIRECTIVES,
        today=ANNOUNCED_ON,
        now=NOW,
        again=again,
    )


def recipients(engine: Engine, notice_id: int | None = None) -> dict[str, tuple[str, str | None]]:
    """employee_id -> (component, email) of every recipient row (of one notice)."""
    query = select(Employee.employee_id, NoticeRecipient.component, NoticeRecipient.email).join(
        Employee, Employee.id == NoticeRecipient.employee_pk
    )
    if notice_id is not None:
        query = query.where(NoticeRecipient.notice_id == notice_id)
    with engine.connect() as conn:
        return {e: (c, m) for e, c, m in conn.execute(query)}


def one(engine: Engine, query: Any) -> Any:
    with Session(engine) as session:
        return session.scalars(query).one()


def rates(report: Report) -> dict[str, tuple[int, int, float | None]]:
    """org unit -> (recipients, acknowledged, rate) of the unit rows; "total" for the total."""
    table = report.section("by-unit").table.to_pylist()
    return {
        "total" if r["is_total"] else r["org_unit"]: (
            r["recipients"],
            r["acknowledged"],
            r["share_acknowledged"],
        )
        for r in table
    }


def test_an_announcement_reaches_everyone_in_scope_and_no_unit_that_is_not_bound(
    roster: Engine,
) -> None:
    result = announce(roster)
    assert result.recipients == 5 and result.mails == 4 and result.in_app_only == 1
    got = recipients(roster)
    assert set(got) == IN_SCOPE  # not E4 (field: not covered), not E5 (COMP-B: not bound)
    assert got["E1"] == ("COMP-A", "e1@agency.example.gov")
    assert got["E3"][0] == "COMP-A"  # TEAM-A1X1 counts in its component
    assert got["E7"][0] == "DEPT"  # the department's own staff count in the department
    assert got["E6"] == ("COMP-A", None)  # no address: in the app only
    with roster.connect() as conn:
        outbox = conn.execute(select(MailOutbox.to_address, MailOutbox.status)).all()
    notice = one(roster, select(Notice))
    assert sorted(a for a, _ in outbox) == sorted(f"{e.lower()}@agency.example.gov" for e in MAILED)
    assert {s for _, s in outbox} == {"pending"}
    assert notice.kind == "announcement" and notice.directive_ref == REF
    assert "Return to the office" in notice.subject
    assert f"dutystation notices ack {notice.id}" in notice.body
    assert "2025-01-24 17:00 America/New_York" in notice.body
    assert "medical condition, compelling reason" in notice.body


def test_announcing_again_reaches_only_people_who_joined_the_scope_since(
    roster: Engine, tmp_path: Path
) -> None:
    first = announce(roster)
    again = announce(roster)
    assert again.notice_id is None and again.skipped == 5
    add_people(roster, tmp_path, [person("E8", org_unit="DIV-A1", arrangement="telework")])
    later = announce(roster)
    assert set(recipients(roster, later.notice_id)) == {"E8"}
    forced = announce(roster, again=True)
    assert set(recipients(roster, forced.notice_id)) == IN_SCOPE | {"E8"}
    assert first.notice_id != forced.notice_id


def test_the_announcement_is_audited_with_counts_and_no_addresses(roster: Engine) -> None:
    result = announce(roster)
    (row,) = audit_rows(roster, "notice.send")
    assert row.outcome == "allowed" and row.subject_id == str(result.notice_id)
    after = json.loads(row.after or "{}")
    assert after == {
        "kind": "announcement",
        "directive_ref": REF,
        "org_unit": None,
        "recipients": 5,
        "mails": 4,
        "in_app_only": 1,
    }
    assert "example.gov" not in (row.after or "")


def test_a_sender_scoped_to_a_subtree_reaches_only_that_subtree(roster: Engine) -> None:
    scoped = sender("DIV-A1")
    result = send_announcement(roster, scoped, REF, directives=DIRECTIVES, today=ANNOUNCED_ON)
    assert set(recipients(roster, result.notice_id)) == {"E2", "E3"}
    with pytest.raises(NotFound, match="org unit 'COMP-B' does not exist"):
        send_announcement(roster, scoped, REF, "COMP-B", directives=DIRECTIVES)
    denied = [r for r in audit_rows(roster, "notice.send") if r.outcome == "denied"]
    assert len(denied) == 1 and json.loads(denied[0].after or "{}")["refused"] == "not_found"


def test_an_org_unit_narrows_the_announcement_and_an_unknown_one_is_not_found(
    roster: Engine,
) -> None:
    result = announce(roster, "DIV-A1")
    assert set(recipients(roster, result.notice_id)) == {"E2", "E3"}
    with pytest.raises(NotFound, match="org unit 'NOPE' does not exist"):
        announce(roster, "NOPE")


def test_only_senders_may_announce(roster: Engine) -> None:
    with pytest.raises(Forbidden):
        send_announcement(roster, employee(roster, "E1"), REF, directives=DIRECTIVES)
    with pytest.raises(NotFound, match="no directive 'OTHER@1'"):
        send_announcement(roster, sender(), "OTHER@1", directives=DIRECTIVES)
    expired = [directive(expires="2025-01-20")]
    with pytest.raises(Conflict, match="expired"):
        send_announcement(roster, sender(), REF, directives=expired, today=ANNOUNCED_ON)
    with Session(roster) as session:
        assert session.scalars(select(Notice)).first() is None


def test_a_person_acknowledges_their_own_notice_once(roster: Engine) -> None:
    notice_id = announce(roster).notice_id
    first = acknowledge(roster, employee(roster, "E1", channel="web"), notice_id, now=NOW)
    later = acknowledge(roster, employee(roster, "E1"), notice_id, now=NOW + timedelta(hours=1))
    assert first == later == NOW
    row = one(
        roster, select(NoticeRecipient).where(NoticeRecipient.employee_pk == pk(roster, "E1"))
    )
    assert row.acknowledged_via == "web"
    assert len(audit_rows(roster, "notice.acknowledge")) == 1
    # Not one of E5's notices, and a notice that does not exist: the same answer.
    with pytest.raises(NotFound, match=f"no notice {notice_id}$"):
        acknowledge(roster, employee(roster, "E5"), notice_id)
    with pytest.raises(NotFound, match="no notice 999"):
        acknowledge(roster, employee(roster, "E1"), 999)
    with pytest.raises(Forbidden):
        acknowledge(roster, sender(), notice_id)


def test_reading_my_notices_is_the_in_app_delivery(roster: Engine) -> None:
    notice_id = announce(roster).notice_id
    mine = my_notices(roster, employee(roster, "E6"), now=NOW)
    assert [n.notice_id for n in mine] == [notice_id]
    assert mine[0].acknowledged_at is None and "Return to the office" in mine[0].body
    assert my_notices(roster, employee(roster, "E5")) == []
    with roster.connect() as conn:
        delivered = conn.execute(
            select(NoticeRecipient.delivered_at).where(
                NoticeRecipient.employee_pk == pk(roster, "E6")
            )
        ).scalar_one()
    assert delivered is not None
    assert len(audit_rows(roster, "notice.read_own")) == 1
    my_notices(roster, employee(roster, "E6"))  # nothing new to mark: no second record
    assert len(audit_rows(roster, "notice.read_own")) == 1


def test_acknowledgement_rate_per_component(roster: Engine) -> None:
    notice_id = announce(roster).notice_id
    acknowledge(roster, employee(roster, "E1"), notice_id)
    acknowledge(roster, employee(roster, "E7"), notice_id)
    report = status(roster, LEADER, REF)
    assert rates(report) == {
        "COMP-A": (4, 1, 0.25),
        "DEPT": (1, 1, 1.0),
        "total": (5, 2, 0.4),
    }
    comp_a = next(
        r for r in report.section("by-unit").table.to_pylist() if r["org_unit"] == "COMP-A"
    )
    assert comp_a["mail_pending"] == 3 and comp_a["in_app_only"] == 1
    # Under COMP-A: the units one level below it (TEAM-A1X1 is in DIV-A1), and COMP-A's
    # own staff.
    assert rates(status(roster, LEADER, REF, "COMP-A")) == {
        "COMP-A": (2, 1, 0.5),
        "DIV-A1": (2, 0, 0.0),
        "total": (4, 1, 0.25),
    }
    with pytest.raises(Forbidden):
        status(roster, employee(roster, "E1"), REF)


def test_reminders_go_to_those_who_have_not_acknowledged_once_per_deadline(
    roster: Engine,
) -> None:
    notice_id = announce(roster).notice_id
    acknowledge(roster, employee(roster, "E1"), notice_id)
    # 2025-02-17: full compliance (02-21) is 4 days ahead; the policy revision has passed.
    today = date(2025, 2, 17)
    (sent,) = send_reminders(roster, sender(), today, directives=DIRECTIVES)
    assert sent.deadline is not None and str(sent.deadline.kind) == "full_compliance"
    assert set(recipients(roster, sent.notice_id)) == IN_SCOPE - {"E1"}
    assert sent.mails == 3 and sent.in_app_only == 1
    (again,) = send_reminders(roster, sender(), today + timedelta(days=1), directives=DIRECTIVES)
    assert again.notice_id is None
    reminder = one(roster, select(Notice).where(Notice.kind == "reminder"))
    assert reminder.deadline == date(2025, 2, 21) and reminder.deadline_kind == "full_compliance"
    assert "in 4 days" in reminder.body
    # Acknowledging the reminder acknowledges the directive.
    acknowledge(roster, employee(roster, "E2"), sent.notice_id)  # type: ignore[arg-type]
    report = status(roster, LEADER, REF)
    comp_a = next(
        r for r in report.section("by-unit").table.to_pylist() if r["org_unit"] == "COMP-A"
    )
    assert comp_a["acknowledged"] == 2 and comp_a["reminders_sent"] == 3
    audited = [json.loads(r.after or "{}") for r in audit_rows(roster, "notice.send")]
    assert [a["kind"] for a in audited] == ["announcement", "reminder", "reminder"]
    assert audited[1]["deadline"] == "2025-02-21"
    assert audited[2]["recipients"] == 0  # the second run reached nobody: recorded all the same


def test_no_reminder_before_the_window_or_after_the_deadline(roster: Engine) -> None:
    announce(roster)
    assert send_reminders(roster, sender(), date(2025, 2, 13), directives=DIRECTIVES) == []
    assert send_reminders(roster, sender(), date(2025, 2, 22), directives=DIRECTIVES) == []
    wider = send_reminders(
        roster, sender(), date(2025, 2, 13), directives=DIRECTIVES, reminder_days=8
    )
    assert [r.recipients for r in wider] == [5]


def test_nobody_announced_to_is_not_reminded(roster: Engine) -> None:
    (result,) = send_reminders(roster, sender(), date(2025, 2, 17), directives=DIRECTIVES)
    assert result.notice_id is None


def test_the_acknowledgements_report_covers_every_directive(roster: Engine) -> None:
    other = directive(id="OTHER", scope={"org_units": ["COMP-B"], "arrangements": ["telework"]})
    announce(roster)
    send_announcement(roster, sender(), "OTHER@1", directives=[other], today=ANNOUNCED_ON)
    report = acknowledgements_report(roster, today=date(2025, 3, 1))
    rows = report.section("by-unit").table.to_pylist()
    assert {(r["directive_ref"], r["org_unit"]) for r in rows if not r["is_total"]} == {
        (REF, "COMP-A"),
        (REF, "DEPT"),
        ("OTHER@1", "COMP-B"),
    }
    notices = report.section("notices").table.to_pylist()
    assert [n["kind"] for n in notices] == ["announcement", "announcement"]
    assert report.period_start == ANNOUNCED_ON and report.period_end == date(2025, 3, 1)
    scoped = acknowledgements_report(roster, actor=sender("COMP-B"))
    assert {r["directive_ref"] for r in scoped.section("by-unit").table.to_pylist()} == {"OTHER@1"}


def test_a_role_without_notice_rights_cannot_read_the_status(roster: Engine) -> None:
    announce(roster)
    with pytest.raises(Forbidden):
        status(roster, sender(role=Role.SUPERVISOR), REF)


def test_the_report_command_builds_acknowledgements_without_any_evidence(
    roster: Engine, tmp_path: Path
) -> None:
    announce(roster)
    url = roster.url.render_as_string(hide_password=False)
    runtime = Runtime(Settings(data_dir=tmp_path / "data", database_url=url))
    try:
        built = build_report(runtime, ReportRequest("acknowledgements", org_unit="COMP-A"))
        assert built.kind == "acknowledgements"
        assert rates(built)["total"] == (4, 0, 0.0)
        with pytest.raises(ConfigError, match="do not apply to acknowledgements"):
            build_report(runtime, ReportRequest("acknowledgements", period="2025-W05"))
    finally:
        runtime.engine.dispose()
