"""What the route-level authorisation tests (test_route_matrix.py, test_bola.py) share
besides the recipes: the expected-outcome table, the callers, the objects of the matrix
world by relation to a caller and by owner, who may see whom, and how an answer is
judged: its outcome, its shape with the ids blanked out (a refusal must look exactly like
the answer for a missing id), and the people it names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from area_world import AGREEMENT
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from matrix_world import NAMES, UNIT_OF, UNITS_OF_RELATION, MatrixWorld, Server
from sqlalchemy import func, select

from dutystation.store.schema_audit import AuditRecord
from dutystation.web.auth import CSRF_COOKIE

TABLE = Path(__file__).resolve().parents[1] / "authz_matrix.yaml"
FULL = ("self", "own_subtree", "other_subtree", "other_department", "missing")
RELATIONS_OF = {
    "none": ("none",),
    "agreement": ("shared", "missing"),
    **dict.fromkeys(
        ("org_unit", "grievance", "plan", "unlinked_employee"),
        ("own_subtree", "other_subtree", "other_department", "missing"),
    ),
}
MISSING_NUMBER = 99_999
# Whose people each role's user may see (tests/authz_matrix.yaml header): the oracle of the
# body scan. An id or name of anyone else in an answer is a leak.
COMP_A_PEOPLE = frozenset(
    p for p, unit in UNIT_OF.items() if unit in {"COMP-A", "TEAM-A1", "TEAM-A2"}
)
EVERYONE = frozenset(UNIT_OF)
VISIBLE_PEOPLE: dict[str, frozenset[str]] = {
    "anonymous": frozenset(),
    "employee": frozenset({"W1"}),
    "supervisor": frozenset({"MGR1", "W1", "W2"}),
    "leader": COMP_A_PEOPLE,
    "certifying_official": COMP_A_PEOPLE,
    "tmo": COMP_A_PEOPLE,
    "hr": COMP_A_PEOPLE,
    "ra_coordinator": COMP_A_PEOPLE,
    "auditor": EVERYONE,
    "agency_admin": EVERYONE,
}
TEXT_TYPES = ("application/json", "application/problem+json", "text/", "application/jsonl")


@dataclass(frozen=True)
class Caller:
    key: str  # a role, or "anonymous"
    username: str | None
    employee_id: str | None
    csrf: str


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    page: bool = False  # dashboard: the browser session instead of the API token
    params: dict[str, Any] | None = None
    json: Any = None
    data: dict[str, Any] | None = None
    files: list[Any] | None = None
    ids: tuple[str, ...] = field(default=())  # what to blank out when comparing bodies


# --- objects ---------------------------------------------------------------------------------

OWNER_OF_RELATION = {"own_subtree": "W2", "other_subtree": "B1", "other_department": "X1"}
UNLINKED = {"own_subtree": "W3", "other_subtree": "B2", "other_department": "X2"}
ACCOUNT_OF_RELATION = {"own_subtree": "w2", "other_subtree": "b1", "other_department": "x1"}
NOTICE_OF_RELATION = {
    "own_subtree": "TEAM-A2",
    "other_subtree": "COMP-B",
    "other_department": "DEPT2",
}
MISSING = {
    "employee": "NOBODY9",
    "unlinked_employee": "NOBODY9",
    "account": "nobody9",
    "org_unit": "NOWHERE9",
    "agreement": "NO-SUCH-AGREEMENT",
}


def object_id(world: MatrixWorld, kind: str, relation: str, caller: Caller) -> str | None:
    """The id of the object of ``kind`` in ``relation`` to the caller; None when the caller
    has no such object (no "self" for an account without an employee record)."""
    if relation == "missing":
        return MISSING.get(kind, str(MISSING_NUMBER))
    if kind == "agreement":
        return AGREEMENT["code"] if relation == "shared" else None
    if relation == "shared":
        return None
    owner = caller.employee_id if relation == "self" else OWNER_OF_RELATION[relation]
    if kind == "employee":
        return owner
    if kind == "unlinked_employee":
        return UNLINKED.get(relation)
    if kind in ("account", "token"):
        username = caller.username if relation == "self" else ACCOUNT_OF_RELATION[relation]
        if username is None:
            return None
        return username if kind == "account" else str(world.spare_tokens[username])
    if kind in ("submitted", "medical", "approved"):
        found = getattr(world, kind).get(owner) if owner else None
        return None if found is None else str(found)
    if relation == "self":
        if kind == "notice" and owner is not None and UNIT_OF[owner] in {"COMP-A", "TEAM-A1"}:
            return str(world.notices["COMP-A"])
        return None
    unit = UNITS_OF_RELATION[relation]
    if kind == "org_unit":
        return unit
    if kind == "grievance":
        return str(world.grievances[unit])
    if kind == "plan":
        return str(world.plans[unit])
    if kind == "notice":
        return str(world.notices[NOTICE_OF_RELATION[relation]])
    raise AssertionError(f"no object kind {kind!r}")


# --- answers ---------------------------------------------------------------------------------


def outcome(answer: Any) -> str:
    """ok, login (sent to the sign-in page), or the status code."""
    status: int = answer.status_code
    if 300 <= status < 400 and answer.headers.get("location", "").startswith("/login?next="):
        return "login"
    if 200 <= status < 400:
        return "ok"
    return str(status)


def _blank(text: str, ids: Iterable[str], me: str | None) -> str:
    if me:
        text = re.sub(rf"(?<![\w-]){re.escape(me)}(?![\w-])", "{me}", text)
    for value in ids:
        text = re.sub(rf"(?<![\w-]){re.escape(value)}(?![\w-])", "{id}", text)
    return text


def shape(answer: Any, ids: Iterable[str], me: str | None = None) -> tuple[int, str, str]:
    """Status, type and body with ``instance`` (the path), the caller's username and the
    ids blanked out: what a refusal and the answer for a missing id must share."""
    kind = answer.headers.get("content-type", "")
    if "json" in kind:
        body = answer.json()
        if isinstance(body, dict):
            body.pop("instance", None)
        text = json.dumps(body, sort_keys=True)
    else:
        text = answer.text
    return answer.status_code, kind, _blank(text, ids, me)


def foreign_people(answer: Any, caller_key: str, asked: Iterable[str] = ()) -> list[str]:
    """The ids and names of people the caller may not see that appear in a text body. An
    id the caller sent may come back ("no employee 'B1'"); their name may not."""
    kind = answer.headers.get("content-type", "")
    if not kind.startswith(TEXT_TYPES):
        return []
    text = answer.text
    found = []
    for person in EVERYONE - VISIBLE_PEOPLE[caller_key]:
        named = person not in asked and re.search(rf"(?<![\w-]){re.escape(person)}(?![\w-])", text)
        if named or NAMES[person] in text:
            found.append(person)
    return sorted(found)


def allowed_changes(server: Server) -> int:
    """Audit records of allowed actions: a refused request must not add one (every change
    the services make is audited in its own transaction)."""
    assert server.app is not None
    with server.app.state.runtime.engine.connect() as conn:
        where = AuditRecord.outcome == "allowed"
        return int(conn.scalar(select(func.count()).select_from(AuditRecord).where(where)) or 0)


def load_table() -> dict[str, list[dict[str, Any]]]:
    """tests/authz_matrix.yaml, each route's entry as a list of cases (one per object)."""
    raw = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    return {route: entry if isinstance(entry, list) else [entry] for route, entry in raw.items()}


def app_routes(app: FastAPI) -> list[str]:
    """``METHOD path`` of every route, mounted ones included (HEAD is GET's twin)."""
    found = []
    for context in iter_route_contexts(app.routes):
        for method in sorted((context.methods or {"GET"}) - {"HEAD"}):
            found.append(f"{method} {context.path_format}")
    return found


def caller_of(world: MatrixWorld, key: str) -> Caller:
    if key == "anonymous":
        return Caller(key, None, None, "")
    user = world.users[key]
    return Caller(key, user.username, user.employee_id, world.sessions[key][CSRF_COOKIE])


def send(server: Server, key: str, call: Call) -> Any:
    client = server.client(key, "page" if call.page else "api")
    return client.request(
        call.method,
        call.url,
        params=call.params,
        json=call.json,
        data=call.data,
        files=call.files,
        follow_redirects=False,
    )
