"""RELIABILITY T02 ``bola_id_substitution``: every route that takes an id (in its path, its
query or its body) is replayed as every role that may use it, with the ids of every object
that role may not see: neighbours (W3 is in the leader's component but not the
supervisor's team), other components, the other department, ids of another kind of
object, ids nobody has. Each answer must be exactly the answer for an id nobody has, and
no answer may name a person outside the caller's scope.

Who may see what is decided here from the org chart of the matrix world (tests/api/
matrix_world.py), not asked of the code: a person is visible to themselves, to their
supervisors, to grants over a unit above them and to whole-organisation grants.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from matrix_world import (
    NEW_ACCOUNTS,
    SETUP_HR,
    UNIT_OF,
    MatrixWorld,
    Server,
    matrix_world,
    server,
)
from route_answers import (
    VISIBLE_PEOPLE,
    Call,
    Caller,
    caller_of,
    foreign_people,
    load_table,
    object_id,
    send,
    shape,
)
from route_recipes import API, RECIPES

__all__ = ["matrix_world", "server"]

COMP_A_UNITS = frozenset({"COMP-A", "TEAM-A1", "TEAM-A2"})
ALL_UNITS = frozenset({*UNIT_OF.values(), "DEPT", "DEPT2"})
WHOLE = frozenset({"auditor", "agency_admin"})
# The units a role may see: those of its scope, and the ones on the way to them or to the
# caller's own unit (a filter by DEPT finds the caller's part of it).
VISIBLE_UNITS = {
    "employee": frozenset({"TEAM-A1", "COMP-A", "DEPT"}),
    "supervisor": frozenset({"TEAM-A1", "COMP-A", "DEPT"}),
    **dict.fromkeys(
        ("leader", "certifying_official", "tmo", "hr", "ra_coordinator"), COMP_A_UNITS | {"DEPT"}
    ),
    **dict.fromkeys(WHOLE, ALL_UNITS),
}
NUMERIC = ("submitted", "medical", "approved", "token", "grievance", "plan", "notice")
LARGEST = str(2**31 - 1)
# Ids of another kind of object, for the kinds named by text.
OTHER_KINDS = {
    "employee": ["COMP-B", "DEPT2", "b1", SETUP_HR],
    "unlinked_employee": ["COMP-B", "b1"],
    "account": ["COMP-B", "W3", "DEPT2"],
    "org_unit": ["B1", "X1", "b1", "EEU-L1"],
    "agreement": ["COMP-A", "W1", "EEU-L1"],
}
Owner = tuple[str, Any]  # ("person", id), ("unit", code), ("account", name), ...


def inventory(world: MatrixWorld) -> dict[str, list[tuple[str, Owner]]]:
    """Every object of the matrix world, by kind, with what makes it visible."""
    requests = [
        (str(number), ("person", owner))
        for found in (world.submitted, world.medical, world.approved)
        for owner, number in found.items()
    ]
    requests.append((str(world.neighbour_request), ("person", "W3")))
    recipients = {
        "TEAM-A2": {"W3", "MGR2"},
        "COMP-A": {"DIR", "MGR1", "W1", "W2"},
        "COMP-B": {"BMGR", "B1", "B2"},
        "DEPT2": {"XMGR", "X1", "X2"},
    }
    accounts = [*(u.username for u in world.users.values()), *NEW_ACCOUNTS, SETUP_HR]
    return {
        "employee": [(p, ("person", p)) for p in UNIT_OF],
        "unlinked_employee": [(p, ("person", p)) for p in UNIT_OF],
        "account": [(name, ("account", name)) for name in accounts],
        "token": [(str(n), ("account", name)) for n, name in world.all_tokens.items()],
        **dict.fromkeys(("submitted", "medical", "approved"), requests),
        "org_unit": [(code, ("unit", code)) for code in sorted(ALL_UNITS)],
        "grievance": [(str(n), ("unit", unit)) for unit, n in world.grievances.items()],
        "plan": [(str(n), ("unit", unit)) for unit, n in world.plans.items()],
        "notice": [(str(n), ("recipients", recipients[u])) for u, n in world.notices.items()],
        "agreement": [("EEU-L1-2023", ("shared", None))],
    }


def linked_employee(world: MatrixWorld, username: str) -> str | None:
    for user in world.users.values():
        if user.username == username:
            return user.employee_id
    return NEW_ACCOUNTS.get(username)


def visible(world: MatrixWorld, caller: Caller, owner: Owner) -> bool:
    kind, value = owner
    key = caller.key
    if kind == "person":
        return bool(value in VISIBLE_PEOPLE[key])
    if kind == "unit":
        return value in VISIBLE_UNITS[key]
    if kind == "account":
        if value == caller.username:
            return True
        linked = linked_employee(world, value)
        return linked in VISIBLE_PEOPLE[key] if linked else key in WHOLE
    if kind == "recipients":
        return caller.employee_id in value
    return True  # shared


def substitutes(
    world: MatrixWorld, objects: dict[str, list[tuple[str, Owner]]], kind: str, caller: Caller
) -> list[str]:
    """The ids of ``kind`` the caller may not see, ids of other kinds, ids nobody has."""
    seen = {number for number, owner in objects[kind] if visible(world, caller, owner)}
    found = [number for number, owner in objects[kind] if number not in seen]
    if kind in NUMERIC:
        others = {n for other in NUMERIC for n, _ in objects[other]}
        found += sorted(others - {n for n, _ in objects[kind]}, key=int)
        found.append(LARGEST)
    else:
        found += OTHER_KINDS.get(kind, [])
    return list(dict.fromkeys(n for n in found if n not in seen))


# Ids in query filters and in bodies that the expectation table does not list as a route's
# object: (route, kind, who may use it, recipe).
LIST_READERS = ["employee", "supervisor", "leader", "certifying_official", "tmo", "hr",
                "ra_coordinator", "auditor"]  # fmt: skip
GRIEVANCE_READERS = ["leader", "certifying_official", "tmo", "hr", "auditor"]
Extra = tuple[str, str, list[str], Callable[[Caller, str, MatrixWorld], Call]]
EXTRA_IDS: list[Extra] = [
    (
        "GET /api/v1/exemptions?employee=",
        "employee",
        LIST_READERS,
        lambda c, v, w: Call("GET", f"{API}/exemptions", params={"employee": v}, ids=(v,)),
    ),
    (
        "GET /api/v1/exemptions?org_unit=",
        "org_unit",
        LIST_READERS,
        lambda c, v, w: Call("GET", f"{API}/exemptions", params={"org_unit": v}, ids=(v,)),
    ),
    (
        "GET /api/v1/grievances?org_unit=",
        "org_unit",
        GRIEVANCE_READERS,
        lambda c, v, w: Call("GET", f"{API}/grievances", params={"org_unit": v}, ids=(v,)),
    ),
    (
        "POST /api/v1/grievances/{own}/employees",
        "employee",
        ["hr"],
        lambda c, v, w: Call(
            "POST",
            f"{API}/grievances/{w.grievances['COMP-A']}/employees",
            json={"employees": [v]},
            ids=(v,),
        ),
    ),
    (
        "POST /api/v1/grievances (employees)",
        "employee",
        ["hr"],
        lambda c, v, w: Call(
            "POST",
            f"{API}/grievances",
            json={
                "agreement": "EEU-L1-2023",
                "component": "COMP-A",
                "filed_on": "2025-02-10",
                "subject": "matrix",
                "employees": [v],
            },
            ids=(v,),
        ),
    ),
]


def replays(world: MatrixWorld) -> Iterable[tuple[str, str, list[str], Callable[..., Call]]]:
    """Every route with an id, the kind of id, the roles that may use it, and its recipe."""
    for route, cases in load_table().items():
        for case in cases:
            if case["object"] == "none" or not isinstance(case.get("ok"), dict):
                continue
            make = RECIPES[(route, case["object"])]
            yield route, case["object"], sorted(case["ok"]), lambda c, v, w, m=make: m(c, v)
    yield from EXTRA_IDS


@pytest.mark.slow
def test_ids_a_role_may_not_see_answer_exactly_like_ids_nobody_has(server: Server) -> None:
    world = server.world
    objects = inventory(world)
    failures: list[str] = []
    requests = 0
    started = time.monotonic()
    for route, kind, roles, make in replays(world):
        for key in roles:
            caller = caller_of(world, key)
            missing_id = object_id(
                world, kind if kind in objects else "employee", "missing", caller
            )
            assert missing_id is not None
            asked = make(caller, missing_id, world)
            unknown = send(server, key, asked)
            expected = shape(unknown, (missing_id,), caller.username)
            if unknown.status_code < 400 and asked.method != "GET":
                server.reset()
            for value in substitutes(world, objects, kind, caller):
                call = make(caller, value, world)
                answer = send(server, key, call)
                requests += 1
                where = f"{route} as {key} with {value}"
                got = shape(answer, (value,), caller.username)
                if got != expected:
                    failures.append(
                        f"{where}: {got[:2]} {got[2][:200]} != {expected[:2]} {expected[2][:200]}"
                    )
                leaked = foreign_people(answer, key, (value,))
                if leaked:
                    failures.append(f"{where}: the answer names {leaked}")
                if answer.status_code < 400 and call.method != "GET":
                    server.reset()
    elapsed = time.monotonic() - started
    print(f"{requests} substitutions, {server.copies} copies of the world, {elapsed:.1f} s")
    assert requests > 500
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)


def test_the_body_scan_finds_a_person_outside_the_scope(server: Server) -> None:
    """The scan the two tests rely on is not blind: B1's own status, read by the auditor,
    names B1 (and her name), which would be a leak to the COMP-A leader."""
    answer = send(server, "auditor", Call("GET", f"{API}/status/employees/B1"))
    assert answer.status_code == 200
    assert foreign_people(answer, "auditor") == []
    assert foreign_people(answer, "leader") == ["B1"]
    assert foreign_people(answer, "leader", asked=("B1",)) == ["B1"]  # the name still counts
