"""RELIABILITY T05, ``approval_workflow_state_machine``: random actors (every role of
domain/access.py, in and out of scope, the requester themself, the system) file, certify
(approve or deny), withdraw, revoke, expire and renew requests through the services on a
real SQLite store; a model of the rules predicts every outcome, and invariants read the
store and the audit trail after every step.

Pass figures: 0 self-approvals, 0 skipped states (in the table and in the audit trail's
before/after of every change), 0 transitions by unauthorised roles, approved only when
every certification the directive requires approved. CI: 50 runs x 30 steps; nightly
(DUTYSTATION_TEST_PROFILE=nightly): 200 runs x 30 steps."""

from __future__ import annotations

import json
import os
from collections import Counter
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
from sqlalchemy import Engine, delete, func, select, update

from dutystation.domain.access import SYSTEM, Actor, Operation, could_ever
from dutystation.domain.directive import Certifier, ExemptionCategory
from dutystation.domain.exemptions import TRANSITIONS, Action, Decision, RequestStatus
from dutystation.errors import Conflict, Forbidden, InvalidRequest, NotFound
from dutystation.services.exemption_decisions import certify, expire_due, revoke
from dutystation.services.exemption_requests import (
    NewRequest,
    renew_exemption,
    request_exemption,
    withdraw_request,
)
from dutystation.store.db import make_engine, migrate
from dutystation.store.schema_audit import AuditRecord
from dutystation.store.schema_exemptions import ExemptionCertification, ExemptionRequest
from dutystation.store.schema_medical import MedicalDocumentRow, MedicalRecordRow

NIGHTLY = os.environ.get("DUTYSTATION_TEST_PROFILE") == "nightly"
REFUSALS = (Conflict, Forbidden, InvalidRequest, NotFound)
# How often each move happened, allowed and refused, over all runs: the runs must reach
# every one of them, or the pass figures say nothing about it.
REACHED: Counter[str] = Counter()
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
ACTORS = [
    "e1",
    "e2",
    "b1",
    "s1",
    "s0",
    "sb",
    "head",
    "tmo",
    "leader",
    "ra",
    "hr",
    "auditor",
    "nobody",
]
# Who runs the expiry: the housekeeping run, roles allowed exemption.expire (whole
# organisation in exemption_builders), and roles that are not.
EXPIRERS = ["system", "tmo", "hr", "head", "s1", "e1", "auditor", "nobody"]
MAY_EXPIRE = {"system", "tmo", "hr"}
# The audit action of each state change, and the domain's name for the move.
MOVES = {
    Operation.EXEMPTION_CERTIFY.value: Action.CERTIFY,
    Operation.EXEMPTION_WITHDRAW.value: Action.WITHDRAW,
    Operation.EXEMPTION_REVOKE.value: Action.REVOKE,
    Operation.EXEMPTION_EXPIRE.value: Action.EXPIRE,
}
CATEGORIES = ["compelling_reason", "medical_condition", "lack_of_office_space"]


