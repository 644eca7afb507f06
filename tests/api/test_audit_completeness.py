"""RELIABILITY T07 ``audit_completeness``: every state-changing route of the app (each
``POST``/``PUT``/``PATCH``/``DELETE`` that ``app.routes`` lists, API and dashboard) and
every read of a sensitive record (a medical request's view by the RA coordinator, every
document download) writes exactly one record to the audit trail per call, allowed or
refused by policy (403, and 404 for an object out of scope or missing).

Calls are made on the matrix world (tests/api/matrix_world.py) with the recipes of the
authorisation matrix (tests/api/route_recipes.py) and its table (tests/authz_matrix.yaml).

The AU-3 elements of each record, as the trail stores them (docs/audit.md):

    what     ``action`` (the operation)
    when     ``at``, in UTC: between the client's UTC clock before and after the call
    where    ``subject_type`` (and ``subject_id`` when the route names an object)
    source   ``channel``: ``api`` for the API, ``web`` for the dashboard
    outcome  ``outcome``: ``allowed`` for a 2xx, ``denied`` for a 403/404 by policy
    who      ``actor`` and ``actor_user_id``: the caller's account

Pass figures: 100 % of the routes emit; each record has all six elements, ``at`` in UTC;
0 records with a personal field outside the allowlist (names, e-mail addresses, homes,
medical text, file names, secrets) or a seeded name, address or secret in their values;
100 % of the 403/404 by policy recorded.

Each route is called as the first role the table allows, and as every role with each
refusal the table gives it (forbidden, out of scope, missing).

Counted apart: the Privacy Act ledger's ``disclosure.record`` written beside a document
read by someone other than its subject (docs/privacy.md; at most one, checked for PII);
runs over many objects (expiry, reminders) write one record per object they change, and
one when a second call right after changes nothing. Signing in writes two records by
design (``login``, then ``session.start``: checked on its own below). The client's
network address is not in the trail: AU-3 "source" is the channel.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from matrix_world import NAMES, MatrixWorld, Server, matrix_world, server
from route_answers import (
    FULL,
    RELATIONS_OF,
    Call,
    app_routes,
    caller_of,
    load_table,
    object_id,
    outcome,
    send,
)
from route_recipes import RECIPES
from sqlalchemy import func, select

from api_world import password_of
from dutystation.api.deps import SESSION_COOKIE
from dutystation.store.schema_access import AppUser
from dutystation.store.schema_audit import AuditRecord
from dutystation.web.auth import CSRF_COOKIE

__all__ = ["matrix_world", "server"]

API = "/api/v1"
CHANGING = ("POST", "PUT", "PATCH", "DELETE")
SIGN_IN = {f"POST {API}/auth/login", "POST /login"}
SIGN_OUT = {f"POST {API}/auth/logout", "POST /logout"}
# Reads of records that are sensitive (docs/exemptions.md): their every call is audited.
DOCUMENTS = [f"GET {API}/exemptions/{{request_id}}/documents/{{position}}"]
DOCUMENTS += ["GET /requests/{request_id}/documents/{position}"]
MEDICAL_VIEWS = [f"GET {API}/exemptions/{{request_id}}", "GET /requests/{request_id}"]
# Personal fields no record may carry in clear (AU-3(3), RELIABILITY C9). Ids (employee
# id, username, the store's keys) are the allowlisted way to name a person.
PII_KEYS = frozenset(
    {
        "employee_name",
        "display_name",
        "full_name",
        "email",
        "mail",
        "address",
        "home_address",
        "home_zip",
        "home_latitude",
        "home_longitude",
        "date_of_birth",
        "dob",
        "ssn",
        "phone",
        "justification",
        "diagnosis",
        "limitations",
        "file_name",
        "filename",
        "document_name",
        "password",
        "current_password",
        "password_hash",
        "secret",
        "token",
        "token_hash",
        "csrf_token",
    }
)
REDACTED = "[redacted]"
# Routes that change many objects in one call write one record per object they change,
# and one when they changed nothing (a second call right after the first).
BATCH = {f"POST {API}/exemptions/expire", f"POST {API}/notices/reminders"}
AGAIN = BATCH | {f"POST {API}/notices/send"}
# The Privacy Act disclosure ledger's own tamper-evidence record (docs/privacy.md): written
# beside the access's record when someone else reads a person's document.
LEDGER = "disclosure.record"


@dataclass(frozen=True)
class Scenario:
    route: str
    kind: str
    key: str  # the caller's role key
    relation: str
    want: str  # ok, 403 or 404

    def __str__(self) -> str:
        return f"{self.route} [{self.kind}] as {self.key} on {self.relation} (expect {self.want})"


def expected(case: dict[str, Any], key: str, relation: str) -> str:
    """What tests/authz_matrix.yaml says ``key`` gets on an object in ``relation``."""
    special = case.get("special", {}).get(key, {})
    if relation in special:
        return str(special[relation]).split()[0]
    if key in case.get("forbidden", []):
        return "403"
    if key in case.get("hidden", []):
        return "404"
    if case["object"] == "none":
        return "ok"
    return "ok" if relation in case["ok"][key] else "404"


def scenarios(world: MatrixWorld, route: str, case: dict[str, Any]) -> Iterator[Scenario]:
    """One allowed call (the first role the table allows), and for every role each kind
    of refusal the table gives it: forbidden (403), an object out of its scope (404) and
    one that does not exist (404)."""
    kind = case["object"]
    seen: set[tuple[str, str]] = set()
    keys = [*case.get("ok", []), *case.get("forbidden", []), *case.get("hidden", [])]
    for key in sorted(keys):
        caller = caller_of(world, key)
        for relation in RELATIONS_OF.get(kind, FULL):
            value = "" if kind == "none" else object_id(world, kind, relation, caller)
            if value is None:
                continue
            want = expected(case, key, relation)
            slot = (key, want)
            if want == "ok":
                slot = ("", "ok")
            elif want == "404":
                slot = (key, "missing" if relation == "missing" else "hidden")
            if want in ("ok", "403", "404") and slot not in seen:
                seen.add(slot)
                yield Scenario(route, kind, key, relation, want)


def last_seq(server: Server) -> int:
    assert server.app is not None
    with server.app.state.runtime.engine.connect() as conn:
        return int(conn.scalar(select(func.max(AuditRecord.seq))) or 0)


def records_after(server: Server, seq: int) -> list[dict[str, Any]]:
    assert server.app is not None
    with server.app.state.runtime.engine.connect() as conn:
        rows = conn.execute(
            select(AuditRecord.__table__).where(AuditRecord.seq > seq).order_by(AuditRecord.seq)
        ).all()
    return [dict(r._mapping) for r in rows]


def user_ids(server: Server) -> dict[str, int]:
    assert server.app is not None
    with server.app.state.runtime.engine.connect() as conn:
        return {str(n): int(i) for n, i in conn.execute(select(AppUser.username, AppUser.id))}


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; the column is UTC by contract."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def secrets_of(world: MatrixWorld) -> list[str]:
    """Values no record may contain: names, e-mail addresses, passwords, tokens."""
    found = [*NAMES.values(), "@example.gov"]
    for user in world.users.values():
        found += [password_of(user.username), user.token]
    found += [s[SESSION_COOKIE] for s in world.sessions.values()]
    found += [s[CSRF_COOKIE] for s in world.sessions.values()]
    return found


def pii_problems(record: dict[str, Any], secrets: list[str]) -> list[str]:
    problems: list[str] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if k in PII_KEYS and v not in (None, REDACTED):
                    problems.append(f"{path}.{k} in clear")
                walk(v, f"{path}.{k}")
        elif isinstance(value, list):
            for n, v in enumerate(value):
                walk(v, f"{path}[{n}]")

    for side in ("before", "after"):
        text = record[side]
        if text is None:
            continue
        walk(json.loads(text), side)
        problems += [f"{side} contains {s[:12]!r}" for s in secrets if s and s in text]
    return problems


def au3_problems(
    record: dict[str, Any],
    route: str,
    call: Call,
    username: str,
    user_id: int,
    want: str,
    window: Any,
) -> list[str]:
    problems = []
    if not record["action"]:
        problems.append("no action (what)")
    started, ended = window
    at = as_utc(record["at"])
    if not started - timedelta(seconds=1) <= at <= ended + timedelta(seconds=1):
        problems.append(f"at {record['at']} is not the UTC time of the call (when)")
    if not record["subject_type"]:
        problems.append("no subject_type (where)")
    if "{" in route and not record["subject_id"]:
        problems.append("no subject_id for a call on an object in the path (where)")
    channel = "web" if call.page else "api"
    if record["channel"] != channel:
        problems.append(f"channel {record['channel']!r}, expected {channel!r} (source)")
    outcome_wanted = "allowed" if want == "ok" else "denied"
    if record["outcome"] != outcome_wanted:
        problems.append(f"outcome {record['outcome']!r}, expected {outcome_wanted!r}")
    if record["actor"] != username or record["actor_user_id"] != user_id:
        problems.append(f"actor {record['actor']!r}/{record['actor_user_id']} (who)")
    return problems


def check_one(
    server: Server, scenario: Scenario, make: Any, ids: dict[str, int], secrets: list[str]
) -> list[str]:
    """Make the scenario's call; the problems with what the trail got for it."""
    world = server.world
    caller = caller_of(world, scenario.key)
    value = (
        ""
        if scenario.kind == "none"
        else object_id(world, scenario.kind, scenario.relation, caller)
    )
    assert value is not None
    call: Call = make(caller, value)
    assert caller.username is not None
    username = caller.username
    problems: list[str] = []
    rounds = 2 if scenario.route in AGAIN and scenario.want == "ok" else 1
    for round_ in range(rounds):
        before = last_seq(server)
        started = datetime.now(UTC).replace(microsecond=0)
        answer = send(server, scenario.key, call)
        ended = datetime.now(UTC)
        got = outcome(answer)
        if got != scenario.want:
            return [f"{scenario}: answered {got}, not {scenario.want}: {answer.text[:120]}"]
        made = records_after(server, before)
        ledger = [r for r in made if r["action"] == LEDGER]
        made = [r for r in made if r["action"] != LEDGER]
        many = scenario.route in BATCH and scenario.want == "ok" and round_ == 0
        if len(ledger) > 1 or (len(made) != 1 and not (many and made)):
            actions = [(r["action"], r["outcome"]) for r in [*made, *ledger]]
            what = "at least" if many else "exactly"
            problems.append(f"{scenario}: {len(made)} audit records {actions}, expected {what} 1")
            continue
        if len({r["action"] for r in made}) > 1:
            problems.append(f"{scenario}: records of several actions {[r['action'] for r in made]}")
        window = (started, ended)
        for record in made:
            found = au3_problems(
                record, scenario.route, call, username, ids[username], scenario.want, window
            )
            found += pii_problems(record, secrets)
            problems += [f"{scenario}: {p} in {record['action']}" for p in found]
        problems += [
            f"{scenario}: {p} in {LEDGER}" for r in ledger for p in pii_problems(r, secrets)
        ]
    if call.method in CHANGING and scenario.want == "ok":
        server.reset()
    return problems


