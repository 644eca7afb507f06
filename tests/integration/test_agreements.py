"""Bargaining agreements as HR keeps them, on SQLite and PostgreSQL: created, given
clauses, their legal status recorded over time, imported from a file (again and again
without change), refused with one sentence when wrong (and then nothing changes), and
every change in the audit trail."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError
from test_import_records_builders import (
    load_organisation,
    person,
    roster_csv,
    row_counts,
    settings_for,
)

from dutystation.domain.access import Actor, Grant, Role
from dutystation.domain.agreements import LegalStatus
from dutystation.domain.directive import Requirement
from dutystation.errors import ConfigError, Conflict, DutystationError, Forbidden, NotFound
from dutystation.evaluation_inputs import load_agreements
from dutystation.services.agreements import (
    AgreementDraft,
    create_agreement,
    import_agreements,
    list_agreements,
    record_legal_status,
    save_clause,
    show_agreement,
    stored_agreement_inputs,
    update_agreement,
)
from dutystation.services.import_records import import_roster
from dutystation.store.schema_agreements import AgreementClause, AgreementRecord
from dutystation.store.schema_audit import AuditRecord

HR = Actor(user_id=7, username="hr.lee", grants=(Grant(Role.HR),))
EMPLOYEE = Actor(user_id=8, username="e.one", grants=(Grant(Role.EMPLOYEE),), employee_pk=1)
AUDITOR = Actor(user_id=9, username="aud", grants=(Grant(Role.AUDITOR),))
MASTER = AgreementDraft(
    "EEU-2023", "Master Agreement", "Example Union", ("U1",), date(2023, 10, 1), date(2026, 9, 30)
)
FILE = """
[[agreement]]
code = "EEU-2023"
units = ["U1"]
union = "Example Union"
title = "Master Agreement"
effective_from = 2023-10-01
effective_to = 2026-09-30

[[agreement.clause]]
ref = "Art. 31 §4"
summary = "Up to six telework days each pay period."
max_telework_days_per_pay_period = 6

[[agreement.clause.status]]
status = "disputed"
on = 2025-02-03
source = "OPM memo 2025-02-03"

[[agreement]]
unit = "U2"
effective_from = 2024-03-01

