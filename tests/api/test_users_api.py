"""Accounts over the API: what an administrator, an auditor and an employee can do with
``/api/v1/users`` and ``/api/v1/tokens``, and that each change is in the audit trail."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from api_world import World, make_client
from dutystation.services.accounts import load_actor
from dutystation.services.audit_export import AuditQuery, search_trail


def trail(app: FastAPI, action: str) -> list[dict[str, Any]]:
    engine = app.state.runtime.engine
    with engine.connect() as conn:
        auditor = load_actor(conn, "auditor")
    return search_trail(engine, auditor, AuditQuery(action=action))


def test_list_pages_and_filters_accounts(client_for: Any) -> None:
    admin = client_for("agency_admin")
    everyone = admin.get("/api/v1/users").json()
    assert everyone["total"] == 11 and everyone["limit"] == 50 and everyone["offset"] == 0
    names = [u["username"] for u in everyone["items"]]
    assert names == sorted(names)
    page = admin.get("/api/v1/users?limit=4&offset=4").json()
    assert [u["username"] for u in page["items"]] == names[4:8]
    assert page["total"] == 11
    supervisors = admin.get("/api/v1/users?role=supervisor").json()
    assert {u["username"] for u in supervisors["items"]} == {"mgr1", "bmgr"}
    assert [u["username"] for u in admin.get("/api/v1/users?q=AUDIT").json()["items"]] == [
        "auditor"
    ]
    assert "password_hash" not in str(everyone)


def test_auditors_read_accounts_and_employees_may_not(client_for: Any) -> None:
    assert client_for("auditor").get("/api/v1/users").json()["total"] == 11
    refused = client_for("employee").get("/api/v1/users")
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    own = client_for("employee").get("/api/v1/users/w1")
    assert own.status_code == 200 and own.json()["employee_id"] == "W1"
    assert client_for("employee").get("/api/v1/users/w2").status_code in (403, 404)


def test_an_administrator_creates_grants_locks_and_deactivates(
    app: FastAPI, client_for: Any, world: World
) -> None:
    admin = client_for("agency_admin")
    made = admin.post(
        "/api/v1/users",
        json={"username": "W2-User", "employee_id": "W2", "roles": [{"role": "employee"}]},
    )
    assert made.status_code == 201
    assert made.json()["username"] == "w2-user"
    assert made.json()["state"] == "active" and made.json()["has_password"] is False
    again = admin.post("/api/v1/users", json={"username": "w2-user"})
    assert again.status_code == 409

    granted = admin.post("/api/v1/users/w2-user/grants", json={"role": "tmo", "scope": "COMP-A"})
    assert granted.status_code == 200
    assert {"role": "tmo", "scope": "COMP-A"} in granted.json()["roles"]
    revoked = admin.delete("/api/v1/users/w2-user/grants/tmo?scope=COMP-A")
    assert {"role": "tmo", "scope": "COMP-A"} not in revoked.json()["roles"]
    assert admin.delete("/api/v1/users/w2-user/grants/tmo?scope=COMP-A").status_code == 404

    # A lock ends the user's tokens at once.
    employee_token = world.users["employee"].token
    assert make_client(app, employee_token).get("/api/v1/auth/me").status_code == 200
    locked = admin.post("/api/v1/users/w1/lock", json={"until": None})
    assert locked.json()["state"] == "locked"
    assert make_client(app, employee_token).get("/api/v1/auth/me").status_code == 401
    assert admin.post("/api/v1/users/w1/unlock").json()["state"] == "active"
    assert admin.post("/api/v1/users/w1/deactivate").json()["state"] == "deactivated"
    password = world.users["employee"].password
    signed_in = make_client(app).post(
        "/api/v1/auth/login", json={"username": "w1", "password": password}
    )
    assert signed_in.status_code == 401

    actions = {r["action"] for r in trail(app, "user.*")}
    assert {"user.create", "user.grant", "user.revoke", "user.lock", "user.unlock"} <= actions
    assert {r["channel"] for r in trail(app, "user.grant")} == {"api"}


def test_nobody_changes_their_own_roles_or_state(client_for: Any) -> None:
    admin = client_for("agency_admin")
    answer = admin.post("/api/v1/users/admin/grants", json={"role": "auditor"})
    assert answer.status_code == 403
    assert admin.post("/api/v1/users/admin/deactivate").status_code == 403


def test_a_lock_in_the_past_or_a_day_without_offset_is_refused(client_for: Any) -> None:
    admin = client_for("agency_admin")
    past = admin.post("/api/v1/users/w1/lock", json={"until": "2001-01-01T00:00:00Z"})
    assert past.status_code == 422
    naive = admin.post("/api/v1/users/w1/lock", json={"until": "2031-01-01T00:00:00"})
    assert naive.status_code == 422
    assert admin.get("/api/v1/users/w1").json()["state"] == "active"


def test_changing_ones_own_password_needs_the_current_one(
    app: FastAPI, client_for: Any, world: World
) -> None:
    me = client_for("employee")
    new = "a-brand-new-long-passphrase"
    wrong = me.put("/api/v1/users/w1/password", json={"password": new, "current_password": "no"})
    assert wrong.status_code == 403
    short = me.put(
        "/api/v1/users/w1/password",
        json={"password": "short", "current_password": world.users["employee"].password},
    )
    assert short.status_code == 422
    done = me.put(
        "/api/v1/users/w1/password",
        json={"password": new, "current_password": world.users["employee"].password},
    )
    assert done.status_code == 204
    login = make_client(app).post("/api/v1/auth/login", json={"username": "w1", "password": new})
    assert login.status_code == 200
    assert all(new not in str(r) for r in trail(app, "user.password"))


def test_tokens_are_listed_without_their_secrets(client_for: Any, world: World) -> None:
    me = client_for("employee")
    listed = me.get("/api/v1/users/w1/tokens")
    assert listed.status_code == 200
    body = listed.json()
    assert body["total"] == 1
    token = body["items"][0]
    assert token["state"] == "valid" and token["name"] == "tests"
    assert world.users["employee"].token not in listed.text
    too_long = me.post("/api/v1/users/w1/tokens", json={"name": "forever", "days": 3000})
    assert too_long.status_code == 422
    assert me.get("/api/v1/users/w2/tokens").status_code in (403, 404)
