"""``authorize`` on real subjects, on SQLite and PostgreSQL: a small organisation with
supervisors two levels deep (access_builders). A subject out of scope answers exactly like
a missing one; an operation no role allows answers Forbidden."""

from __future__ import annotations

from datetime import date

import pytest
from access_builders import MISSING_PK, build_organisation, move
from sqlalchemy import Engine, insert

from dutystation.domain.access import Actor, Grant, Operation, Role
from dutystation.errors import Forbidden, NotFound
from dutystation.services.authorization import Subject, authorize
from dutystation.store.db import write_transaction
from dutystation.store.schema_access import AppUser

STATUS = Operation.STATUS_READ
CERTIFY = Operation.EXEMPTION_CERTIFY
MISSING = "no employee with that id"


@pytest.fixture
def org(engine: Engine) -> dict[str, int]:
    return build_organisation(engine)


def supervisor(org: dict[str, int], who: str, *extra: Grant) -> Actor:
    grants = (Grant(Role.SUPERVISOR), *extra)
    return Actor(user_id=None, username=who.lower(), grants=grants, employee_pk=org[who])


def may(engine: Engine, actor: Actor, operation: Operation, subject: Subject) -> bool:
    with engine.connect() as conn:
        try:
            authorize(conn, actor, operation, subject, not_found=MISSING)
        except NotFound as exc:
            assert str(exc) == MISSING
            return False
    return True


def person(org: dict[str, int], who: str) -> Subject:
    return Subject(employee_pk=org[who])


def test_employees_see_themselves_and_supervisors_their_reports_at_any_depth_only(
    engine: Engine, org: dict[str, int]
) -> None:
    w1 = Actor(user_id=None, username="w1", grants=(Grant(Role.EMPLOYEE),), employee_pk=org["W1"])
    assert may(engine, w1, STATUS, person(org, "W1"))
    assert not may(engine, w1, STATUS, person(org, "W2"))
    assert not may(engine, w1, STATUS, person(org, "MGR1"))
    director, manager = supervisor(org, "DIR"), supervisor(org, "MGR1")
    assert may(engine, manager, STATUS, person(org, "W1"))  # direct report
    assert may(engine, director, STATUS, person(org, "MGR1"))  # direct report
    assert may(engine, director, STATUS, person(org, "W1"))  # two levels down
    assert may(engine, director, STATUS, person(org, "W2"))
    assert not may(engine, manager, STATUS, person(org, "W2"))  # same component, other team
    assert not may(engine, manager, STATUS, person(org, "DIR"))  # their own boss
    assert not may(engine, director, STATUS, person(org, "B1"))  # other component


def test_a_scoped_role_covers_its_subtree_of_people_and_units_never_the_parent(
    engine: Engine, org: dict[str, int]
) -> None:
    tmo = Actor(user_id=None, username="tmo", grants=(Grant(Role.TMO, "COMP-A"),))
    assert may(engine, tmo, STATUS, person(org, "W2"))
    assert may(engine, tmo, STATUS, person(org, "DIR"))  # assigned to COMP-A itself
    assert not may(engine, tmo, STATUS, person(org, "B1"))
    assert not may(engine, tmo, STATUS, person(org, "BMGR"))
    leader = Actor(user_id=None, username="lead", grants=(Grant(Role.LEADER, "COMP-A"),))
    report = Operation.REPORT_READ
    assert may(engine, leader, report, Subject(org_unit="COMP-A"))
    assert may(engine, leader, report, Subject(org_unit="TEAM-A2"))
    assert not may(engine, leader, report, Subject(org_unit="COMP-B"))
    assert not may(engine, leader, report, Subject(org_unit="DEPT"))
    whole = Actor(user_id=None, username="head", grants=(Grant(Role.LEADER),))
    assert may(engine, whole, report, Subject(org_unit="DEPT"))
    # A supervisor's scope is people, never units.
    director = supervisor(org, "DIR")
    assert not may(engine, director, Operation.AGREEMENT_READ, Subject(org_unit="COMP-A"))


