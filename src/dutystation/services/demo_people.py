"""The demo's people and workflow: after the imports, ``dutystation demo`` makes one account
per role and a handful of exemption requests and decisions through the very services a
user calls (accounts, roles, passwords, requests, certifications, notices), each audited,
so every role has something to see and something to try (docs/demo.md).

The accounts share one password, printed by the demo and meant for the demo only. The
supervisor is a real person of the roster: the supervisor with the most direct reports in
a component the department memo binds (ties: the lower HR id) that has four reports who
still telework and have no request on file, two of them outside any hybrid-schedule
agreement (met agreement terms would read before a pending request). Requests and
decisions are dated inside the evidence window (filing and decision days are what the
compliance engine reads), so the reports show the approved one ``exempt`` and the open
ones ``pending_exemption``. The announcement of the government-wide order is made as the CLI
makes it, today; its mails wait in the outbox, since the demo has no mail server.

Running the demo again on the same data dir makes nothing new: the accounts exist, and
``describe_demo_people`` reads back what the first run made.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from dutystation.bootstrap import Runtime
from dutystation.domain.access import Actor, Grant, Role
from dutystation.errors import DutystationError
from dutystation.policy_files import load_directives
from dutystation.services.account_rows import employee_id_of, grants_of
from dutystation.services.accounts import (
    bootstrap_admin,
    create_user,
    load_actor,
    set_password,
    user_count,
)
from dutystation.services.demo_requests import file_requests
from dutystation.services.evaluate import policies_dir
from dutystation.services.exemption_records import REQUESTS
from dutystation.services.notice_scope import NOTICES, OUTBOX, org_chains
from dutystation.services.notices import acknowledge, send_announcement
from dutystation.store.schema import Employee, EmployeeAssignment, OrgUnit
from dutystation.store.schema_access import AppUser
from dutystation.store.schema_agreements import AgreementClause, agreement_unit
from dutystation.synthetic.timeline import WINDOW_START

# Long enough for the default policy (15 characters); lengthened for a stricter setting.
DEMO_PASSWORD = "demo-only-password"  # noqa: S105 (printed by the demo, on purpose)
GOVERNMENT_WIDE_ORDER = "US-RTO-2025@1"
WHOLE_ORGANISATION = "whole organisation"
STILL_AWAY = ("telework", "remote")  # the people who would ask for an exemption
_STAFF: tuple[tuple[str, Role, str], ...] = (
    ("hr", Role.HR, "Demo HR specialist"),
    ("tmo", Role.TMO, "Demo telework managing officer"),
    ("head", Role.CERTIFYING_OFFICIAL, "Demo agency head (certifying official)"),
    ("ra", Role.RA_COORDINATOR, "Demo reasonable-accommodation coordinator"),
    ("auditor", Role.AUDITOR, "Demo auditor"),
)
USERNAMES = ("admin", *(n for n, _, _ in _STAFF), "leader", "supervisor", "employee", "employee2")


@dataclass(frozen=True)
class DemoUser:
    username: str
    roles: str  # "supervisor, employee"
    scope: str  # "whole organisation", an org-unit code, "reports of 00000690", "self (...)"
    example: str  # a command worth trying as this user


@dataclass(frozen=True)
class DemoPeople:
    users: tuple[DemoUser, ...]
    password: str
    requests: dict[str, int]  # approved, pending, medical, denied -> request id
    notice_id: int | None
    mails_waiting: int
    created: bool  # False: the accounts existed already (an earlier run made them)


@dataclass(frozen=True, order=True)
class _Person:
    employee_id: str  # first: people sort by HR id
    pk: int
    name: str
    component: str
    arrangement: str
    supervisor_pk: int | None
    bargaining_unit: str | None
    since: date


@dataclass(frozen=True)
class _Team:
    supervisor: _Person
    reports: tuple[_Person, ...]  # employee, employee2, medical, denied


def demo_password(min_length: int) -> str:
    text = DEMO_PASSWORD
    while len(text) < min_length:
        text += "-demo"
    return text


def make_demo_people(runtime: Runtime) -> DemoPeople | None:
    """Make the demo's accounts, requests, decisions and announcement on a store without
    users; on a store whose users are the demo's, describe them; None when the store holds
    other users (the demo then leaves accounts alone)."""
    with runtime.engine.connect() as conn:
        if user_count(conn) > 0:
            return describe_demo_people(runtime)
        team = _pick_team(conn, runtime)
    actors = _create_users(runtime, team)
    file_requests(runtime, actors, [p.employee_id for p in team.reports])
    _announce(runtime, actors)
    described = describe_demo_people(runtime, created=True)
    assert described is not None  # the accounts were just made
    return described


# --- choosing the team ------------------------------------------------------------------


def _pick_team(conn: Connection, runtime: Runtime) -> _Team:
    today = date.today()
    chains = org_chains(conn)
    not_bound = {
        entry.org_unit
        for directive in load_directives(policies_dir(runtime), known_org_units=set(chains))
        for entry in directive.scope.not_bound
    }
    a = EmployeeAssignment
    rows = conn.execute(
        select(
            Employee.id,
            Employee.employee_id,
            Employee.name,
            OrgUnit.code,
            a.arrangement,
            a.supervisor_pk,
            a.bargaining_unit,
        )
        .join(a, a.employee_pk == Employee.id)
        .join(OrgUnit, OrgUnit.id == a.org_unit_id)
        .where(
            Employee.active,
            a.effective_from <= today,
            or_(a.effective_to.is_(None), a.effective_to > today),
        )
    ).all()
    first_days = select(a.employee_pk, func.min(a.effective_from)).group_by(a.employee_pk)
    since: dict[int, date] = {row[0]: row[1] for row in conn.execute(first_days)}
    with_requests = set(conn.scalars(select(REQUESTS.c.employee_pk).distinct()))
    people: dict[int, _Person] = {}
    for pk, hr_id, name, unit, arrangement, supervisor, unit_bu in rows:
        chain = chains.get(unit, (unit,))
        if not not_bound.intersection(chain):  # the department memo binds them
            component = chain[1] if len(chain) > 1 else chain[0]
            people[pk] = _Person(
                hr_id, pk, name, component, arrangement, supervisor, unit_bu, since[pk]
            )
    teams: dict[int, list[_Person]] = defaultdict(list)
    for person in people.values():
        boss = people.get(person.supervisor_pk) if person.supervisor_pk is not None else None
        if boss is not None and boss.component == person.component:
            teams[boss.pk].append(person)
    ranked = sorted(teams, key=lambda pk: (-len(teams[pk]), people[pk].employee_id))
    hybrid = set(
        conn.scalars(
            select(agreement_unit.c.bargaining_unit)
            .join(AgreementClause, AgreementClause.agreement_id == agreement_unit.c.agreement_id)
            .distinct()
        )
    )
    for pk in ranked:
        eligible = sorted(
            p
            for p in teams[pk]
            if p.arrangement in STILL_AWAY and p.since <= WINDOW_START and p.pk not in with_requests
        )
        # The two requests left open need people no hybrid agreement covers: its terms,
        # when met, come before a pending request in the status (docs/directives.md).
        open_ = [p for p in eligible if p.bargaining_unit not in hybrid][:2]
        others = [p for p in eligible if p not in open_][:2]
        if len(open_) == 2 and len(others) == 2:
            return _Team(people[pk], (others[0], open_[0], open_[1], others[1]))
    raise DutystationError(
        "the demo roster has no supervisor with four teleworking reports to file exemption "
        "requests; try another --seed"
    )


# --- accounts ---------------------------------------------------------------------------


def _create_users(runtime: Runtime, team: _Team) -> dict[str, Actor]:
    """The bootstrap administrator, then everyone else created by them, then the
    passwords. Every step is a service call, audited like a user's."""
    engine, settings = runtime.engine, runtime.settings
    bootstrap_admin(engine, "admin", display_name="Demo administrator")
    admin = _actor(runtime, "admin")
    boss, (first, second, _, _) = team.supervisor, team.reports
    component = boss.component
    accounts: list[tuple[str, str, str | None, tuple[Grant, ...]]] = [
        (name, title, None, (Grant(role),)) for name, role, title in _STAFF
    ]
    accounts += [
        ("leader", f"Demo leader of {component}", None, (Grant(Role.LEADER, component),)),
        ("supervisor", boss.name, boss.employee_id, (Grant(Role.SUPERVISOR), Grant(Role.EMPLOYEE))),
        ("employee", first.name, first.employee_id, (Grant(Role.EMPLOYEE),)),
        ("employee2", second.name, second.employee_id, (Grant(Role.EMPLOYEE),)),
    ]
    for username, title, employee_id, grants in accounts:
        create_user(
            engine, admin, username, display_name=title, employee_id=employee_id, grants=grants
        )
    # One Argon2 hash per account at the configured cost: most of the time this step adds.
    password = demo_password(settings.password_min_length)
    for username in USERNAMES:
        set_password(engine, admin, username, password, settings=settings)
    return {name: _actor(runtime, name) for name in USERNAMES}


