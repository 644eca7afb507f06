"""How to call every route of the app on one object (test_route_matrix.py, test_bola.py):
one recipe per (route, object kind). A recipe gets the caller and the object's id and
returns the request (``Call``), valid in every other respect, so that a caller who may
act gets a 2xx and one who may not is refused for that reason alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from area_world import AGREEMENT, csv_bytes
from matrix_world import DIRECTIVE, EXTRA_UNITS
from route_answers import Call, Caller

from api_world import ORG_UNITS, password_of

NEW_PASSWORD = "a brand new passphrase for the matrix"

# --- recipes ---------------------------------------------------------------------------------

Recipe = Callable[[Caller, str], Call]
RECIPES: dict[tuple[str, str], Recipe] = {}


def recipe(route: str, kind: str = "none") -> Callable[[Recipe], Recipe]:
    def register(make: Recipe) -> Recipe:
        RECIPES[(route, kind)] = make
        return make

    return register


def simple(route: str, kind: str = "none", **extra: Any) -> None:
    """A request with the id put into the path and nothing else to say."""
    method, path = route.split(" ", 1)
    name = re.search(r"{(\w+)}", path)

    def make(caller: Caller, value: str) -> Call:
        url = path.replace("{" + name.group(1) + "}", value) if name else path
        page = not path.startswith("/api/")
        data = {"csrf_token": caller.csrf} if page and method == "POST" else None
        return Call(method, url, page=page, data=data, ids=(value,), **extra)

    RECIPES[(route, kind)] = make


API = "/api/v1"
simple(f"GET {API}/openapi.json")
RECIPES[("GET /static/{path}", "none")] = lambda caller, value: Call(
    "GET", "/static/css/dashboard.css"
)
simple(f"POST {API}/auth/logout")
simple(f"GET {API}/auth/me")
simple(f"GET {API}/auth/oidc/login")
simple(f"GET {API}/auth/oidc/callback")
simple(f"GET {API}/users")
simple(f"GET {API}/users/{{username}}", "account")
simple(f"POST {API}/users/{{username}}/lock", "account")
simple(f"POST {API}/users/{{username}}/unlock", "account")
simple(f"POST {API}/users/{{username}}/deactivate", "account")
simple(f"GET {API}/users/{{username}}/tokens", "account")
simple(f"DELETE {API}/tokens/{{token_id}}", "token")
simple(f"GET {API}/audit/records")
simple(f"GET {API}/audit/verify")
simple(f"GET {API}/audit/export")
simple(f"GET {API}/me/disclosures")
simple(f"GET {API}/exemptions")
simple(f"GET {API}/exemptions/{{request_id}}", "submitted")
simple(f"POST {API}/exemptions/{{request_id}}/withdraw", "submitted")
simple(f"GET {API}/agreements")
simple(f"GET {API}/agreements/{{code}}", "agreement")
simple(f"GET {API}/grievances")
simple(f"GET {API}/grievances/{{grievance_id}}", "grievance")
simple(f"GET {API}/notices/mine")
simple(f"POST {API}/notices/{{notice_id}}/acknowledge", "notice")
simple(f"GET {API}/designation/plans")
simple(f"GET {API}/designation/plans/{{plan_id}}", "plan")
simple(f"POST {API}/designation/plans/{{plan_id}}/apply", "plan")
simple(f"POST {API}/designation/plans/{{plan_id}}/discard", "plan")
simple(f"GET {API}/reports")
simple(f"GET {API}/status/me")
simple(f"GET {API}/status/employees/{{employee_id}}", "employee")
simple(f"GET {API}/team")
simple(f"GET {API}/overview")
for page_route in (
    "GET /",
    "GET /account",
    "GET /login",
    "POST /logout",
    "GET /me",
    "GET /overview",
):
    simple(page_route)
simple("GET /queue")
simple("GET /reports")
simple("GET /offices")
simple("GET /offices/plan")
simple("GET /audit")
simple("GET /audit/verify")
simple("GET /people/{employee_id}", "employee")
simple("GET /requests/{request_id}", "submitted")
simple("POST /requests/{request_id}/withdraw", "submitted")
for kind in ("submitted", "medical"):
    for prefix in (f"{API}/exemptions", "/requests"):
        route = f"GET {prefix}/{{request_id}}/documents/{{position}}"
        RECIPES[(route, kind)] = lambda caller, value, prefix=prefix: Call(
            "GET", f"{prefix}/{value}/documents/1", page=not prefix.startswith("/api"), ids=(value,)
        )


def _by_org(route: str, extra: dict[str, str] | None = None) -> None:
    """A request whose object is the org unit of the ``org`` query parameter."""
    method, path = route.split(" ", 1)

    def make(caller: Caller, value: str) -> Call:
        params = {**(extra or {}), "org": value}
        return Call(method, path, page=not path.startswith("/api/"), params=params, ids=(value,))

    RECIPES[(route, "org_unit")] = make


for org_route in ("/overview", "/overview/people", "/offices", "/offices/plan"):
    _by_org(f"GET {org_route}")
    if org_route.startswith("/overview"):
        _by_org(f"GET {API}{org_route}")
# Every report kind goes through the same check (``report.read`` on the org unit asked
# for); the grievances report is the quickest to build.
REPORT = "grievances"
_by_org("GET /reports", {"kind": REPORT})
_by_org("GET /reports/download", {"kind": REPORT, "format": "csv"})


@recipe(f"GET {API}/reports/{{kind}}", "org_unit")
def _report(caller: Caller, value: str) -> Call:
    return Call("GET", f"{API}/reports/{REPORT}", params={"org": value}, ids=(value,))


@recipe(f"GET {API}/reports/{{kind}}")
def _report_everything(caller: Caller, value: str) -> Call:
    return Call("GET", f"{API}/reports/{REPORT}")


@recipe(f"GET {API}/notices/status/{{directive_ref}}", "org_unit")
def _notice_status(caller: Caller, value: str) -> Call:
    return Call("GET", f"{API}/notices/status/{DIRECTIVE}", params={"org": value}, ids=(value,))


@recipe(f"GET {API}/notices/status/{{directive_ref}}")
def _notice_status_everywhere(caller: Caller, value: str) -> Call:
    return Call("GET", f"{API}/notices/status/{DIRECTIVE}")


@recipe(f"POST {API}/auth/login")
def _login(caller: Caller, value: str) -> Call:
    if caller.username is None:
        return Call(
            "POST", f"{API}/auth/login", json={"username": "nobody9", "password": "wrong password"}
        )
    return Call(
        "POST",
        f"{API}/auth/login",
        json={"username": caller.username, "password": password_of(caller.username)},
    )


@recipe("POST /login")
def _page_login(caller: Caller, value: str) -> Call:
    username = caller.username or "nobody9"
    password = password_of(username) if caller.username else "wrong password"
    return Call("POST", "/login", page=True, data={"username": username, "password": password})


@recipe(f"POST {API}/users", "unlinked_employee")
def _new_user(caller: Caller, value: str) -> Call:
    body = {
        "username": f"new-{value.lower()}",
        "employee_id": value,
        "roles": [{"role": "employee"}],
    }
    return Call("POST", f"{API}/users", json=body, ids=(value,))


@recipe(f"POST {API}/users/{{username}}/grants", "account")
def _grant(caller: Caller, value: str) -> Call:
    return Call("POST", f"{API}/users/{value}/grants", json={"role": "auditor"}, ids=(value,))


@recipe(f"DELETE {API}/users/{{username}}/grants/{{role}}", "account")
def _revoke_role(caller: Caller, value: str) -> Call:
    return Call("DELETE", f"{API}/users/{value}/grants/employee", ids=(value,))


@recipe(f"PUT {API}/users/{{username}}/password", "account")
def _password(caller: Caller, value: str) -> Call:
    body: dict[str, str] = {"password": NEW_PASSWORD}
    if caller.username and value == caller.username:
        body["current_password"] = password_of(caller.username)
    return Call("PUT", f"{API}/users/{value}/password", json=body, ids=(value,))


@recipe(f"POST {API}/users/{{username}}/tokens", "account")
def _token(caller: Caller, value: str) -> Call:
    return Call(
        "POST", f"{API}/users/{value}/tokens", json={"name": "matrix", "days": 1}, ids=(value,)
    )


FILING = {
    "category": "compelling_reason",
    "start": "2025-12-01",
    "end": "2025-12-19",
    "justification": "matrix",
}


@recipe(f"POST {API}/exemptions", "employee")
def _file(caller: Caller, value: str) -> Call:
    return Call("POST", f"{API}/exemptions", data={"employee_id": value, **FILING}, ids=(value,))


@recipe("POST /me/requests")
def _file_own(caller: Caller, value: str) -> Call:
    return Call("POST", "/me/requests", page=True, data={"csrf_token": caller.csrf, **FILING})


@recipe(f"POST {API}/exemptions/{{request_id}}/certifications", "submitted")
def _certify(caller: Caller, value: str) -> Call:
    body = {"decision": "approve", "reason": "matrix"}
    return Call("POST", f"{API}/exemptions/{value}/certifications", json=body, ids=(value,))


@recipe("POST /requests/{request_id}/certify", "submitted")
def _certify_page(caller: Caller, value: str) -> Call:
    form = {"csrf_token": caller.csrf, "decision": "approve", "reason": "matrix"}
    return Call("POST", f"/requests/{value}/certify", page=True, data=form, ids=(value,))


@recipe(f"POST {API}/exemptions/{{request_id}}/revoke", "approved")
def _revoke(caller: Caller, value: str) -> Call:
    body = {"from": "2025-04-01", "reason": "matrix"}
    return Call("POST", f"{API}/exemptions/{value}/revoke", json=body, ids=(value,))


@recipe(f"POST {API}/exemptions/{{request_id}}/renewals", "approved")
def _renew(caller: Caller, value: str) -> Call:
    form = {"end": "2025-05-30", "justification": "matrix"}
    return Call("POST", f"{API}/exemptions/{value}/renewals", data=form, ids=(value,))


@recipe(f"POST {API}/exemptions/expire")
def _expire(caller: Caller, value: str) -> Call:
    return Call("POST", f"{API}/exemptions/expire", json={"today": "2025-06-01"})


@recipe(f"POST {API}/agreements")
def _new_agreement(caller: Caller, value: str) -> Call:
    body = {**AGREEMENT, "code": "NEW-2026", "effective_from": "2026-10-01", "effective_to": None}
    return Call("POST", f"{API}/agreements", json=body)


@recipe(f"PATCH {API}/agreements/{{code}}", "agreement")
def _change_agreement(caller: Caller, value: str) -> Call:
    return Call("PATCH", f"{API}/agreements/{value}", json={"title": "Changed"}, ids=(value,))


@recipe(f"PUT {API}/agreements/{{code}}/clauses/{{ref}}", "agreement")
def _clause(caller: Caller, value: str) -> Call:
    body = {"min_onsite_days_per_week": 2, "summary": "2 days a week"}
    return Call("PUT", f"{API}/agreements/{value}/clauses/Art. 31", json=body, ids=(value,))


@recipe(f"POST {API}/agreements/{{code}}/clauses/{{ref}}/statuses", "agreement")
def _legal_status(caller: Caller, value: str) -> Call:
    body = {"status": "disputed", "on": "2025-02-03", "source": "memo"}
    return Call(
        "POST", f"{API}/agreements/{value}/clauses/Art. 31/statuses", json=body, ids=(value,)
    )


@recipe(f"POST {API}/grievances", "org_unit")
def _grievance(caller: Caller, value: str) -> Call:
    body = {
        "agreement": AGREEMENT["code"],
        "component": value,
        "filed_on": "2025-02-10",
        "subject": "matrix",
        "employees": [],
    }
    return Call("POST", f"{API}/grievances", json=body, ids=(value,))


@recipe(f"POST {API}/grievances/{{grievance_id}}/employees", "grievance")
def _grievance_people(caller: Caller, value: str) -> Call:
    return Call(
        "POST", f"{API}/grievances/{value}/employees", json={"employees": ["W2"]}, ids=(value,)
    )


@recipe(f"POST {API}/grievances/{{grievance_id}}/status", "grievance")
def _grievance_step(caller: Caller, value: str) -> Call:
    body = {"status": "in_progress", "on": "2025-02-24"}
    return Call("POST", f"{API}/grievances/{value}/status", json=body, ids=(value,))


@recipe(f"POST {API}/grievances/{{grievance_id}}/outcome", "grievance")
def _grievance_outcome(caller: Caller, value: str) -> Call:
    body = {"text": "settled", "on": "2025-03-10"}
    return Call("POST", f"{API}/grievances/{value}/outcome", json=body, ids=(value,))


@recipe(f"POST {API}/notices/send", "org_unit")
def _send(caller: Caller, value: str) -> Call:
    return Call(
        "POST",
        f"{API}/notices/send",
        json={"directive_ref": DIRECTIVE, "org_unit": value},
        ids=(value,),
    )


@recipe(f"POST {API}/notices/reminders", "org_unit")
def _remind(caller: Caller, value: str) -> Call:
    return Call(
        "POST",
        f"{API}/notices/reminders",
        json={"org_unit": value, "today": "2025-02-18"},
        ids=(value,),
    )


@recipe(f"POST {API}/notices/reminders")
def _remind_scope(caller: Caller, value: str) -> Call:
    return Call("POST", f"{API}/notices/reminders", json={"today": "2025-02-18"})


@recipe(f"POST {API}/designation/plans", "org_unit")
def _plan(caller: Caller, value: str) -> Call:
    return Call(
        "POST",
        f"{API}/designation/plans",
        json={"on": "2025-03-03", "org_unit": value},
        ids=(value,),
    )


ORG_FILE = csv_bytes(["org_unit", "name", "parent", "kind"], [*ORG_UNITS, *EXTRA_UNITS])


@recipe(f"POST {API}/imports/{{kind}}")
def _import(caller: Caller, value: str) -> Call:
    return Call(
        "POST", f"{API}/imports/org-units", files=[("files", ("org.csv", ORG_FILE, "text/csv"))]
    )