@pytest.mark.slow
def test_every_change_and_sensitive_read_writes_one_complete_record(server: Server) -> None:
    assert server.app is not None
    table = load_table()
    routes = app_routes(server.app)
    changing = [r for r in routes if r.split()[0] in CHANGING and r not in SIGN_IN | SIGN_OUT]
    covered: dict[str, set[str]] = {}
    failures: list[str] = []
    ids = user_ids(server)
    secrets = secrets_of(server.world)
    calls = 0
    for route in [*changing, *DOCUMENTS]:
        for case in table[route]:
            make = RECIPES[(route, case["object"])]
            for scenario in scenarios(server.world, route, case):
                failures += check_one(server, scenario, make, ids, secrets)
                covered.setdefault(route, set()).add(scenario.want)
                calls += 1
    for route in MEDICAL_VIEWS:  # the RA coordinator reads a medical request
        make = RECIPES[(route, "submitted")]
        medical = Scenario(route, "medical", "ra_coordinator", "own_subtree", "ok")
        failures += check_one(server, medical, make, ids, secrets)
        covered.setdefault(route, set()).add("ok")
        calls += 1
    missing = [r for r in [*changing, *DOCUMENTS, *MEDICAL_VIEWS] if "ok" not in covered.get(r, ())]
    assert not missing, f"routes without an allowed call: {missing}"
    denied = sum(1 for c in covered.values() if c & {"403", "404"})
    print(f"T07: {calls} calls over {len(covered)} routes ({denied} with refusals)")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)


