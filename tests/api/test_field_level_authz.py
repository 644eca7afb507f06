"""RELIABILITY T03 ``field_level_authz``: what a caller may set, and what a caller is told,
field by field (OWASP API3, broken object property level authorisation).

(a) Writes. Every request body of the OpenAPI document of ``create_app()`` (JSON and
multipart) and every form of the dashboard, sent by every role (and anonymously) on an
object the role may change where it has one, with the fields of a valid request (the
recipes of tests/api/route_recipes.py) plus fields nobody may set that way: ``status``,
``approved_by``, ``org_unit_id``, ``role``, ``agency_id`` and ``employee_id`` of someone
in another department (a field the body really has keeps its valid value: choosing whom a
request is about is the route matrix's business, T01/T02). The database is read before
and after every request. A JSON body with a field it does not declare is refused (422)
and changes nothing; a form ignores what it does not declare, so the change it makes is
compared with the change the same form makes without the extra fields, on a fresh copy
of the world: they must be the same, row for row.

(b) Reads. Every GET route of the API as every role on objects of every relation (and
the medical request of each owner besides), its JSON keys against the per-role allowlist
in tests/field_allowlist.yaml, written from docs/access.md and docs/exemptions.md.

Pass figure: 0 unauthorised field changes (every JSON body refuses unknown fields, and
no extra form field changes anything); 0 keys outside the allowlist; 0 medical keys or
medical category names in any answer to a role other than the RA coordinator. CI sends
the extra fields together; ``DUTYSTATION_TEST_PROFILE=nightly`` also one at a time.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml
from matrix_world import Server, matrix_world, server
from route_answers import (
    FULL,
    RELATIONS_OF,
    Call,
    app_routes,
    caller_of,
    load_table,
    object_id,
    send,
)
from route_recipes import RECIPES

from api_world import World
from dutystation.api.app import create_app
from dutystation.domain.access import Role

__all__ = ["matrix_world", "server"]

NIGHTLY = os.environ.get("DUTYSTATION_TEST_PROFILE") == "nightly"
ALLOWLIST = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "field_allowlist.yaml").read_text(encoding="utf-8")
)
ROLES = [role.value for role in Role]
CALLERS = [*ROLES, "anonymous"]
WRITES = {"POST", "PUT", "PATCH"}
# Fields nobody sets through a body that does not declare them. ``org_unit_id`` is filled
# in with the database id of the other department's team.
EXTRAS: dict[str, Any] = {
    "status": "approved",
    "approved_by": "admin",
    "org_unit_id": None,
    "role": "agency_admin",
    "agency_id": "DEPT2",
    "employee_id": "X1",
}
# Bookkeeping a request may touch whatever it is: when a token or a session was last used.
BOOKKEEPING = {"last_used_at", "last_seen_at"}
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:?\d{2}|Z)?")
_HASHED = re.compile(r"hash|secret|csrf|nonce|sealed|cipher", re.IGNORECASE)
_HEX = re.compile(r"\b[0-9a-f]{32,}\b")  # a session's id, a content address
_BATCH = re.compile(r"\b\d{8}T\d{6}Z-[0-9a-f]+\b")  # an import's id: time and random
# Numbering that depends on what the copy saw before (refused attempts are audited too).
_SEQUENCE = {"_rowid", "seq"}


# --- the database before and after ----------------------------------------------------------

Rows = dict[str, dict[Any, dict[str, Any]]]


def read_database(path: Path) -> Rows:
    """Every row of every table, by table and rowid."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        tables = [
            name
            for (name,) in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        found: Rows = {}
        for table in tables:
            rows = con.execute(f'SELECT rowid AS "_rowid", * FROM "{table}"').fetchall()
            found[table] = {row["_rowid"]: dict(row) for row in rows}
        return found
    finally:
        con.close()


def changes(before: Rows, after: Rows) -> list[tuple[str, str, dict[str, Any]]]:
    """(table, added|removed|changed, row) for every row that differs, bookkeeping apart."""
    found = []
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, {}), after.get(table, {})
        for key in sorted(set(old) | set(new), key=str):
            if key not in old:
                found.append((table, "added", new[key]))
            elif key not in new:
                found.append((table, "removed", old[key]))
            else:
                moved = {c for c in new[key] if new[key][c] != old[key].get(c)} - BOOKKEEPING
                if moved:
                    found.append((table, "changed", {c: new[key][c] for c in sorted(moved)}))
    return found


def _normal(column: str, value: Any) -> Any:
    """A value as two runs of the same request on two copies must agree on: times, hashes
    and sealed bytes differ from run to run by design."""
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if _HASHED.search(column):
        return "<hash>"
    if isinstance(value, str):
        return _HEX.sub("<hash>", _INSTANT.sub("<time>", _BATCH.sub("<batch>", value)))
    return value


def comparable(found: list[tuple[str, str, dict[str, Any]]]) -> Counter[str]:
    return Counter(
        f"{table} {how} "
        + repr(sorted((c, _normal(c, v)) for c, v in row.items() if c not in _SEQUENCE))
        for table, how, row in found
    )


