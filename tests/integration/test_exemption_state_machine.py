"""RELIABILITY T05, ``approval_workflow_state_machine``: random actors file, certify,
withdraw, revoke and expire requests through the services (SQLite); a model of the rules
predicts every outcome. Pass figures: 0 self-approvals, 0 skipped states, 0 transitions
by unauthorised roles. CI: 50 runs x 30 steps; nightly (DUTYSTATION_TEST_PROFILE=nightly):
200 runs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from exemption_builders import World, build_world
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
)
from sqlalchemy import Engine, delete, select

from dutystation.domain.access import SYSTEM
from dutystation.domain.directive import Certifier, ExemptionCategory
from dutystation.domain.exemptions import Decision, RequestStatus
from dutystation.errors import Conflict, Forbidden, InvalidRequest, NotFound
from dutystation.services.exemption_decisions import certify, expire_due, revoke
from dutystation.services.exemption_requests import (
    NewRequest,
    request_exemption,
    withdraw_request,
)
from dutystation.store.db import make_engine, migrate
from dutystation.store.schema_exemptions import ExemptionCertification, ExemptionRequest
from dutystation.store.schema_medical import MedicalDocumentRow, MedicalRecordRow

NIGHTLY = os.environ.get("DUTYSTATION_TEST_PROFILE") == "nightly"
REFUSALS = (Conflict, Forbidden, InvalidRequest, NotFound)
S = RequestStatus
DAY0 = date(2025, 2, 1)
BOTH = (Certifier.AGENCY_HEAD, Certifier.SUPERVISOR)
# Who is judged by which directive (exemption_builders): categories and certifiers.
ALLOWED = {
    "E1": ({"compelling_reason", "medical_condition"}, BOTH),
    "E2": ({"compelling_reason", "medical_condition"}, BOTH),
    "S1": ({"compelling_reason", "medical_condition"}, BOTH),
    "B1": ({"compelling_reason", "lack_of_office_space"}, (Certifier.SUPERVISOR,)),
}
SELF = {"e1": "E1", "e2": "E2", "b1": "B1", "s1": "S1", "s0": "S0", "sb": "SB", "head": "H1"}
REPORTS = {"s1": {"E1", "E2"}, "s0": {"S1", "E1", "E2"}, "sb": {"B1"}}
CERTIFIES = {
    "s1": Certifier.SUPERVISOR,
    "s0": Certifier.SUPERVISOR,
    "sb": Certifier.SUPERVISOR,
    "head": Certifier.AGENCY_HEAD,
    "tmo": Certifier.TELEWORK_MANAGING_OFFICER,
    "leader": Certifier.COMPONENT_HEAD,
}
ACTORS = ["e1", "e2", "b1", "s1", "s0", "sb", "head", "tmo", "leader", "ra", "hr", "nobody"]
CATEGORIES = ["compelling_reason", "medical_condition", "lack_of_office_space"]


@dataclass
class Modelled:
    """What the rules say about one request."""

    employee: str
    filed_by: str
    start: date
    end: date
    required: tuple[Certifier, ...]
    status: S = S.SUBMITTED
    given: dict[Certifier, str] = field(default_factory=dict)
    approved: tuple[date, date] | None = None
    revoked_from: date | None = None

    def covers(self) -> tuple[date, date] | None:
        if self.status is S.SUBMITTED:
            return self.start, self.end
        if self.approved is None or self.status not in (S.APPROVED, S.EXPIRED, S.REVOKED):
            return None
        if self.status is S.REVOKED and self.revoked_from is not None:
            last = min(self.approved[1], self.revoked_from - timedelta(days=1))
            return (self.approved[0], last) if last >= self.approved[0] else None
        return self.approved


@dataclass
class Shared:
    world: World
    engine: Engine


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    folder = tmp_path_factory.mktemp("machine")
    engine = make_engine(f"sqlite:///{folder / 'store.sqlite3'}")
    migrate(engine)
    world = build_world(engine, folder)
    yield Shared(world, engine)
    world.runtime.engine.dispose()
    engine.dispose()


def may_file(actor: str, employee: str) -> bool:
    return SELF.get(actor) == employee or employee in REPORTS.get(actor, set())


def may_certify(actor: str, request: Modelled) -> bool:
    certifier = CERTIFIES.get(actor)
    if certifier is None or SELF.get(actor) == request.employee or actor == request.filed_by:
        return False
    in_scope = actor not in REPORTS or request.employee in REPORTS[actor]
    return (
        in_scope
        and request.status is S.SUBMITTED
        and certifier in request.required
        and certifier not in request.given
        and actor not in request.given.values()
    )


class Workflow(RuleBasedStateMachine):
    shared: Shared

    requests = Bundle("requests")

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[int, Modelled] = {}
        self.today = DAY0

    @rule(
        target=requests,
        actor=st.sampled_from(ACTORS),
        employee=st.sampled_from(sorted(ALLOWED)),
        category=st.sampled_from(CATEGORIES),
        offset=st.integers(0, 90),
        days=st.integers(-2, 60),
    )
    def file(self, actor: str, employee: str, category: str, offset: int, days: int) -> object:
        start = DAY0 + timedelta(days=offset)
        end = start + timedelta(days=days)
        new = NewRequest(employee, ExemptionCategory(category), start, end, "reasons")
        allowed, required = ALLOWED[employee]
        overlaps = any(
            m.employee == employee
            and (span := m.covers()) is not None
            and span[0] <= end
            and start <= span[1]
            for m in self.model.values()
        )
        expected = may_file(actor, employee) and days >= 0 and category in allowed
        expected = expected and not overlaps
        world = self.shared.world
        try:
            rid = request_exemption(world.runtime, world.actor(actor), new)
        except REFUSALS:
            assert not expected, f"{actor} was refused filing for {employee}"
            return multiple()
        assert expected, f"{actor} filed for {employee} against the rules"
        self.model[rid] = Modelled(employee, actor, start, end, required)
        return rid

    @rule(
        target=requests,
        employee=st.sampled_from(sorted(ALLOWED)),
        pick=st.integers(0, 1),
        offset=st.integers(0, 300),
        days=st.integers(0, 60),
        approve=st.booleans(),
    )
    def file_for_oneself(
        self, employee: str, pick: int, offset: int, days: int, approve: bool
    ) -> object:
        """Mostly-valid filings, often approved at once, so that runs reach the later
        states (revocation, expiry) in few steps."""
        actor = next(a for a, e in SELF.items() if e == employee)
        category = sorted(ALLOWED[employee][0])[pick]
        filed = self.file(actor, employee, category, offset, days)
        if approve and isinstance(filed, int):
            self.every_required_certifier_approves(filed, 0)
        return filed

    @rule(rid=requests, pick=st.integers(0, 5), approve=st.sampled_from([True, True, False]))
    def decide_as_a_required_certifier(self, rid: int, pick: int, approve: bool) -> None:
        request = self.model[rid]
        able = [a for a in CERTIFIES if may_certify(a, request)]
        if able:
            self.decide(rid, able[pick % len(able)], approve, 0)

    @rule(rid=requests, shorten=st.integers(0, 10))
    def every_required_certifier_approves(self, rid: int, shorten: int) -> None:
        request = self.model[rid]
        while able := [a for a in CERTIFIES if may_certify(a, request)]:
            self.decide(rid, able[0], True, shorten)

    @rule(
        rid=requests,
        actor=st.sampled_from(ACTORS),
        approve=st.booleans(),
        shorten=st.integers(0, 10),
    )
    def decide(self, rid: int, actor: str, approve: bool, shorten: int) -> None:
        request = self.model[rid]
        expected = may_certify(actor, request)
        end = max(request.start, request.end - timedelta(days=shorten))
        decision = Decision.APPROVE if approve else Decision.DENY
        world = self.shared.world
        try:
            done = certify(
                world.runtime,
                world.actor(actor),
                rid,
                decision,
                "because",
                end=end if approve else None,
            )
        except REFUSALS:
            assert not expected, f"{actor} was refused certifying request {rid}"
            return
        assert expected, f"{actor} certified request {rid} against the rules"
        certifier = CERTIFIES[actor]
        request.given[certifier] = actor
        if not approve:
            request.status = S.DENIED
        elif set(request.given) == set(request.required):
            request.status = S.APPROVED
            ends = [end] + ([request.approved[1]] if request.approved else [])
            request.approved = (request.start, min(ends))
        else:
            request.approved = (request.start, end)
        assert done.status is request.status

    @rule(rid=requests, actor=st.sampled_from(ACTORS))
    def withdraw(self, rid: int, actor: str) -> None:
        request = self.model[rid]
        allowed = SELF.get(actor) == request.employee or request.employee in REPORTS.get(
            actor, set()
        )
        expected = allowed and request.status is S.SUBMITTED
        world = self.shared.world
        try:
            withdraw_request(world.runtime, world.actor(actor), rid)
        except REFUSALS:
            assert not expected
            return
        assert expected, f"{actor} withdrew request {rid} against the rules"
        request.status = S.WITHDRAWN

    @rule(rid=requests, actor=st.sampled_from(ACTORS), offset=st.integers(-5, 70))
    def revoke(self, rid: int, actor: str, offset: int) -> None:
        request = self.model[rid]
        day = request.start + timedelta(days=offset)
        approved = request.approved
        expected = (
            actor in ("head", "tmo")
            and request.status is S.APPROVED
            and approved is not None
            and approved[0] <= day <= approved[1]
        )
        world = self.shared.world
        try:
            revoke(world.runtime, world.actor(actor), rid, day, "back at the office")
        except REFUSALS:
            assert not expected
            return
        assert expected, f"{actor} revoked request {rid} against the rules"
        request.status, request.revoked_from = S.REVOKED, day

    @rule(days=st.integers(1, 60))
    def expire(self, days: int) -> None:
        self.today += timedelta(days=days)
        expired = expire_due(self.shared.world.runtime, SYSTEM, self.today)
        expected = [
            rid
            for rid, m in sorted(self.model.items())
            if m.status is S.APPROVED and m.approved is not None and m.approved[1] < self.today
        ]
        assert expired == expected
        for rid in expired:
            self.model[rid].status = S.EXPIRED

    @invariant()
    def stored_states_are_the_modelled_ones(self) -> None:
        """0 skipped states: every request is where the legal moves put it."""
        with self.shared.engine.connect() as conn:
            stored = dict(conn.execute(select(ExemptionRequest.id, ExemptionRequest.status)).all())
        assert stored == {rid: m.status.value for rid, m in self.model.items()}

    @invariant()
    def nobody_certified_their_own_or_their_filing(self) -> None:
        """0 self-approvals."""
        with self.shared.engine.connect() as conn:
            rows = conn.execute(
                select(ExemptionCertification.username, ExemptionRequest.filed_by).join(
                    ExemptionRequest, ExemptionRequest.id == ExemptionCertification.request_id
                )
            ).all()
        for certifier, filer in rows:
            assert certifier != filer

    def teardown(self) -> None:
        with self.shared.engine.begin() as conn:
            for table in (MedicalDocumentRow, MedicalRecordRow, ExemptionCertification):
                conn.execute(delete(table))
            conn.execute(delete(ExemptionRequest))


def test_the_approval_workflow_follows_its_rules_for_random_actors(shared: Shared) -> None:
    Workflow.shared = shared
    runs = 200 if NIGHTLY else 50
    machine = settings(
        max_examples=runs,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=not NIGHTLY,
    )(Workflow)
    machine.TestCase().runTest()
