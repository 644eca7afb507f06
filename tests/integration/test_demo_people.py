"""The demo's people and workflow (services/demo_people.py), on SQLite and PostgreSQL: an
account per role that can act, requests in the states the demo promises, the reports
showing them, scopes that hold, medical text for the RA coordinator only, an intact audit
trail, and a second run that makes nothing new."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from dutystation.bootstrap import Runtime, bootstrap
from dutystation.domain.access import Actor, Grant, Role
from dutystation.errors import NotFound
from dutystation.services.accounts import bootstrap_admin, load_actor
from dutystation.services.audit_verify import verify_trail
from dutystation.services.demo import DemoResult, run_demo
from dutystation.services.demo_people import (
    GOVERNMENT_WIDE_ORDER,
    USERNAMES,
    DemoPeople,
    make_demo_people,
)
from dutystation.services.evaluate import EvaluationRequest, decoded, evaluate
from dutystation.services.exemption_records import REQUESTS
from dutystation.services.exemption_views import list_requests, show_request
from dutystation.services.login import authenticate
from dutystation.services.notice_scope import OUTBOX, RECIPIENTS
from dutystation.settings import Settings
from dutystation.store.db import make_engine, migrate
from dutystation.store.schema import Employee, EmployeeAssignment, OrgUnit
from dutystation.store.schema_access import AppUser
from dutystation.store.schema_audit import AuditRecord
from pg_scratch import _maintenance_engine, _postgres_url

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("demo-people")]
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
EMPLOYEES = 1_000  # the smallest demo


def _settings(folder: Path, database_url: str | None) -> Settings:
    # The low Argon2 cost is the tests' choice, through the settings (the demo keeps the
    # configured cost).
    return Settings(
        data_dir=folder,
        database_url=database_url,
        password_hash_memory_kib=1024,
        password_hash_time_cost=1,
    )


@pytest.fixture(scope="module", params=BACKENDS)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Runtime, DemoResult]]:
    folder = tmp_path_factory.mktemp("demo-people") / "data"
    admin, name, url = None, None, None
    if request.param == "postgres":
        base = _postgres_url()
        name = f"dutystation_test_{uuid.uuid4().hex[:16]}"
        admin = _maintenance_engine(base)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
        engine = make_engine(url)
        migrate(engine)  # a server database is migrated explicitly (bootstrap.py)
        engine.dispose()
    settings = _settings(folder, url)
    try:
        result = run_demo(settings, employees=EMPLOYEES)
        runtime = bootstrap(settings)
        yield runtime, result
        runtime.engine.dispose()
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def _people(demo: tuple[Runtime, DemoResult]) -> DemoPeople:
    people = demo[1].people
    assert people is not None
    return people


def _actor(runtime: Runtime, username: str) -> Actor:
    with runtime.engine.connect() as conn:
        return load_actor(conn, username)


def _employee_id(runtime: Runtime, username: str) -> str:
    with runtime.engine.connect() as conn:
        found = conn.scalar(
            select(Employee.employee_id)
            .join(AppUser, AppUser.employee_pk == Employee.id)
            .where(AppUser.username == username)
        )
    assert found is not None
    return found


def _request_row(runtime: Runtime, request_id: int) -> dict[str, object]:
    with runtime.engine.connect() as conn:
        row = conn.execute(select(REQUESTS).where(REQUESTS.c.id == request_id)).one()
    return dict(row._mapping)


def test_every_demo_user_exists_with_its_role_and_can_act_and_sign_in(
    demo: tuple[Runtime, DemoResult],
) -> None:
    runtime, _ = demo
    people = _people(demo)
    assert people.created
    leader = _actor(runtime, "leader")
    component = leader.grants[0].scope
    assert component is not None and component.startswith("DEA-")
    expected = {
        "admin": {Grant(Role.AGENCY_ADMIN)},
        "hr": {Grant(Role.HR)},
        "tmo": {Grant(Role.TMO)},
        "head": {Grant(Role.CERTIFYING_OFFICIAL)},
        "ra": {Grant(Role.RA_COORDINATOR)},
        "auditor": {Grant(Role.AUDITOR)},
        "leader": {Grant(Role.LEADER, component)},
        "supervisor": {Grant(Role.SUPERVISOR), Grant(Role.EMPLOYEE)},
        "employee": {Grant(Role.EMPLOYEE)},
        "employee2": {Grant(Role.EMPLOYEE)},
    }
    assert set(USERNAMES) == set(expected)
    for username, grants in expected.items():
        actor = _actor(runtime, username)
        assert set(actor.grants) == grants, username
        linked = username in ("supervisor", "employee", "employee2")
        assert (actor.employee_pk is not None) == linked, username
    # The password the demo prints signs every account in (the web, later).
    assert len(people.password) >= runtime.settings.password_min_length
    signed_in = authenticate(runtime.engine, "employee", people.password, settings=runtime.settings)
    assert signed_in.username == "employee"
    shown = {u.username: u for u in people.users}
    assert shown["supervisor"].scope == f"reports of {_employee_id(runtime, 'supervisor')}"
    assert shown["leader"].scope == component
    assert shown["auditor"].example == "dutystation audit verify --as auditor"
    assert (
        shown["ra"].example == f"dutystation exemptions show {people.requests['medical']} --as ra"
    )


def test_the_supervisor_is_the_roster_supervisor_of_both_employees_in_the_leaders_component(
    demo: tuple[Runtime, DemoResult],
) -> None:
    runtime, _ = demo
    boss = _actor(runtime, "supervisor").employee_pk
    leader_scope = _actor(runtime, "leader").grants[0].scope
    a = EmployeeAssignment
    with runtime.engine.connect() as conn:
        for username in ("employee", "employee2"):
            pk = _actor(runtime, username).employee_pk
            supervisor_pk, unit = conn.execute(
                select(a.supervisor_pk, OrgUnit.code)
                .join(OrgUnit, OrgUnit.id == a.org_unit_id)
                .where(a.employee_pk == pk, a.effective_to.is_(None))
            ).one()
            assert supervisor_pk == boss
            assert unit.startswith(f"{leader_scope}-")


def test_the_demo_requests_are_in_the_states_it_promises(
    demo: tuple[Runtime, DemoResult],
) -> None:
    runtime, _ = demo
    ids = _people(demo).requests
    approved = _request_row(runtime, ids["approved"])
    assert approved["status"] == "approved"
    assert approved["directive_ref"] == GOVERNMENT_WIDE_ORDER  # filed before the memo
    assert approved["filed_by"] == "employee"
    assert (approved["approved_start"], approved["approved_end"]) == (
        date(2025, 1, 21),
        date(2025, 3, 14),
    )
    denied = _request_row(runtime, ids["denied"])
    assert denied["status"] == "denied" and denied["filed_by"] == "supervisor"
    medical = _request_row(runtime, ids["medical"])
    assert medical["status"] == "submitted" and medical["category_group"] == "medical_disability"
    assert medical["justification"] is None  # sealed in the medical store
    pending = _request_row(runtime, ids["pending"])
    assert pending["status"] == "submitted" and pending["category"] == "lack_of_office_space"

    head = _actor(runtime, "head")
    certs = show_request(runtime, head, ids["approved"])["certifications"]
    assert {(c["certifier"], c["decision"], c["by"]) for c in certs} == {
        ("supervisor", "approve", "supervisor"),
        ("agency_head", "approve", "head"),
    }
    certs = show_request(runtime, head, ids["pending"])["certifications"]
    assert [(c["certifier"], c["by"]) for c in certs] == [("supervisor", "supervisor")]
    certs = show_request(runtime, head, ids["denied"])["certifications"]
    assert [(c["certifier"], c["decision"]) for c in certs] == [("component_head", "deny")]
    assert certs[0]["reason"]  # every decision has a reason


def test_the_reports_show_the_approved_request_exempt_and_the_open_ones_pending(
    demo: tuple[Runtime, DemoResult],
) -> None:
    runtime, _ = demo
    ids = _people(demo).requests
    people = {
        kind: str(show_request(runtime, _actor(runtime, "hr"), ids[kind])["employee_id"])
        for kind in ("approved", "pending", "medical")
    }
    week = EvaluationRequest(date(2025, 2, 24), date(2025, 3, 2), periods=("week",))
    rows = decoded(evaluate(runtime, week).employee_periods).to_pylist()
    status = {r["employee_id"]: r["status"] for r in rows if r["employee_id"] in people.values()}
    assert status == {
        people["approved"]: "exempt",
        people["pending"]: "pending_exemption",
        people["medical"]: "pending_exemption",
    }


def test_the_supervisor_sees_their_reports_requests_and_nothing_of_another_component(
    demo: tuple[Runtime, DemoResult],
) -> None:
    runtime, _ = demo
    ids = _people(demo).requests
    supervisor = _actor(runtime, "supervisor")
    seen = {r.id for r in list_requests(runtime, supervisor)}
    assert set(ids.values()) <= seen
    component = _actor(runtime, "leader").grants[0].scope
    with runtime.engine.connect() as conn:
        elsewhere = conn.scalar(
            select(func.min(REQUESTS.c.id))
            .join(EmployeeAssignment, EmployeeAssignment.employee_pk == REQUESTS.c.employee_pk)
            .join(OrgUnit, OrgUnit.id == EmployeeAssignment.org_unit_id)
            .where(
                EmployeeAssignment.effective_to.is_(None),
                OrgUnit.code.not_like(f"{component}%"),
            )
        )
    assert elsewhere is not None and elsewhere not in seen
    with pytest.raises(NotFound, match=f"^no exemption request {elsewhere}$"):
        show_request(runtime, supervisor, elsewhere)
    # The leader reads the team's requests, and the employee their own only.
    assert show_request(runtime, _actor(runtime, "leader"), ids["pending"])["status"] == (
        "submitted"
    )
    employee = _actor(runtime, "employee")
    assert show_request(runtime, employee, ids["approved"])["status"] == "approved"
    with pytest.raises(NotFound):
        show_request(runtime, employee, ids["pending"])


def test_only_the_ra_coordinator_reads_the_medical_justification_and_documents(
    demo: tuple[Runtime, DemoResult],
) -> None:
    runtime, _ = demo
    medical = _people(demo).requests["medical"]
    seen = show_request(runtime, _actor(runtime, "ra"), medical)
    assert "surgery" in str(seen["justification"])
    assert [d["file_name"] for d in seen["medical_documents"]] == ["clinician-letter.txt"]
    for username in ("supervisor", "head", "hr", "tmo", "leader", "auditor"):
        view = show_request(runtime, _actor(runtime, username), medical)
        assert "justification" not in view and "medical_documents" not in view, username
        assert "surgery" not in json.dumps(view, default=str), username
    with runtime.engine.connect() as conn:
        trail = " ".join(
            f"{before} {after}"
            for before, after in conn.execute(select(AuditRecord.before, AuditRecord.after))
        )
    assert "surgery" not in trail and "clinician-letter" not in trail
    assert runtime.settings.medical_dir.is_dir()


def test_the_announcement_waits_in_the_outbox_and_the_employee_acknowledged_it(
    demo: tuple[Runtime, DemoResult],
) -> None:
    runtime, _ = demo
    people = _people(demo)
    assert people.notice_id is not None
    employee_pk = _actor(runtime, "employee").employee_pk
    with runtime.engine.connect() as conn:
        statuses = set(
            conn.scalars(select(OUTBOX.c.status).where(OUTBOX.c.notice_id == people.notice_id))
        )
        acknowledged = conn.execute(
            select(RECIPIENTS.c.employee_pk).where(
                RECIPIENTS.c.notice_id == people.notice_id,
                RECIPIENTS.c.acknowledged_at.is_not(None),
            )
        ).all()
    assert statuses == {"pending"}
    assert people.mails_waiting > 0.9 * EMPLOYEES
    assert [row.employee_pk for row in acknowledged] == [employee_pk]


def test_the_audit_trail_of_the_demo_is_intact_and_names_who_acted(
    demo: tuple[Runtime, DemoResult],
) -> None:
    runtime, _ = demo
    result = verify_trail(runtime.engine, _actor(runtime, "auditor"))
    assert result.intact, result.sentence()
    with runtime.engine.connect() as conn:
        done = {(r[0], r[1]) for r in conn.execute(select(AuditRecord.actor, AuditRecord.action))}
    assert {
        ("system", "user.bootstrap"),
        ("admin", "user.create"),
        ("admin", "user.password"),
        ("employee", "exemption.request"),
        ("supervisor", "exemption.certify"),
        ("head", "exemption.certify"),
        ("leader", "exemption.certify"),
        ("tmo", "notice.send"),
        ("employee", "notice.acknowledge"),
    } <= done


def test_running_it_again_makes_nothing_new(demo: tuple[Runtime, DemoResult]) -> None:
    runtime, _ = demo
    first = _people(demo)
    with runtime.engine.connect() as conn:
        before = conn.scalar(select(func.count()).select_from(AuditRecord))
    again = make_demo_people(runtime)
    assert again is not None and not again.created
    assert (again.users, again.requests, again.notice_id) == (
        first.users,
        first.requests,
        first.notice_id,
    )
    with runtime.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(AuditRecord)) == before


def test_a_store_with_users_of_its_own_gets_no_demo_accounts(tmp_path: Path) -> None:
    runtime = bootstrap(_settings(tmp_path / "data", None))
    bootstrap_admin(runtime.engine, "root")
    assert make_demo_people(runtime) is None
    with runtime.engine.connect() as conn:
        assert conn.scalars(select(AppUser.username)).all() == ["root"]