@dataclass
class Modelled:
    """What the rules say about one request."""

    employee: str
    filed_by: str
    start: date
    end: date
    required: tuple[Certifier, ...]
    category: str = "compelling_reason"
    renewal_of: int | None = None
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
        # The audit trail cannot be emptied between runs (triggers refuse DELETE): each
        # run reads the records after the ones earlier runs wrote.
        with self.shared.engine.connect() as conn:
            self.first_seq = (conn.scalar(select(func.max(AuditRecord.seq))) or 0) + 1

    def overlaps(self, employee: str, start: date, end: date) -> bool:
        return any(
            m.employee == employee
            and (span := m.covers()) is not None
            and span[0] <= end
            and start <= span[1]
            for m in self.model.values()
        )

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
        expected = may_file(actor, employee) and days >= 0 and category in allowed
        expected = expected and not self.overlaps(employee, start, end)
        world = self.shared.world
        try:
            rid = request_exemption(world.runtime, world.actor(actor), new)
        except REFUSALS:
            assert not expected, f"{actor} was refused filing for {employee}"
            REACHED["file refused"] += 1
            return multiple()
        assert expected, f"{actor} filed for {employee} against the rules"
        REACHED["file"] += 1
        self.model[rid] = Modelled(employee, actor, start, end, required, category)
        return rid

    @rule(
        target=requests,
        rid=requests,
        actor=st.sampled_from(ACTORS),
        gap=st.integers(-1, 3),
        days=st.integers(-1, 40),
        approve=st.booleans(),
    )
    def renew(self, rid: int, actor: str, gap: int, days: int, approve: bool) -> object:
        """A renewal is a new request, in the same category, starting at the earliest the
        day after the renewed exemption ends; only an approved or expired one renews."""
        old = self.model[rid]
        covered = old.covers()
        renewable = old.status in (S.APPROVED, S.EXPIRED) and covered is not None
        earliest = covered[1] + timedelta(days=1) if covered is not None else old.end
        start = earliest + timedelta(days=gap)
        end = start + timedelta(days=days)
        expected = (
            renewable
            and may_file(actor, old.employee)
            and gap >= 0
            and days >= 0
            and not self.overlaps(old.employee, start, end)
        )
        world = self.shared.world
        try:
            new = renew_exemption(
                world.runtime,
                world.actor(actor),
                rid,
                start=start,
                end=end,
                justification="still needed",
            )
        except REFUSALS:
            assert not expected, f"{actor} was refused renewing request {rid}"
            REACHED["renew refused"] += 1
            return multiple()
        assert expected, f"{actor} renewed request {rid} against the rules"
        REACHED["renew"] += 1
        self.model[new] = Modelled(
            old.employee, actor, start, end, old.required, old.category, renewal_of=rid
        )
        if approve:
            self.every_required_certifier_approves(new, 0)
        return new

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
            REACHED["certify refused"] += 1
            return
        assert expected, f"{actor} certified request {rid} against the rules"
        REACHED[f"certify {decision.value}"] += 1
        certifier = CERTIFIES[actor]
        request.given[certifier] = actor
        if not approve:
            request.status = S.DENIED
        elif set(request.given) == set(request.required):
            request.status = S.APPROVED
            REACHED["approved"] += 1
            ends = [end] + ([request.approved[1]] if request.approved else [])
            request.approved = (request.start, min(ends))
        else:
            request.approved = (request.start, end)
        assert done.status is request.status

    @rule(
        target=requests,
        rid=requests,
        days=st.integers(0, 40),
        approve=st.sampled_from([True, True, False]),
    )
    def renew_for_oneself(self, rid: int, days: int, approve: bool) -> object:
        """Mostly-valid renewals, so that runs reach them and the requests they start."""
        employee = self.model[rid].employee
        actor = next(a for a, e in SELF.items() if e == employee)
        return self.renew(rid, actor, 0, days, approve)

    @rule(rid=requests, pick=st.sampled_from(["head", "tmo"]), offset=st.integers(0, 60))
    def revoke_as_a_revoker(self, rid: int, pick: str, offset: int) -> None:
        """A revocation inside the approved dates by someone who may revoke."""
        approved = self.model[rid].approved
        if self.model[rid].status is S.APPROVED and approved is not None:
            days = (approved[1] - approved[0]).days + 1
            start = self.model[rid].start
            self.revoke(rid, pick, (approved[0] - start).days + offset % days)

    @rule(rid=requests)
    def withdraw_as_the_employee(self, rid: int) -> None:
        request = self.model[rid]
        if request.status is S.SUBMITTED:
            self.withdraw(rid, next(a for a, e in SELF.items() if e == request.employee))

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
            REACHED["withdraw refused"] += 1
            return
        assert expected, f"{actor} withdrew request {rid} against the rules"
        REACHED["withdraw"] += 1
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
            REACHED["revoke refused"] += 1
            return
        assert expected, f"{actor} revoked request {rid} against the rules"
        REACHED["revoke"] += 1
        request.status, request.revoked_from = S.REVOKED, day

    @rule(days=st.integers(1, 60), actor=st.sampled_from(EXPIRERS))
    def expire(self, days: int, actor: str) -> None:
        today = self.today + timedelta(days=days)
        who = SYSTEM if actor == "system" else self.shared.world.actor(actor)
        try:
            expired = expire_due(self.shared.world.runtime, who, today)
        except REFUSALS:
            assert actor not in MAY_EXPIRE, f"{actor} was refused the expiry run"
            REACHED["expire refused"] += 1
            return
        assert actor in MAY_EXPIRE, f"{actor} ran the expiry against the rules"
        self.today = today
        expected = [
            rid
            for rid, m in sorted(self.model.items())
            if m.status is S.APPROVED and m.approved is not None and m.approved[1] < self.today
        ]
        assert expired == expected
        for rid in expired:
            self.model[rid].status = S.EXPIRED
            REACHED["expire"] += 1

    @rule(days=st.integers(1, 60))
    def housekeeping_run(self, days: int) -> None:
        self.expire(days, "system")

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

    @invariant()
    def approved_only_with_every_required_certification(self) -> None:
        """A request that was approved (approved, expired or revoked now) carries an
        approving certification of every certifier its directive requires, and no denial;
        a denied one carries a denial by a required certifier."""
        with self.shared.engine.connect() as conn:
            requests = conn.execute(
                select(
                    ExemptionRequest.id,
                    ExemptionRequest.status,
                    ExemptionRequest.certifiers_required,
                    ExemptionRequest.approved_start,
                )
            ).all()
            given: dict[int, list[tuple[str, str]]] = {}
            for request_id, certifier, decision in conn.execute(
                select(
                    ExemptionCertification.request_id,
                    ExemptionCertification.certifier,
                    ExemptionCertification.decision,
                )
            ):
                given.setdefault(request_id, []).append((certifier, decision))
        for request_id, status, required_text, approved_start in requests:
            required = set(required_text.split(","))
            made = given.get(request_id, [])
            approvals = {c for c, d in made if d == Decision.APPROVE.value}
            denials = {c for c, d in made if d == Decision.DENY.value}
            assert {c for c, _ in made} <= required, f"request {request_id}: {made}"
            if status in (S.APPROVED, S.EXPIRED, S.REVOKED):
                assert approvals == required and not denials, f"request {request_id}: {made}"
                assert approved_start is not None
            elif status == S.DENIED:
                assert denials, f"request {request_id} denied without a denial"
            elif status == S.SUBMITTED:
                assert approvals < required and not denials, f"request {request_id}: {made}"

    @invariant()
    def the_audit_trail_shows_only_legal_moves_by_permitted_actors(self) -> None:
        """Every allowed change of a request in the trail goes from the state the previous
        record left it in to one the transition table allows (0 skipped states), by an
        actor whose roles allow the operation (0 transitions by unauthorised roles); no
        certification was given by the employee or by whoever filed the request; and the
        last recorded state is the stored one."""
        with self.shared.engine.connect() as conn:
            records = conn.execute(
                select(
                    AuditRecord.actor,
                    AuditRecord.action,
                    AuditRecord.subject_id,
                    AuditRecord.before,
                    AuditRecord.after,
                )
                .where(
                    AuditRecord.seq >= self.first_seq,
                    AuditRecord.outcome == "allowed",
                    AuditRecord.subject_type == "exemption_request",
                )
                .order_by(AuditRecord.seq)
            ).all()
        actors = {name: self.shared.world.actor(name) for name in ACTORS}
        pks = self.shared.world.pks
        last: dict[int, str] = {}
        for username, action, subject_id, before_text, after_text in records:
            if subject_id is None:  # an expiry run that expired nothing
                assert action == Operation.EXEMPTION_EXPIRE.value
                continue
            rid = int(subject_id)
            after = json.loads(after_text or "{}")
            before = json.loads(before_text or "{}")
            actor: Actor = SYSTEM if username == SYSTEM.username else actors[username]
            operation = Operation(action)
            if actor is not SYSTEM:
                assert could_ever(actor, operation), f"{username} made {action} on {rid}"
            else:
                assert operation is Operation.EXEMPTION_EXPIRE, f"system made {action}"
            if operation is Operation.EXEMPTION_REQUEST:
                assert rid not in last and after["status"] == S.SUBMITTED.value
                last[rid] = after["status"]
                continue
            if operation not in (Operation.EXEMPTION_READ, Operation.EXEMPTION_READ_MEDICAL):
                move = MOVES[action]
                assert before["status"] == last[rid], f"request {rid} skipped a state"
                legal = TRANSITIONS[S(before["status"])].get(move, frozenset())
                assert S(after["status"]) in legal, f"request {rid}: {before} -> {after}"
                last[rid] = after["status"]
            if operation is Operation.EXEMPTION_CERTIFY:
                request = self.model[rid]
                assert username != request.filed_by, f"{username} certified their filing"
                assert actor.employee_pk != pks[request.employee], f"{username} self-approved"
        assert last == {rid: m.status.value for rid, m in self.model.items()}

    def teardown(self) -> None:
        with self.shared.engine.begin() as conn:
            for table in (MedicalDocumentRow, MedicalRecordRow, ExemptionCertification):
                conn.execute(delete(table))
            conn.execute(update(ExemptionRequest).values(renewal_of_id=None))
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
    REACHED.clear()
    machine.TestCase().runTest()
    moves = ["file", "renew", "withdraw", "revoke", "expire"]
    moves = [*moves, *(f"{m} refused" for m in [*moves, "certify"])]
    moves += ["certify approve", "certify deny", "approved"]
    missing = [m for m in moves if not REACHED[m]]
    assert not missing, f"the runs never reached {missing}: {dict(REACHED)}"
    print(f"T05: {runs} runs x 30 steps: {dict(sorted(REACHED.items()))}")
