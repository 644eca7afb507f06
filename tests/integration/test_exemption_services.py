"""The exemption workflow's services on SQLite and PostgreSQL: requests, certifications,
withdrawal, revocation, renewal, expiry, scoped lists and views, downloads, and every bad
input of the issue answered with one sentence and no change."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from exemption_builders import ELF, PDF, World, audit_outcomes, build_world, table_counts
from sqlalchemy import Engine, select

from dutystation.domain.directive import Certifier, ExemptionCategory
from dutystation.domain.exemptions import Decision, RequestStatus
from dutystation.errors import (
    Conflict,
    DocumentRejected,
    DutystationError,
    Forbidden,
    InvalidRequest,
    NotFound,
)
from dutystation.services import medical_store
from dutystation.services.documents import Upload
from dutystation.services.exemption_decisions import certify, expire_due, revoke
from dutystation.services.exemption_records import stored_exemption_inputs
from dutystation.services.exemption_requests import (
    NewRequest,
    renew_exemption,
    request_exemption,
    withdraw_request,
)
from dutystation.services.exemption_views import (
    download_document,
    list_requests,
    show_request,
)
from dutystation.store.schema_exemptions import ExemptionDocument, ExemptionRequest

A, D = Decision.APPROVE, Decision.DENY
FEB_MAR = (date(2025, 2, 1), date(2025, 3, 31))
MEDICAL = ExemptionCategory.MEDICAL_CONDITION
COMPELLING = ExemptionCategory.COMPELLING_REASON


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Iterator[World]:
    built = build_world(engine, tmp_path)
    yield built
    built.runtime.engine.dispose()


def new(
    employee: str = "E1",
    category: ExemptionCategory = COMPELLING,
    start: date = FEB_MAR[0],
    end: date = FEB_MAR[1],
    documents: tuple[Upload, ...] = (),
) -> NewRequest:
    return NewRequest(employee, category, start, end, "caring for a relative", documents)


def approved_request(world: World, **kwargs: Any) -> int:
    rid = request_exemption(world.runtime, world.actor("e1"), new(**kwargs))
    certify(world.runtime, world.actor("s1"), rid, A, "agreed")
    certify(world.runtime, world.actor("head"), rid, A, "agreed")
    return rid


def test_approved_once_supervisor_and_agency_head_both_certify(world: World) -> None:
    rid = request_exemption(world.runtime, world.actor("e1"), new())
    first = certify(world.runtime, world.actor("s1"), rid, A, "workload covered")
    assert (first.certifier, first.status) == (Certifier.SUPERVISOR, RequestStatus.SUBMITTED)
    second = certify(world.runtime, world.actor("head"), rid, A, "documented")
    assert (second.certifier, second.status) == (Certifier.AGENCY_HEAD, RequestStatus.APPROVED)
    view = show_request(world.runtime, world.actor("s1"), rid)
    assert (view["approved_start"], view["approved_end"]) == FEB_MAR
    assert view["directive_ref"] == "TEST-RTO@1"
    assert view["certifications_required"] == ["agency_head", "supervisor"]
    actions = [a for a, o in audit_outcomes(world.runtime.engine) if o == "allowed"]
    assert actions[-3:] == ["exemption.request", "exemption.certify", "exemption.certify"]


def test_the_component_memo_needs_the_supervisor_alone(world: World) -> None:
    category = ExemptionCategory.LACK_OF_OFFICE_SPACE
    rid = request_exemption(world.runtime, world.actor("b1"), new("B1", category))
    done = certify(world.runtime, world.actor("sb"), rid, A, "no seat until April")
    assert done.status is RequestStatus.APPROVED


def test_one_denial_denies_and_a_denial_has_no_dates(world: World) -> None:
    rid = request_exemption(world.runtime, world.actor("e1"), new())
    with pytest.raises(InvalidRequest, match="a denial carries no dates"):
        certify(world.runtime, world.actor("head"), rid, D, "no", end=date(2025, 2, 5))
    done = certify(world.runtime, world.actor("head"), rid, D, "not a compelling reason")
    assert done.status is RequestStatus.DENIED


def test_narrower_dates_from_one_certifier_narrow_the_approval(world: World) -> None:
    rid = request_exemption(world.runtime, world.actor("e1"), new())
    certify(world.runtime, world.actor("s1"), rid, A, "ok", end=date(2025, 2, 28))
    done = certify(world.runtime, world.actor("head"), rid, A, "ok")
    assert done.approved is not None
    assert (done.approved.start, done.approved.end) == (date(2025, 2, 1), date(2025, 2, 28))


def test_a_supervisor_who_files_for_a_report_leaves_certifying_to_another(world: World) -> None:
    rid = request_exemption(world.runtime, world.actor("s1"), new())
    with pytest.raises(Forbidden, match="you filed request"):
        certify(world.runtime, world.actor("s1"), rid, A, "mine")
    # S0 supervises S1, so E1 is in S0's scope too: they certify as supervisor.
    assert certify(world.runtime, world.actor("s0"), rid, A, "ok").certifier is Certifier.SUPERVISOR


def test_nobody_certifies_their_own_request(world: World) -> None:
    rid = request_exemption(world.runtime, world.actor("s1"), new("S1"))
    with pytest.raises(Forbidden, match="their own exemption request"):
        certify(world.runtime, world.actor("s1"), rid, A, "mine")


def test_a_role_the_directive_does_not_name_cannot_certify(world: World) -> None:
    rid = request_exemption(world.runtime, world.actor("e1"), new())
    with pytest.raises(Conflict, match="needs no certification by a telework managing officer"):
        certify(world.runtime, world.actor("tmo"), rid, A, "fine")


def test_a_confidential_request_keeps_its_medical_content_in_the_medical_store_only(
    world: World,
) -> None:
    upload = Upload("cardiology-letter.pdf", PDF)
    request = NewRequest("E1", MEDICAL, *FEB_MAR, "heart condition", (upload,))
    rid = request_exemption(world.runtime, world.actor("e1"), request)
    certify(world.runtime, world.actor("s1"), rid, A, "cardiologist letter seen")
    engine = world.runtime.engine
    with engine.connect() as conn:
        row = conn.execute(select(ExemptionRequest).where(ExemptionRequest.id == rid)).one()
        assert row.justification is None
        assert row.category_group == "medical_disability"
        assert conn.execute(select(ExemptionDocument)).all() == []
        stored = medical_store.get(conn, world.runtime.settings, rid)
    assert stored.fields["justification"] == "heart condition"
    assert stored.fields["decision.supervisor.reason"] == "cardiologist letter seen"
    assert [d.file_name for d in stored.documents] == ["cardiology-letter.pdf"]
    for role in ("s1", "head", "tmo", "hr", "auditor", "e1"):
        view = show_request(world.runtime, world.actor(role), rid)
        assert {"category", "justification", "medical_documents", "medical_notes"}.isdisjoint(view)
        assert "cardiologist" not in repr(view) and "heart" not in repr(view)
    ra = show_request(world.runtime, world.actor("ra"), rid)
    assert ra["category"] == "medical_condition"
    assert ra["justification"] == "heart condition"
    assert ra["medical_documents"][0]["file_name"] == "cardiology-letter.pdf"
    assert audit_outcomes(engine)[-1] == ("exemption.read_medical", "allowed")


def test_documents_download_by_role_and_every_download_is_audited(world: World) -> None:
    plain = request_exemption(
        world.runtime, world.actor("e1"), new(documents=(Upload("letter.txt", b"a carer"),))
    )
    got = download_document(world.runtime, world.actor("s1"), plain, 1)
    assert (got.data, got.media_type) == (b"a carer", "text/plain")
    assert got.file_name == f"exemption-request-{plain}-document-1.txt"
    medical = request_exemption(
        world.runtime,
        world.actor("e2"),
        NewRequest("E2", MEDICAL, *FEB_MAR, "why", (Upload("scan.pdf", PDF),)),
    )
    with pytest.raises(NotFound, match=f"request {medical} has no document 1"):
        download_document(world.runtime, world.actor("s1"), medical, 1)
    assert download_document(world.runtime, world.actor("ra"), medical, 1).data == PDF
    # The RA coordinator's copy of another person's document is also a Privacy Act
    # disclosure (docs/privacy.md), recorded in the ledger with its own audit record.
    assert audit_outcomes(world.runtime.engine)[-3:] == [
        ("exemption.read", "denied"),
        ("exemption.read_medical", "allowed"),
        ("disclosure.record", "allowed"),
    ]


def test_withdraw_revoke_expire_and_renew(world: World) -> None:
    runtime = world.runtime
    pending = request_exemption(runtime, world.actor("e2"), new("E2"))
    withdraw_request(runtime, world.actor("e2"), pending)
    with pytest.raises(Conflict, match="already withdrawn; it cannot be withdrawn"):
        withdraw_request(runtime, world.actor("s1"), pending)

    rid = approved_request(world)
    assert expire_due(runtime, world.actor("tmo"), date(2025, 3, 31)) == []
    assert expire_due(runtime, world.actor("tmo"), date(2025, 4, 1)) == [rid]
    with pytest.raises(InvalidRequest, match="starts on 2025-04-01 at the earliest"):
        renew_exemption(
            runtime,
            world.actor("e1"),
            rid,
            start=date(2025, 3, 15),
            end=date(2025, 6, 30),
            justification="still caring",
        )
    renewal = renew_exemption(
        runtime, world.actor("e1"), rid, end=date(2025, 6, 30), justification="still caring"
    )
    certify(runtime, world.actor("s1"), renewal, A, "ok")
    certify(runtime, world.actor("head"), renewal, A, "ok")
    assert show_request(runtime, world.actor("s1"), renewal)["renewal_of"] == rid
    revoke(runtime, world.actor("head"), renewal, date(2025, 5, 1), "returned to the office")
    approved, requests = stored_exemption_inputs(runtime.engine)
    spans = sorted((x.exemption.start, x.exemption.end) for x in approved)
    assert spans == [FEB_MAR, (date(2025, 4, 1), date(2025, 4, 30))]
    assert [r.decided_on is not None for r in requests] == [True, True, True]


def test_each_role_lists_only_the_requests_in_its_scope(world: World) -> None:
    runtime = world.runtime
    e1 = request_exemption(runtime, world.actor("e1"), new("E1"))
    e2 = request_exemption(runtime, world.actor("s1"), new("E2", MEDICAL))
    b1 = request_exemption(runtime, world.actor("b1"), new("B1"))

    def ids(role: str, **filters: Any) -> list[int]:
        return [r.id for r in list_requests(runtime, world.actor(role), **filters)]

    assert ids("e1") == [e1]
    assert ids("s1") == [e2, e1]
    assert ids("sb") == [b1]
    assert ids("ra") == ids("tmo") == ids("hr") == [b1, e2, e1]
    assert ids("tmo", org_unit="COMP-B") == [b1]
    assert ids("tmo", category_group="medical_disability") == [e2]
    assert ids("tmo", status=RequestStatus.APPROVED) == []
    with pytest.raises(Forbidden):
        ids("nobody")
    assert ids("tmo", org_unit="NOPE") == []  # like a unit outside the scope


def _nothing(world: World) -> Any:
    return None


def _filed(world: World) -> int:
    return request_exemption(world.runtime, world.actor("e1"), new())


def _denied(world: World) -> int:
    rid = request_exemption(world.runtime, world.actor("b1"), new("B1"))
    certify(world.runtime, world.actor("sb"), rid, D, "no")
    return rid


def _overlap(world: World, _: Any) -> None:
    later = new(start=date(2025, 3, 1), end=date(2025, 4, 30))
    request_exemption(world.runtime, world.actor("e1"), later)


def _end_before_start(world: World, _: Any) -> None:
    request_exemption(world.runtime, world.actor("e1"), new(end=date(2025, 1, 31)))


def _category_not_allowed(world: World, _: Any) -> None:
    category = ExemptionCategory.LACK_OF_OFFICE_SPACE
    request_exemption(world.runtime, world.actor("e1"), new(category=category))


def _decided_twice(world: World, rid: int) -> None:
    certify(world.runtime, world.actor("sb"), rid, A, "changed my mind")


def _oversized(world: World, _: Any) -> None:
    big = Upload("scan.pdf", PDF + b"0" * world.runtime.settings.document_max_bytes)
    request_exemption(world.runtime, world.actor("e1"), new(documents=(big,)))


def _executable_named_pdf(world: World, _: Any) -> None:
    request_exemption(world.runtime, world.actor("e1"), new(documents=(Upload("cv.pdf", ELF),)))


def _out_of_scope(world: World, _: Any) -> None:
    request_exemption(world.runtime, world.actor("sb"), new("E1"))


def _unknown_employee(world: World, _: Any) -> None:
    request_exemption(world.runtime, world.actor("sb"), new("NOBODY"))


def _certify_out_of_scope(world: World, rid: int) -> None:
    certify(world.runtime, world.actor("sb"), rid, A, "not mine")


Setup = Callable[[World], Any]
Attempt = Callable[[World, Any], None]
BAD_INPUTS: list[tuple[Setup, Attempt, type[DutystationError], str, bool]] = [
    (_filed, _overlap, Conflict, "already has an exemption or pending request", False),
    (_nothing, _end_before_start, InvalidRequest, "the end date 2025-01-31 is before", False),
    (_nothing, _category_not_allowed, InvalidRequest, "TEST-RTO@1 does not allow", False),
    (_denied, _decided_twice, Conflict, "is already denied; it cannot be decided again", False),
    (_nothing, _oversized, DocumentRejected, "document 1: it is ", False),
    (_nothing, _executable_named_pdf, DocumentRejected, "document 1: it is a Linux program", False),
    (_nothing, _out_of_scope, NotFound, "no employee 'E1'", True),
    (_nothing, _unknown_employee, NotFound, "no employee 'NOBODY'", True),
    (_filed, _certify_out_of_scope, NotFound, "no exemption request ", True),
]


@pytest.mark.parametrize(
    ("setup", "attempt", "error", "sentence", "denied"),
    BAD_INPUTS,
    ids=[b[1].__name__.strip("_") for b in BAD_INPUTS],
)
def test_bad_input_is_one_sentence_and_changes_nothing(
    world: World,
    setup: Setup,
    attempt: Attempt,
    error: type[DutystationError],
    sentence: str,
    denied: bool,
) -> None:
    """Out of scope also writes one "denied" audit record (the security trail sees probes);
    nothing else changes, in any table."""
    engine = world.runtime.engine
    prepared = setup(world)
    counts, outcomes = table_counts(engine), audit_outcomes(engine)
    with pytest.raises(error) as caught:
        attempt(world, prepared)
    message = str(caught.value)
    assert sentence in message
    assert "\n" not in message and ". " not in message
    assert table_counts(engine) == {**counts, "audit_record": counts["audit_record"] + denied}
    after = audit_outcomes(engine)
    assert after[: len(outcomes)] == outcomes
    assert [o for _, o in after[len(outcomes) :]] == (["denied"] if denied else [])