def test_forbidden_when_no_role_allows_it_and_the_same_not_found_for_out_of_scope_and_missing(
    engine: Engine, org: dict[str, int]
) -> None:
    director = supervisor(org, "DIR")
    with engine.connect() as conn, pytest.raises(Forbidden, match=r"may not report\.read"):
        authorize(conn, director, Operation.REPORT_READ, Subject(org_unit="COMP-A"))
    with engine.connect() as conn, pytest.raises(Forbidden):
        authorize(conn, director, Operation.IMPORT_RUN)
    tmo = Actor(user_id=None, username="tmo", grants=(Grant(Role.TMO, "COMP-A"),))
    answers = []
    for pk in (org["B1"], MISSING_PK):
        with engine.connect() as conn, pytest.raises(NotFound) as caught:
            authorize(conn, tmo, STATUS, Subject(employee_pk=pk), not_found=MISSING)
        answers.append((type(caught.value), str(caught.value)))
    assert answers[0] == answers[1] == (answers[0][0], MISSING)
    assert issubclass(answers[0][0], NotFound)


def test_a_supervisor_can_never_certify_for_themselves_whatever_else_they_hold(
    engine: Engine, org: dict[str, int]
) -> None:
    director = supervisor(org, "DIR", Grant(Role.TMO, "COMP-A"), Grant(Role.CERTIFYING_OFFICIAL))
    assert not may(engine, director, CERTIFY, person(org, "DIR"))
    assert may(engine, director, CERTIFY, person(org, "W1"))
    manager = supervisor(org, "MGR1")
    assert not may(engine, manager, CERTIFY, person(org, "MGR1"))


def test_scope_follows_the_roster_on_the_day_asked(engine: Engine, org: dict[str, int]) -> None:
    manager = supervisor(org, "MGR1")
    tmo_b = Actor(user_id=None, username="tmo-b", grants=(Grant(Role.TMO, "COMP-B"),))
    move(engine, org["W1"], "TEAM-B1", date(2025, 3, 1), supervisor_pk=org["BMGR"])
    with engine.connect() as conn:
        before, after = date(2025, 2, 28), date(2025, 3, 1)
        authorize(conn, manager, STATUS, person(org, "W1"), today=before)
        with pytest.raises(NotFound):
            authorize(conn, manager, STATUS, person(org, "W1"), today=after)
        authorize(conn, tmo_b, STATUS, person(org, "W1"), today=after)
        with pytest.raises(NotFound):
            authorize(conn, tmo_b, STATUS, person(org, "W1"), today=before)


def _account(engine: Engine, username: str, employee_pk: int | None) -> int:
    with write_transaction(engine) as conn:
        return int(
            conn.execute(
                insert(AppUser)
                .values(username=username, display_name=username, employee_pk=employee_pk,
                        active=True, failed_logins=0, created_at=date(2025, 1, 1))
                .returning(AppUser.id)
            ).scalar_one()
        )  # fmt: skip


def test_an_account_relates_like_its_employee_and_one_linked_to_nobody_needs_a_whole_org_grant(
    engine: Engine, org: dict[str, int]
) -> None:
    in_a, in_b, service = (
        _account(engine, "w2", org["W2"]),
        _account(engine, "b1", org["B1"]),
        _account(engine, "robot", None),
    )
    own = _account(engine, "admin-a", None)
    scoped = Actor(user_id=own, username="admin-a", grants=(Grant(Role.AGENCY_ADMIN, "COMP-A"),))
    whole = Actor(user_id=None, username="admin", grants=(Grant(Role.AGENCY_ADMIN),))
    manage = Operation.USER_MANAGE
    assert may(engine, scoped, manage, Subject(user_id=in_a))
    assert not may(engine, scoped, manage, Subject(user_id=in_b))
    assert not may(engine, scoped, manage, Subject(user_id=service))
    assert may(engine, whole, manage, Subject(user_id=service))
    # One's own account: self-service, never administration.
    assert not may(engine, scoped, manage, Subject(user_id=own))
    assert may(engine, scoped, Operation.ACCOUNT_SELF, Subject(user_id=own))
    assert not may(engine, scoped, Operation.ACCOUNT_SELF, Subject(user_id=in_a))