def only_refusals(found: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    """The changes other than audit records of refused attempts."""
    return [
        f"{table} {how}: {row}"
        for table, how, row in found
        if not (table == "audit_record" and how == "added" and row.get("outcome") == "denied")
    ]


# --- (a) writes -----------------------------------------------------------------------------


def _schema(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return dict(document["components"]["schemas"][name])
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    return _schema(document, options[0]) if len(options) == 1 else schema


def request_bodies(app: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    """``METHOD path`` -> (media type, schema) of every request body in the document."""
    document = app.openapi()
    found = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody")
            if body:
                [(media, content)] = body["content"].items()
                found[f"{method.upper()} {path}"] = (media, _schema(document, content["schema"]))
    return found


def test_every_json_body_refuses_fields_it_does_not_declare(tmp_path: Path) -> None:
    bodies = request_bodies(create_app(World(tmp_path).settings()))
    json_bodies = {r: s for r, (media, s) in bodies.items() if media == "application/json"}
    assert len(json_bodies) >= 20
    open_ones = [r for r, s in json_bodies.items() if s.get("additionalProperties") is not False]
    assert not open_ones, f"bodies that would take any field: {open_ones}"
    forms = sorted(r for r, (media, _) in bodies.items() if media != "application/json")
    assert set(forms) <= set(FORMS), f"forms without a case in FORMS: {forms}"


def relation_for(case: dict[str, Any], key: str) -> str:
    """A relation on which ``key`` may act on this route, else one it may not."""
    if case["object"] == "none":
        return "none"
    relations = RELATIONS_OF.get(case["object"], FULL)
    ok = case.get("ok", {})
    allowed = ok.get(key, []) if isinstance(ok, dict) else []
    for relation in (*allowed, "own_subtree", "shared", "self"):
        if relation in relations:
            return str(relation)
    return str(relations[0])


def calls_for(server: Server, route: str, key: str) -> Iterable[tuple[Call, str]]:
    """The recipe's call for ``key`` on each object kind the route is tested with."""
    for case in load_table()[route]:
        kind = case["object"]
        caller = caller_of(server.world, key)
        relation = relation_for(case, key)
        value = "" if kind == "none" else object_id(server.world, kind, relation, caller)
        if value is not None:
            yield RECIPES[(route, kind)](caller, value), relation


def extras_sets(body: dict[str, Any], other_unit: int) -> list[dict[str, Any]]:
    extra = {k: (other_unit if v is None else v) for k, v in EXTRAS.items() if k not in body}
    together = [extra]
    return together + ([{k: v} for k, v in extra.items()] if NIGHTLY else [])


def other_unit_id(server: Server) -> int:
    con = sqlite3.connect(server.world.data_dir / "dutystation.sqlite3")
    try:
        (found,) = con.execute("SELECT id FROM org_unit WHERE code = 'TEAM-X1'").fetchone()
        return int(found)
    finally:
        con.close()


def database_of(server: Server) -> Path:
    assert server.app is not None
    return Path(server.app.state.runtime.settings.data_dir) / "dutystation.sqlite3"


@pytest.mark.slow
def test_unknown_fields_in_json_bodies_change_nothing_for_any_role(server: Server) -> None:
    assert server.app is not None
    bodies = request_bodies(server.app)
    other = other_unit_id(server)
    failures: list[str] = []
    sent = 0
    for route, (media, _) in sorted(bodies.items()):
        if media != "application/json":
            continue
        for key in CALLERS:
            for call, relation in calls_for(server, route, key):
                body = dict(call.json or {})
                for extra in extras_sets(body, other):
                    before = read_database(database_of(server))
                    answer = send(server, key, Call(**{**call.__dict__, "json": body | extra}))
                    found = changes(before, read_database(database_of(server)))
                    sent += 1
                    where = f"{route} as {key} on {relation} with {sorted(extra)}"
                    if answer.status_code not in (401, 422):
                        failures.append(f"{where}: {answer.status_code} {answer.text[:120]}")
                    if found:
                        failures.append(f"{where}: changed {found[:3]}")
                        server.reset()
    print(f"{sent} JSON requests with extra fields")
    assert sent > 200
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:30])


# Every form: the API's multipart bodies and the dashboard's forms (recipes' routes).
FORMS = [
    "POST /api/v1/exemptions",
    "POST /api/v1/exemptions/{request_id}/renewals",
    "POST /api/v1/imports/{kind}",
    "POST /me/requests",
    "POST /requests/{request_id}/certify",
    "POST /requests/{request_id}/withdraw",
    "POST /login",
    "POST /logout",
]


def _with_form_extras(call: Call, extra: dict[str, Any]) -> Call:
    data = dict(call.data or {})
    return Call(**{**call.__dict__, "data": data | {k: str(v) for k, v in extra.items()}})


@pytest.mark.slow
def test_unknown_form_fields_change_nothing_for_any_role(server: Server) -> None:
    other = other_unit_id(server)
    failures: list[str] = []
    compared = refused = 0
    for route in FORMS:
        for key in CALLERS:
            for call, relation in calls_for(server, route, key):
                for extra in extras_sets(dict(call.data or {}), other):
                    where = f"{route} as {key} on {relation} with {sorted(extra)}"
                    before = read_database(database_of(server))
                    answer = send(server, key, _with_form_extras(call, extra))
                    with_extras = changes(before, read_database(database_of(server)))
                    if not only_refusals(with_extras):
                        refused += 1  # nothing stored but the refusal's audit record
                        continue
                    server.reset()
                    before = read_database(database_of(server))
                    plain = send(server, key, call)
                    without = changes(before, read_database(database_of(server)))
                    server.reset()
                    compared += 1
                    if plain.status_code != answer.status_code:
                        failures.append(f"{where}: {answer.status_code}, {plain.status_code} bare")
                    differ = comparable(with_extras) - comparable(without)
                    differ += comparable(without) - comparable(with_extras)
                    if differ:
                        failures.append(f"{where}: the extra fields changed {list(differ)[:3]}")
    print(f"{compared} forms compared with and without extra fields, {refused} refused")
    assert compared >= 10
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:30])


