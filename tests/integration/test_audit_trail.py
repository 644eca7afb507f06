"""The audit trail on SQLite and PostgreSQL: records chain up and verify, the hash is the
documented one, sensitive keys never reach the table, concurrent writers keep one chain,
and refused attempts are recorded although the refused change is rolled back."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime

import pytest
from audit_builders import AUDITOR, CLERK, SUPERVISOR, build_chain, head
from sqlalchemy import Engine, func, select, text

from dutystation.domain.access import SYSTEM, Operation
from dutystation.errors import Conflict, Forbidden, NotFound
from dutystation.services.audit import (
    AUDIT,
    GENESIS,
    Change,
    denials_recorded,
    record,
    record_denied,
)
from dutystation.services.audit_verify import verify, verify_trail
from dutystation.services.authorization import Subject, authorize
from dutystation.store.db import write_transaction


def _all(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(AUDIT.select().order_by(AUDIT.c.seq)).mappings()]


def test_a_clean_chain_verifies_with_its_count_and_head(engine: Engine) -> None:
    build_chain(engine, 25)
    last_seq, last_hash = head(engine)
    with engine.connect() as conn:
        result = verify(conn)
        tenth = conn.scalar(select(AUDIT.c.hash).where(AUDIT.c.seq == 10))
        anchored = verify(conn, expect_head=tenth)
    assert (result.intact, result.records, result.first_seq, result.head_seq) == (
        True,
        25,
        1,
        25,
    )
    assert (last_seq, result.head_hash) == (25, last_hash)
    assert result.sentence().startswith("the audit trail is intact: 25 records (seq 1..25)")
    assert anchored.intact and anchored.anchor_seq == 10  # the trail grew since the anchor


def test_an_empty_trail_is_intact(engine: Engine) -> None:
    with engine.connect() as conn:
        result = verify(conn)
    assert result.intact and result.records == 0 and result.head_hash == GENESIS


def test_the_hash_is_exactly_the_one_docs_audit_md_defines(engine: Engine) -> None:
    """Re-implemented here from the documentation alone, and pinned to a known value, so
    the definition cannot drift without breaking every stored chain."""
    at = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)
    change = Change("exemption.certify", "exemption", "42", {"state": "pending"}, {"n": 1})
    with write_transaction(engine) as conn:
        record(conn, AUDITOR, change, now=at)
    stored = _all(engine)[0]
    body = json.dumps(
        {
            "seq": 1,
            "at": "2026-03-02T09:30:15+00:00",  # UTC, whole seconds
            "actor": "avery.auditor",
            "actor_user_id": 7,
            "channel": "cli",
            "action": "exemption.certify",
            "outcome": "allowed",
            "subject_type": "exemption",
            "subject_id": "42",
            "before": '{"state":"pending"}',
            "after": '{"n":1}',
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    expected = hashlib.sha256(f"{GENESIS}\n{body}".encode()).hexdigest()
    assert stored["prev_hash"] == GENESIS
    assert stored["hash"] == expected
    assert expected == "6c5700cf35681ba366acdb72a71185b21ab3485549156c4267dfa19d1d570833"


def test_sensitive_keys_are_redacted_at_any_depth_and_the_chain_still_verifies(
    engine: Engine,
) -> None:
    before = {
        "justification": "chronic back pain",
        "decision": "approved",
        "documents": [{"file_name": "mri-scan.pdf", "pages": 3}],
        "account": {"password": "hunter2", "token": "tok-123", "name": "Pat"},
        "home_zip": "20500",
    }
    with write_transaction(engine) as conn:
        record(conn, SUPERVISOR, Change("exemption.certify", "exemption", "5", before, None))
    stored = _all(engine)[0]
    text_ = str(stored["before"])
    for secret in ("chronic back pain", "mri-scan.pdf", "hunter2", "tok-123", "20500"):
        assert secret not in text_
    kept = json.loads(text_)
    assert kept["decision"] == "approved" and kept["account"]["name"] == "Pat"
    assert kept["documents"] == [{"file_name": "[redacted]", "pages": 3}]
    assert kept["justification"] == "[redacted]"
    with engine.connect() as conn:
        assert verify(conn).intact


def test_the_database_refuses_to_update_or_delete_a_record(engine: Engine) -> None:
    build_chain(engine, 3)
    statements = [
        "UPDATE audit_record SET actor = 'mallory' WHERE seq = 2",
        "DELETE FROM audit_record WHERE seq = 3",
        "DELETE FROM audit_record",
    ]
    if engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_record")
    for statement in statements:
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert verify(conn).records == 3
        assert conn.scalar(select(AUDIT.c.actor).where(AUDIT.c.seq == 2)) == "sam.supervisor"


def test_concurrent_writers_keep_one_unbroken_chain(engine: Engine) -> None:
    writers, each = 4, 25
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def write(n: int) -> None:
        try:
            start.wait()
            for i in range(each):
                with write_transaction(engine) as conn:
                    record(conn, AUDITOR, Change("probe.write", "writer", f"{n}-{i}"))
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        result = verify(conn)
        seqs = list(conn.scalars(select(AUDIT.c.seq).order_by(AUDIT.c.seq)))
    assert result.intact and result.records == writers * each
    assert seqs == list(range(1, writers * each + 1))


def test_a_forbidden_attempt_is_recorded_while_its_change_rolls_back(engine: Engine) -> None:
    attempt = Change(Operation.AUDIT_READ.value, "audit_trail")
    with (
        pytest.raises(Forbidden),
        denials_recorded(engine, CLERK, attempt),
        write_transaction(engine) as conn,
    ):
        record(conn, CLERK, Change("probe.write", "probe", "1"))  # must not survive
        authorize(conn, CLERK, Operation.AUDIT_READ)
    (denied,) = _all(engine)
    assert (denied["actor"], denied["channel"], denied["action"], denied["outcome"]) == (
        "casey.clerk",
        "web",
        "audit.read",
        "denied",
    )
    assert json.loads(str(denied["after"])) == {"refused": "forbidden"}
    with engine.connect() as conn:
        assert verify(conn).intact


def test_a_subject_out_of_scope_is_recorded_as_denied_without_the_sentence(
    engine: Engine,
) -> None:
    attempt = Change(Operation.STATUS_READ.value, "employee", "999")
    with (
        pytest.raises(NotFound),
        denials_recorded(engine, SUPERVISOR, attempt),
        engine.connect() as conn,
    ):
        authorize(conn, SUPERVISOR, Operation.STATUS_READ, Subject(employee_pk=999),
                  not_found="no employee E-SECRET")  # fmt: skip
    (denied,) = _all(engine)
    assert denied["outcome"] == "denied" and denied["subject_id"] == "999"
    assert json.loads(str(denied["after"])) == {"refused": "not_found"}
    assert "E-SECRET" not in json.dumps({k: str(v) for k, v in denied.items()})


def test_other_errors_pass_through_without_a_denial(engine: Engine) -> None:
    with pytest.raises(Conflict), denials_recorded(engine, CLERK, Change("probe.write")):
        raise Conflict("decided twice")
    assert _all(engine) == []


def test_record_denied_marks_the_record_denied_whatever_the_change_said(engine: Engine) -> None:
    seq = record_denied(engine, SUPERVISOR, Change("exemption.revoke", "exemption", "3"))
    assert seq == 1 and _all(engine)[0]["outcome"] == "denied"


def test_only_auditors_and_administrators_may_verify(engine: Engine) -> None:
    build_chain(engine, 2)
    assert verify_trail(engine, AUDITOR).intact
    assert verify_trail(engine, SYSTEM).intact
    for refused in (CLERK, SUPERVISOR):
        with pytest.raises(Forbidden):
            verify_trail(engine, refused)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(AUDIT)) == 2