[agreement.hybrid]
min_onsite_days_per_pay_period = 2
"""


@pytest.fixture
def store(engine: Engine, tmp_path: Path) -> Engine:
    """The little organisation; E1, E2 in bargaining unit U1 (COMP-A), E3 in U2 (COMP-B)."""
    load_organisation(engine, tmp_path)
    people = [
        person("E1", bargaining_unit="U1"),
        person("E2", bargaining_unit="U1"),
        person("E3", bargaining_unit="U2", org_unit="COMP-B", duty_station="FIELD-1"),
    ]
    import_roster(engine, [roster_csv(tmp_path, people)], settings=settings_for(tmp_path))
    return engine


def write(tmp_path: Path, text: str = FILE) -> Path:
    path = tmp_path / "agreements.toml"
    path.write_text(text, encoding="utf-8")
    return path


def inputs(engine: Engine) -> list[tuple[str, date, date | None, str | None, Requirement | None]]:
    with engine.connect() as conn:
        found = stored_agreement_inputs(conn)
    return sorted((a.bargaining_unit, a.start, a.end, a.legal_status, a.terms) for a in found)


def audit(engine: Engine) -> list[tuple[str, str, str | None, str | None]]:
    a = AuditRecord
    query = select(a.action, a.outcome, a.subject_type, a.subject_id).order_by(a.seq)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query)]  # type: ignore[misc]


def test_an_imported_file_gives_the_evaluator_what_the_file_itself_gives(
    store: Engine, tmp_path: Path
) -> None:
    outcome = import_agreements(store, HR, write(tmp_path))
    assert (outcome.agreements_created, outcome.clauses_saved, outcome.statuses_recorded) == (
        2,
        2,
        1,
    )
    from_file = sorted(
        (a.bargaining_unit, a.start, a.end, a.legal_status, a.terms)
        for a in load_agreements(write(tmp_path))
    )
    assert inputs(store) == from_file
    # The cap of six telework days reads as four on-site days per pay period.
    four = Requirement(days_per_pay_period=4)
    assert inputs(store)[:2] == [
        ("U1", date(2023, 10, 1), date(2025, 2, 2), "in_force", four),
        ("U1", date(2025, 2, 3), date(2026, 9, 30), "disputed", four),
    ]
    # The first format: one clause in force as signed, code from unit and date.
    shown = show_agreement(store, AUDITOR, "U2-2024-03-01")
    assert [c.ref for c in shown.facts.clauses] == ["hybrid terms"]


def test_importing_the_same_file_again_changes_nothing(store: Engine, tmp_path: Path) -> None:
    import_agreements(store, HR, write(tmp_path))
    before = row_counts(store)
    again = import_agreements(store, HR, write(tmp_path))
    assert not again.changed
    assert row_counts(store) == before


def test_a_changed_file_updates_the_agreement_and_appends_to_the_clause_history(
    store: Engine, tmp_path: Path
) -> None:
    import_agreements(store, HR, write(tmp_path))
    record_legal_status(store, HR, "EEU-2023", "Art. 31 §4", LegalStatus.GRIEVANCE_FILED,
                        date(2025, 3, 1), "grievance 1")  # fmt: skip
    changed = FILE.replace('title = "Master Agreement"', 'title = "Master Agreement (2023)"')
    changed = changed.replace("effective_to = 2026-09-30", "effective_to = 2027-09-30")
    outcome = import_agreements(store, HR, write(tmp_path, changed))
    assert (outcome.agreements_created, outcome.agreements_updated) == (0, 1)
    shown = show_agreement(store, HR, "EEU-2023")
    assert (shown.facts.title, shown.facts.end) == ("Master Agreement (2023)", date(2027, 9, 30))
    # The status recorded by hand is kept: an import never rewrites a history.
    history = [r.record.status for r in shown.recorded["Art. 31 §4"]]
    assert history == [LegalStatus.DISPUTED, LegalStatus.GRIEVANCE_FILED]
    assert shown.recorded["Art. 31 §4"][1].recorded_by == "hr.lee"


def test_legal_status_changes_cut_the_clause_where_they_take_effect(store: Engine) -> None:
    create_agreement(store, HR, MASTER)
    assert inputs(store) == [("U1", date(2023, 10, 1), date(2026, 9, 30), None, None)]
    save_clause(store, HR, "EEU-2023", "Art. 31 §4", {"min_onsite_days_per_week": 2})
    for kind, on in (
        (LegalStatus.DISPUTED, date(2025, 2, 3)),
        (LegalStatus.GRIEVANCE_FILED, date(2025, 3, 1)),
        (LegalStatus.HELD_UNENFORCEABLE, date(2025, 6, 1)),
    ):
        record_legal_status(store, HR, "EEU-2023", "Art. 31 §4", kind, on, "memo")
    two = Requirement(days_per_week=2)
    assert inputs(store) == [
        ("U1", date(2023, 10, 1), date(2025, 2, 2), "in_force", two),
        ("U1", date(2025, 2, 3), date(2025, 2, 28), "disputed", two),
        ("U1", date(2025, 3, 1), date(2025, 5, 31), "grievance_filed", two),
    ]
    listed = list_agreements(store, AUDITOR)
    assert [a.facts.code for a in listed] == ["EEU-2023"]


def test_a_new_unit_and_dates_are_kept_when_an_agreement_is_updated(store: Engine) -> None:
    create_agreement(store, HR, MASTER)
    update_agreement(store, HR, AgreementDraft(**{**MASTER.__dict__, "units": ("U1", "U2")}))
    assert show_agreement(store, HR, "EEU-2023").facts.units == ("U1", "U2")


def _refused(engine: Engine, call: object, error: type[DutystationError], text: str) -> None:
    before = row_counts(engine)
    with pytest.raises(error) as caught:
        call()  # type: ignore[operator]
    message = str(caught.value)
    assert text in message
    assert "\n" not in message and "Traceback" not in message
    assert row_counts(engine) == before  # nothing changed, and no audit record either


def test_bad_input_is_one_sentence_and_changes_nothing(store: Engine, tmp_path: Path) -> None:
    create_agreement(store, HR, MASTER)
    save_clause(store, HR, "EEU-2023", "Art. 31 §4", {"min_onsite_days_per_week": 2})
    late = AgreementDraft("X-1", "X", "U", ("U2",), date(2025, 1, 1), date(2024, 12, 31))
    cases = [
        (
            lambda: save_clause(
                store,
                HR,
                "EEU-2023",
                "Art. 9",
                {"min_onsite_days_per_week": 2, "max_telework_days_per_pay_period": 4},
            ),
            ConfigError,
            "exactly one kind of hybrid terms",
        ),
        (lambda: create_agreement(store, HR, late), ConfigError, "before it takes effect"),
        (
            lambda: create_agreement(
                store, HR, AgreementDraft("X-2", "X", "U", ("U9",), date(2025, 1, 1))
            ),
            ConfigError,
            "bargaining unit 'U9' is on no roster version",
        ),
        (
            lambda: record_legal_status(
                store, HR, "EEU-2023", "Art. 31 §4", LegalStatus.DISPUTED, date(2023, 9, 1), "memo"
            ),
            ConfigError,
            "dated 2023-09-01, before the agreement takes effect",
        ),
        (
            lambda: create_agreement(
                store, HR, AgreementDraft("X-3", "X", "U", ("U1",), date(2026, 1, 1))
            ),
            Conflict,
            "are both in force on 2026-01-01",
        ),
        (
            lambda: save_clause(store, HR, "EEU-2023", "Art. 32", {"min_onsite_days_per_week": 3}),
            Conflict,
            "would both bind on 2023-10-01",
        ),
        (lambda: create_agreement(store, HR, MASTER), Conflict, "exists already"),
        (
            lambda: import_agreements(store, HR, write(tmp_path, FILE.replace("U2", "U9"))),
            ConfigError,
            "'U9' is on no roster version",
        ),
    ]
    for call, error, text in cases:
        _refused(store, call, error, text)


def test_a_bad_file_names_the_line_and_key(store: Engine, tmp_path: Path) -> None:
    bad = FILE.replace(
        "max_telework_days_per_pay_period = 6", "max_telework_days_per_pay_period = 12"
    )
    path = write(tmp_path, bad)
    _refused(store, lambda: import_agreements(store, HR, path), ConfigError,
             "line 2: key 'agreement[0].clause[0].max_telework_days_per_pay_period'")  # fmt: skip


def test_every_change_is_audited_and_a_refusal_recorded(store: Engine, tmp_path: Path) -> None:
    start = len(audit(store))
    create_agreement(store, HR, MASTER)
    save_clause(store, HR, "EEU-2023", "Art. 31 §4", {"min_onsite_share_of_hours": 0.4})
    record_legal_status(store, HR, "EEU-2023", "Art. 31 §4", LegalStatus.DISPUTED,
                        date(2025, 2, 3), "OPM memo 2025-02-03")  # fmt: skip
    assert audit(store)[start:] == [
        ("agreement.manage", "allowed", "agreement", "EEU-2023"),
        ("agreement.manage", "allowed", "agreement_clause", "EEU-2023 Art. 31 §4"),
        ("agreement.manage", "allowed", "clause_legal_status", "EEU-2023 Art. 31 §4"),
    ]
    with pytest.raises(Forbidden):
        record_legal_status(
            store,
            EMPLOYEE,
            "EEU-2023",
            "Art. 31 §4",
            LegalStatus.HELD_UNENFORCEABLE,
            date(2025, 3, 1),
            "my opinion",
        )
    assert audit(store)[-1][:2] == ("agreement.manage", "denied")
    with pytest.raises(NotFound, match="no agreement 'NOPE'"):
        show_agreement(store, AUDITOR, "NOPE")
    with pytest.raises(Forbidden):
        list_agreements(store, EMPLOYEE)


def test_the_database_itself_refuses_a_clause_with_two_kinds_of_terms(store: Engine) -> None:
    create_agreement(store, HR, MASTER)
    clause = AgreementClause.__table__
    with store.connect() as conn, pytest.raises(IntegrityError):
        agreement_id = conn.scalar(select(AgreementRecord.id))
        conn.execute(
            insert(clause).values(
                agreement_id=agreement_id,
                ref="Art. 9",
                summary="",
                min_onsite_days_per_week=2,
                max_telework_days_per_pay_period=4,
            )
        )