def _actor(runtime: Runtime, username: str) -> Actor:
    with runtime.engine.connect() as conn:
        return load_actor(conn, username)


# --- the announcement ---------------------------------------------------------------------


def _announce(runtime: Runtime, actors: dict[str, Actor]) -> None:
    """The TMO announces the government-wide order as ``notices send --no-deliver`` does
    (today's roster, no mail sent), and the employee acknowledges it."""
    with runtime.engine.connect() as conn:
        units = set(org_chains(conn))
    directives = load_directives(policies_dir(runtime), known_org_units=units)
    sent = send_announcement(
        runtime.engine, actors["tmo"], GOVERNMENT_WIDE_ORDER, directives=directives
    )
    if sent.notice_id is not None:
        acknowledge(runtime.engine, actors["employee"], sent.notice_id)


# --- what the demo made, read back ----------------------------------------------------------

_EXAMPLES = {
    "admin": "dutystation users list --as admin",
    "hr": "dutystation exemptions list --status submitted --as hr",
    "tmo": f"dutystation notices status {GOVERNMENT_WIDE_ORDER} --as tmo",
    "head": "dutystation exemptions show {approved} --as head",
    "ra": "dutystation exemptions show {medical} --as ra",
    "auditor": "dutystation audit verify --as auditor",
    "leader": "dutystation exemptions show {pending} --as leader",
    "supervisor": "dutystation exemptions list --as supervisor",
    "employee": "dutystation notices mine --as employee",
    "employee2": "dutystation exemptions show {pending} --as employee2",
}