@pytest.mark.parametrize("channel", ["api", "web"])
def test_signing_in_and_out_is_recorded(server: Server, channel: str) -> None:
    """A sign-in writes ``login`` and ``session.start`` (two events: the authentication,
    then the session it opens), a failed one a denied ``login`` naming no password;
    signing out writes ``session.end``. API and dashboard alike, each as its channel."""
    assert server.app is not None
    user = server.world.users["employee"]
    client = server.client(f"sign-in-{channel}", "page")
    before = last_seq(server)
    if channel == "api":
        wrong = client.post(
            f"{API}/auth/login", json={"username": user.username, "password": "nope-nope-nope"}
        )
        right = client.post(
            f"{API}/auth/login", json={"username": user.username, "password": user.password}
        )
        assert (wrong.status_code, right.status_code) == (401, 200)
        csrf = right.json()["csrf_token"]
        out = client.post(f"{API}/auth/logout", headers={"X-CSRF-Token": csrf})
        assert out.status_code == 204
    else:
        form = {"username": user.username, "password": "nope-nope-nope"}
        wrong = client.post("/login", data=form, follow_redirects=False)
        form["password"] = user.password
        right = client.post("/login", data=form, follow_redirects=False)
        assert (wrong.status_code, right.status_code) == (401, 303)
        csrf = client.cookies[CSRF_COOKIE]
        out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
        assert out.status_code == 303
    made = records_after(server, before)
    got = [(r["action"], r["outcome"], r["actor"], r["channel"]) for r in made]
    assert got == [
        ("login", "denied", "anonymous", channel),
        ("login", "allowed", user.username, channel),
        ("session.start", "allowed", user.username, channel),
        ("session.end", "allowed", user.username, channel),
    ]
    for record in made:
        assert record["subject_type"] == "user" and record["subject_id"] == user.username
        assert not pii_problems(record, [*secrets_of(server.world), "nope-nope-nope", csrf])
