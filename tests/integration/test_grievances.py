"""Grievances filed under an agreement, on SQLite and PostgreSQL: the procedure from
filing to outcome, who may read and change them (per component), bad requests refused
with one sentence and nothing changed, and the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from test_import_records_builders import (
    load_organisation,
    person,
    roster_csv,
    row_counts,
    settings_for,
)

from dutystation.domain.access import Actor, Grant, Role
from dutystation.domain.grievances import GrievanceStatus
from dutystation.errors import ConfigError, Conflict, DutystationError, Forbidden, NotFound
from dutystation.services.agreements import AgreementDraft, create_agreement
from dutystation.services.grievances import (
    GrievanceView,
    add_employees,
    change_status,
    file_grievance,
    list_grievances,
    record_outcome,
    show_grievance,
)
from dutystation.services.import_records import import_roster
from dutystation.store.schema_audit import AuditRecord

HR = Actor(user_id=7, username="hr.lee", grants=(Grant(Role.HR, "COMP-A"),))
LEADER_A = Actor(user_id=8, username="lead.a", grants=(Grant(Role.LEADER, "COMP-A"),))
LEADER_B = Actor(user_id=9, username="lead.b", grants=(Grant(Role.LEADER, "COMP-B"),))
HR_B = Actor(user_id=11, username="hr.b", grants=(Grant(Role.HR, "COMP-B"),))
EMPLOYEE = Actor(user_id=10, username="e1", grants=(Grant(Role.EMPLOYEE),), employee_pk=1)
FILED = date(2025, 2, 10)


@pytest.fixture
def store(engine: Engine, tmp_path: Path) -> Engine:
    load_organisation(engine, tmp_path)
    people = [
        person("E1", bargaining_unit="U1"),
        person("E2", bargaining_unit="U1"),
        person("E4", bargaining_unit="U1", org_unit="DIV-A1"),
        person("E3", bargaining_unit="U1", org_unit="COMP-B", duty_station="FIELD-1"),
    ]
    import_roster(engine, [roster_csv(tmp_path, people)], settings=settings_for(tmp_path))
    admin = Actor(user_id=1, username="hr.all", grants=(Grant(Role.HR),))
    draft = AgreementDraft("EEU-2023", "Master", "Example Union", ("U1",), date(2023, 10, 1))
    create_agreement(engine, admin, draft)
    return engine


def filed(engine: Engine, **overrides: object) -> GrievanceView:
    values: dict[str, object] = {
        "agreement": "EEU-2023",
        "component": "COMP-A",
        "filed_on": FILED,
        "subject": "Return order ignores Art. 31 hybrid schedules",
        "employees": ["E1", "E2"],
    }
    values.update(overrides)
    return file_grievance(engine, HR, **values)  # type: ignore[arg-type]


def test_a_grievance_goes_from_filed_to_its_outcome(store: Engine) -> None:
    grievance = filed(store)
    assert (grievance.status, grievance.union, grievance.employees) == (
        GrievanceStatus.FILED,
        "Example Union",  # the agreement's union unless another is named
        ("E1", "E2"),
    )
    grievance = add_employees(store, HR, grievance.id, ["E4", "E1"])  # E4 is in a division below
    assert grievance.employees == ("E1", "E2", "E4")
    change_status(store, HR, grievance.id, GrievanceStatus.IN_PROGRESS, date(2025, 2, 24))
    change_status(store, HR, grievance.id, GrievanceStatus.ARBITRATION, date(2025, 4, 1), "FMCS")
    done = record_outcome(store, HR, grievance.id, "Award: hybrid terms restored", date(2025, 6, 2))
    assert done.status is GrievanceStatus.RESOLVED
    assert (done.outcome, done.outcome_on) == ("Award: hybrid terms restored", date(2025, 6, 2))
    steps = [(s.status.value, s.on) for s in show_grievance(store, LEADER_A, done.id).history.steps]
    assert steps == [
        ("filed", FILED),
        ("in_progress", date(2025, 2, 24)),
        ("arbitration", date(2025, 4, 1)),
        ("resolved", date(2025, 6, 2)),
    ]


def test_grievances_are_read_per_component_and_hidden_outside_the_readers_scope(
    store: Engine,
) -> None:
    grievance = filed(store)
    assert [g.id for g in list_grievances(store, LEADER_A)] == [grievance.id]
    assert [g.id for g in list_grievances(store, LEADER_A, org_unit="DIV-A1")] == [grievance.id]
    assert list_grievances(store, LEADER_B) == []
    assert list_grievances(store, LEADER_A, org_unit="COMP-B") == []
    with pytest.raises(NotFound, match=f"^no grievance {grievance.id}$"):
        show_grievance(store, LEADER_B, grievance.id)
    with pytest.raises(NotFound, match=r"^no grievance 999$"):
        show_grievance(store, LEADER_A, 999)
    with pytest.raises(Forbidden):
        list_grievances(store, EMPLOYEE)
    with pytest.raises(NotFound, match="org unit 'COMP-B' does not exist"):  # not HR's scope
        filed(store, component="COMP-B", employees=[])


def _refused(engine: Engine, call: Callable[[], object], error: type[DutystationError],
             text: str) -> None:  # fmt: skip
    before = row_counts(engine)
    with pytest.raises(error, match=text) as caught:
        call()
    assert "\n" not in str(caught.value)
    after = row_counts(engine)
    # A NotFound is also a refused attempt: the audit trail records it as denied.
    assert after.pop("audit_record") - before.pop("audit_record") == (error is NotFound)
    assert after == before


def test_bad_requests_are_one_sentence_and_change_nothing(store: Engine) -> None:
    grievance = filed(store)
    change_status(store, HR, grievance.id, GrievanceStatus.IN_PROGRESS, date(2025, 2, 24))
    gid = grievance.id
    cases: list[tuple[Callable[[], object], type[DutystationError], str]] = [
        (lambda: filed(store, agreement="NOPE"), NotFound, "no agreement 'NOPE'"),
        (lambda: filed(store, filed_on=date(2023, 1, 2)), ConfigError, "before agreement"),
        (lambda: filed(store, filed_on=date(2999, 1, 1)), ConfigError, "in the future"),
        (lambda: filed(store), Conflict, "same agreement, unit, day and subject"),
        (lambda: filed(store, subject="x", employees=["E3"]), ConfigError, "'E3' is not in"),
        (lambda: filed(store, subject="x", employees=["E9"]), ConfigError, "'E9' is not in"),
        (
            lambda: change_status(store, HR, gid, GrievanceStatus.FILED, date(2025, 3, 1)),
            Conflict,
            "cannot move to filed",
        ),
        (
            lambda: change_status(store, HR, gid, GrievanceStatus.ARBITRATION, date(2025, 2, 20)),
            Conflict,
            "before the last one",
        ),
    ]
    for call, error, text in cases:
        _refused(store, call, error, text)
    change_status(store, HR, gid, GrievanceStatus.WITHDRAWN, date(2025, 3, 3))
    _refused(store, lambda: record_outcome(store, HR, gid, "x", date(2025, 3, 4)), Conflict,
             "was withdrawn")  # fmt: skip


def test_every_change_to_a_grievance_is_audited(store: Engine) -> None:
    with store.connect() as conn:
        start = conn.scalar(select(AuditRecord.seq).order_by(AuditRecord.seq.desc()).limit(1))
    grievance = filed(store)
    add_employees(store, HR, grievance.id, ["E4"])
    record_outcome(store, HR, grievance.id, "Settled", date(2025, 3, 1))
    with pytest.raises(NotFound):
        change_status(store, HR_B, grievance.id, GrievanceStatus.WITHDRAWN, date(2025, 3, 2))
    a = AuditRecord
    with store.connect() as conn:
        rows = conn.execute(
            select(a.action, a.outcome, a.subject_type, a.subject_id, a.after)
            .where(a.seq > (start or 0))
            .order_by(a.seq)
        ).all()
    assert [r[:4] for r in rows] == [
        ("grievance.manage", "allowed", "grievance", str(grievance.id)),
        ("grievance.manage", "allowed", "grievance", str(grievance.id)),
        ("grievance.manage", "allowed", "grievance", str(grievance.id)),
        ("grievance.manage", "denied", "grievance", str(grievance.id)),
    ]
    assert '"employees_added":["E4"]' in rows[1][4]
    assert '"status":"resolved"' in rows[2][4]