def describe_demo_people(runtime: Runtime, *, created: bool = False) -> DemoPeople | None:
    """The demo's accounts, requests and announcement as stored; None unless every demo
    account exists."""
    with runtime.engine.connect() as conn:
        rows = {
            r.username: r
            for r in conn.execute(select(AppUser).where(AppUser.username.in_(USERNAMES)))
        }
        if len(rows) != len(USERNAMES):
            return None
        requests = _demo_requests(conn)
        users = tuple(
            _user(
                name,
                grants_of(conn, rows[name].id),
                employee_id_of(conn, rows[name].employee_pk),
                requests,
            )
            for name in USERNAMES
        )
        notice_id = conn.scalar(
            select(func.min(NOTICES.c.id)).where(
                NOTICES.c.directive_ref == GOVERNMENT_WIDE_ORDER,
                NOTICES.c.kind == "announcement",
                NOTICES.c.created_by == "tmo",
            )
        )
        waiting = conn.scalar(
            select(func.count())
            .select_from(OUTBOX)
            .where(and_(OUTBOX.c.notice_id == notice_id, OUTBOX.c.status == "pending"))
        )
    password = demo_password(runtime.settings.password_min_length)
    return DemoPeople(users, password, requests, notice_id, int(waiting or 0), created)


def _demo_requests(conn: Connection) -> dict[str, int]:
    """The first request of each kind the demo files, by who filed it."""
    found: dict[str, int] = {}
    query = (
        select(REQUESTS.c.id, REQUESTS.c.filed_by, REQUESTS.c.category_group)
        .where(REQUESTS.c.filed_by.in_(("employee", "employee2", "supervisor")))
        .order_by(REQUESTS.c.id)
    )
    for request_id, filed_by, group in conn.execute(query):
        kind = {
            ("employee", "compelling_reason"): "approved",
            ("employee2", "lack_of_office_space"): "pending",
            ("supervisor", "medical_disability"): "medical",
            ("supervisor", "compelling_reason"): "denied",
        }.get((filed_by, group))
        if kind is not None:
            found.setdefault(kind, request_id)
    return found


def _user(
    name: str, grants: tuple[Grant, ...], employee_id: str | None, requests: dict[str, Any]
) -> DemoUser:
    # The role that gives the account its purpose first (a supervisor is an employee too).
    ordered = sorted(grants, key=lambda g: g.role is Role.EMPLOYEE)
    main = ordered[0] if ordered else None
    if main is None:
        scope = "no roles"
    elif main.role is Role.SUPERVISOR:
        scope = f"reports of {employee_id}"
    elif main.role is Role.EMPLOYEE:
        scope = f"self ({employee_id})"
    else:
        scope = main.scope or WHOLE_ORGANISATION
    template = _EXAMPLES[name]
    ids = {k: requests.get(k, "N") for k in ("approved", "pending", "medical", "denied")}
    return DemoUser(name, ", ".join(g.role.value for g in ordered), scope, template.format(**ids))
