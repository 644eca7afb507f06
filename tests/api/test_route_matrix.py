"""RELIABILITY T01 ``authz_matrix``: every route of the app (the API under /api/v1 and the
dashboard pages, as ``app.routes`` lists them) × every role × every object relation,
against the expected outcomes of tests/authz_matrix.yaml, which is written from the
documentation, not the code.

Pass figure: 0 unexpected 2xx/3xx-to-content, 0 missing expected 2xx, 100 % of routes
in the table (a new route without an entry fails the suite); every refusal of an object
the caller may not see is exactly the answer for an id nobody has; no answer names a
person outside the caller's scope. A request that changed something is followed by a
fresh copy of the world, so each case starts from the same state.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from matrix_world import Server, matrix_world, server
from route_answers import (
    FULL,
    RELATIONS_OF,
    TABLE,
    allowed_changes,
    app_routes,
    caller_of,
    foreign_people,
    load_table,
    object_id,
    outcome,
    send,
    shape,
)
from route_recipes import RECIPES

from api_world import World
from dutystation.api.app import create_app
from dutystation.domain.access import Role

__all__ = ["matrix_world", "server"]

ROLES = [role.value for role in Role]
CALLERS = [*ROLES, "anonymous"]
SAFE = {"GET", "HEAD"}


def expected(case: dict[str, Any], key: str, relation: str, page: bool) -> str:
    if key == "anonymous":
        return str(case.get("anonymous", "login" if page else "401"))
    special = case.get("special", {}).get(key, {})
    if relation in special:
        return str(special[relation])
    if key in case.get("forbidden", []):
        return "403"
    if key in case.get("hidden", []):
        return "404"
    allowed = case["ok"]
    if case["object"] == "none":
        return "ok"
    return "ok" if relation in allowed[key] else "404"


def test_every_route_of_the_app_is_in_the_table(tmp_path: Path) -> None:
    table = load_table()
    routes = app_routes(create_app(World(tmp_path).settings()))
    assert len(routes) > 80
    missing = [route for route in routes if route not in table]
    assert not missing, f"routes without an entry in {TABLE.name}: {missing}"
    stale = [route for route in table if route not in routes]
    assert not stale, f"entries for routes the app does not have: {stale}"
    for route, cases in table.items():
        kinds = [case["object"] for case in cases]
        assert len(kinds) == len(set(kinds)), route
        for case in cases:
            assert (route, case["object"]) in RECIPES, f"no recipe for {route} on {case['object']}"
            ok = case.get("ok", [])
            listed = [*ok, *case.get("forbidden", []), *case.get("hidden", [])]
            assert sorted(listed) == sorted(ROLES), f"{route} ({case['object']}): {listed}"
            relations = RELATIONS_OF.get(case["object"], FULL)
            if isinstance(ok, dict):
                assert all(set(r) <= set(relations) for r in ok.values()), route


@pytest.mark.slow
def test_every_route_answers_every_role_as_the_table_says(server: Server) -> None:
    table = load_table()
    assert server.app is not None
    routes = app_routes(server.app)
    failures: list[str] = []
    requests = 0
    started = time.monotonic()
    for route in routes:
        for case in table[route]:
            kind = case["object"]
            make = RECIPES[(route, kind)]
            for key in CALLERS:
                caller = caller_of(server.world, key)
                refusals: dict[str, dict[str, tuple[int, str, str]]] = {}
                for relation in RELATIONS_OF.get(kind, FULL):
                    value = (
                        "" if kind == "none" else object_id(server.world, kind, relation, caller)
                    )
                    if value is None:
                        continue
                    call = make(caller, value)
                    changes = allowed_changes(server) if call.method not in SAFE else 0
                    answer = send(server, key, call)
                    requests += 1
                    got = outcome(answer)
                    label = expected(case, key, relation, call.page)
                    want = label.split()[0]  # "404 no document": a 404 of its own kind
                    where = f"{route} [{kind}] as {key} on {relation} ({value})"
                    if got != want:
                        failures.append(f"{where}: expected {want}, got {got}: {answer.text[:160]}")
                    leaked = foreign_people(answer, key, call.ids)
                    if leaked:
                        failures.append(f"{where}: the answer names {leaked}")
                    if call.method not in SAFE and got not in ("401", "403", "404", "login"):
                        server.reset()  # it changed something (or may have)
                    elif call.method not in SAFE and allowed_changes(server) != changes:
                        failures.append(f"{where}: refused ({got}), but something was changed")
                        server.reset()
                    if want in ("403", "404"):
                        refusals.setdefault(label, {})[relation] = shape(
                            answer, call.ids, caller.username
                        )
                for label, answers in refusals.items():
                    first = answers.pop("missing", None) or answers.pop(next(iter(answers)))
                    for relation, refused in answers.items():
                        if refused != first:
                            failures.append(
                                f"{route} [{kind}] as {key}: {relation} answers {label} unlike a "
                                f"missing id: {refused} != {first}"
                            )
    elapsed = time.monotonic() - started
    print(f"{requests} requests, {server.copies} copies of the world, {elapsed:.1f} s")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)