# --- (b) reads ------------------------------------------------------------------------------


def key_paths(value: Any, prefix: str = "") -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            path = re.sub(r"data-[0-9a-f]{16,}", "data-*", path)
            if ".vega_lite." in path and ".datasets." not in path:
                continue  # the chart's presentation, not data
            found.add(path)
            found |= key_paths(inner, path)
    elif isinstance(value, list):
        for inner in value:
            found |= key_paths(inner, f"{prefix}[]")
    return found


def allowed(path: str, patterns: Iterable[str]) -> bool:
    for pattern in patterns:
        if path == pattern or (pattern.endswith(".*") and path.startswith(pattern[:-1])):
            return True
    return False


def allowlist_for(route: str, kind: str, role: str) -> list[str]:
    entry = ALLOWLIST["routes"][route]
    entry = entry.get("objects", {}).get(kind, entry)
    return [*entry.get("keys", []), *entry.get("roles", {}).get(role, [])]


def medical_findings(answer: Any, role: str, kind: str, paths: set[str]) -> list[str]:
    if role in ALLOWLIST["medical_readers"]:
        return []
    found = [p for p in paths if p.rsplit(".", 1)[-1] in ALLOWLIST["medical_only_keys"]]
    if kind == "medical":
        found += [p for p in paths if p in ALLOWLIST["medical_request_keys"]]
    found += [v for v in ALLOWLIST["medical_values"] if v in answer.text]
    return found


@pytest.mark.slow
def test_every_read_answers_only_allowlisted_keys(server: Server) -> None:
    assert server.app is not None
    table = load_table()
    failures: list[str] = []
    checked: Counter[str] = Counter()
    for route in app_routes(server.app):
        if not route.startswith("GET /api/") or route in ALLOWLIST["not_json"]:
            continue
        if route not in ALLOWLIST["routes"]:
            failures.append(f"{route}: no entry in field_allowlist.yaml")
            continue
        cases = [(c["object"], RECIPES[(route, c["object"])]) for c in table[route]]
        if route == "GET /api/v1/exemptions/{request_id}":
            cases.append(("medical", cases[0][1]))  # the same call on a medical request
        for kind, make in cases:
            for role in ROLES:
                caller = caller_of(server.world, role)
                for relation in RELATIONS_OF.get(kind, FULL):
                    value = (
                        "" if kind == "none" else object_id(server.world, kind, relation, caller)
                    )
                    if value is None:
                        continue
                    answer = send(server, role, make(caller, value))
                    if answer.headers.get("content-type", "").split(";")[0] != "application/json":
                        continue
                    if not 200 <= answer.status_code < 300:
                        continue
                    paths = key_paths(answer.json())
                    checked[role] += 1
                    where = f"{route} [{kind}] as {role} on {relation}"
                    patterns = allowlist_for(route, kind, role)
                    extra = sorted(p for p in paths if not allowed(p, patterns))
                    if extra:
                        failures.append(f"{where}: keys outside the allowlist {extra}")
                    medical = medical_findings(answer, role, kind, paths)
                    if medical:
                        failures.append(f"{where}: medical content {medical}")
    print(f"answers checked per role: {dict(checked)}")
    assert checked["ra_coordinator"] and checked["supervisor"] and checked["tmo"]
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:40])


def test_the_ra_coordinator_is_answered_the_medical_keys(server: Server) -> None:
    """The control of the medical check: the keys do exist, for the one role allowed."""
    caller = caller_of(server.world, "ra_coordinator")
    request_id = server.world.medical["W2"]
    view = RECIPES[("GET /api/v1/exemptions/{request_id}", "submitted")]
    answer = send(server, "ra_coordinator", view(caller, str(request_id)))
    assert answer.status_code == 200, answer.text
    assert {"category", "justification", "medical_documents"} <= set(answer.json())
    for role in ("supervisor", "tmo", "hr", "leader", "certifying_official", "auditor"):
        seen = send(server, role, view(caller_of(server.world, role), str(request_id)))
        assert seen.status_code == 200, (role, seen.text)
        assert not {"category", "justification", "medical_documents", "medical_notes"} & set(
            seen.json()
        ), role
