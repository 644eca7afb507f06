"""The exemption routes: filing, certifying, withdrawing, revoking, renewing, expiring,
reading and downloading, as each role of the world; medical information reaching nobody
but the reasonable-accommodation coordinator; ids of another scope answering exactly like
unknown ids (RELIABILITY T01, T02, T04)."""

from __future__ import annotations

from pathlib import Path

from area_world import PDF, Client, app, file_request, same_refusal, write_policies
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response

from api_world import World, make_client
from dutystation.api.app import create_app

__all__ = ["app"]  # the world served with the test directive (area_world)

READERS = ["employee", "supervisor", "leader", "certifying_official", "tmo", "hr", "auditor"]
BASE = "/api/v1/exemptions"


def approve(client_for: Client, request_id: int, **dates: str) -> Response:
    """The two certifications the test directive requires: supervisor, agency head."""
    body = {"decision": "approve", "reason": "letter on file", **dates}
    first = client_for("supervisor").post(f"{BASE}/{request_id}/certifications", json=body)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "submitted"
    return client_for("certifying_official").post(f"{BASE}/{request_id}/certifications", json=body)


def test_an_employee_files_a_request_and_both_certifiers_approve_it(client_for: Client) -> None:
    employee = client_for("employee")
    filed = file_request(employee, documents=[("lease.pdf", PDF)])
    assert filed.status_code == 201, filed.text
    request_id = filed.json()["id"]
    assert filed.headers["location"] == f"{BASE}/{request_id}"

    listed = employee.get(BASE).json()
    assert listed["total"] == 1 and listed["limit"] == 50 and listed["offset"] == 0
    assert listed["items"][0] | {"id": 0} == {
        "id": 0,
        "employee_id": "W1",
        "category_group": "compelling_reason",
        "status": "submitted",
        "requested_start": "2025-03-03",
        "requested_end": "2025-04-30",
        "approved_start": None,
        "approved_end": None,
        "org_unit": "TEAM-A1",
    }
    approved = approve(client_for, request_id, end="2025-04-15")
    assert approved.status_code == 200, approved.text
    assert approved.json() == {
        "id": request_id,
        "certifier": "agency_head",
        "status": "approved",
        "approved_start": "2025-03-03",
        "approved_end": "2025-04-15",
    }
    shown = client_for("supervisor").get(f"{BASE}/{request_id}").json()
    assert shown["status"] == "approved"
    assert shown["category"] == "compelling_reason"  # not a medical category: shown as it is
    assert [c["certifier"] for c in shown["certifications"]] == ["supervisor", "agency_head"]
    assert shown["filed_at"].endswith(("+00:00", "Z"))  # times carry their offset
    assert shown["documents"] == [
        {"position": 1, "file_name": "lease.pdf", "media_type": "application/pdf", "size": 45}
    ]


def test_lists_filter_by_status_group_unit_and_person_and_page(client_for: Client) -> None:
    for start, end in (("2025-03-03", "2025-03-31"), ("2025-04-01", "2025-04-30")):
        assert file_request(client_for("employee"), start=start, end=end).status_code == 201
    third = file_request(client_for("supervisor"), "W2", start="2025-03-03", end="2025-03-31")
    assert third.status_code == 201, third.text
    hr = client_for("hr")
    assert hr.get(BASE).json()["total"] == 3
    assert hr.get(BASE, params={"employee": "W2"}).json()["total"] == 1
    assert hr.get(BASE, params={"status": "approved"}).json()["total"] == 0
    assert hr.get(BASE, params={"category_group": "compelling_reason"}).json()["total"] == 3
    assert hr.get(BASE, params={"org_unit": "TEAM-A2"}).json()["total"] == 0
    page = hr.get(BASE, params={"limit": 2, "offset": 2}).json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (3, 2, 2, 1)
    assert hr.get(BASE, params={"limit": 0}).status_code == 422
    assert hr.get(BASE, params={"status": "pending"}).status_code == 422


def test_withdraw_revoke_renew_and_expire(client_for: Client) -> None:
    employee = client_for("employee")
    pending = file_request(employee, start="2025-06-02", end="2025-06-30").json()["id"]
    withdrawn = employee.post(f"{BASE}/{pending}/withdraw")
    assert withdrawn.json() == {"id": pending, "status": "withdrawn"}
    assert employee.post(f"{BASE}/{pending}/withdraw").status_code == 409

    first = file_request(employee, start="2025-03-03", end="2025-03-31").json()["id"]
    assert approve(client_for, first).json()["status"] == "approved"
    renewed = employee.post(
        f"{BASE}/{first}/renewals", data={"end": "2025-04-30", "justification": "still caring"}
    )
    assert renewed.status_code == 201, renewed.text
    assert renewed.json()["renewal_of"] == first
    renewal = renewed.json()["id"]
    assert client_for("hr").get(f"{BASE}/{renewal}").json()["requested_start"] == "2025-04-01"

    expired = client_for("tmo").post(f"{BASE}/expire", json={"today": "2025-04-01"})
    assert expired.json() == {"expired": [first]}

    assert approve(client_for, renewal).json()["status"] == "approved"
    revoked = client_for("tmo").post(
        f"{BASE}/{renewal}/revoke", json={"from": "2025-04-15", "reason": "returned early"}
    )
    assert revoked.json() == {"id": renewal, "status": "revoked"}, revoked.text
    assert client_for("hr").get(f"{BASE}/{renewal}").json()["revoked_from"] == "2025-04-15"


def test_roles_the_service_refuses_get_403_and_others_scope_404(client_for: Client) -> None:
    request_id = file_request(client_for("employee")).json()["id"]
    admin = client_for("agency_admin").get(f"{BASE}/{request_id}")
    assert admin.status_code == 403
    assert admin.headers["content-type"] == "application/problem+json"
    assert client_for("anonymous").get(f"{BASE}/{request_id}").status_code == 401
    # The employee may not certify, the auditor may not file; the supervisor may not revoke.
    decision = {"decision": "approve", "reason": "mine"}
    certify = client_for("employee").post(f"{BASE}/{request_id}/certifications", json=decision)
    assert certify.status_code == 403
    assert client_for("auditor").post(f"{BASE}/{request_id}/withdraw").status_code == 403
    revoke = {"from": "2025-03-10", "reason": "no"}
    assert (
        client_for("supervisor").post(f"{BASE}/{request_id}/revoke", json=revoke).status_code == 403
    )
    unknown_id = request_id + 1000
    for key in ("other_supervisor", "other_employee"):
        client = client_for(key)
        same_refusal(
            client.get(f"{BASE}/{unknown_id}"),
            unknown_id,
            client.get(f"{BASE}/{request_id}"),
            request_id,
        )


def _all_reads(client: TestClient, request_id: int) -> list[Response]:
    return [
        client.get(BASE),
        client.get(f"{BASE}/{request_id}"),
        client.get(f"{BASE}/{request_id}/documents/1"),
        client.get(f"{BASE}/{request_id}/documents/2"),
    ]


def test_medical_information_reaches_the_ra_coordinator_only(client_for: Client) -> None:
    canary = "CANARY-7f3e9b"
    document = f"Diagnosis {canary}-bytes: limited mobility.\n".encode()
    filed = file_request(
        client_for("employee"),
        category="qualifying_medical_condition",
        justification=f"diagnosis {canary}-justification",
        documents=[(f"{canary}-name.txt", document), ("letter.pdf", PDF)],
    )
    assert filed.status_code == 201, filed.text
    request_id = filed.json()["id"]
    reason = {"decision": "approve", "reason": f"doctor says {canary}-reason"}
    certified = client_for("supervisor").post(f"{BASE}/{request_id}/certifications", json=reason)
    assert certified.status_code == 200, certified.text

    bodies: list[str] = [filed.text, certified.text]
    for key in [*READERS, "agency_admin", "other_employee", "other_supervisor", "anonymous"]:
        responses = _all_reads(client_for(key), request_id)
        bodies += [r.text for r in responses] + [str(r.headers) for r in responses]
        shown = responses[1]
        if shown.status_code == 200:
            assert shown.json()["category_group"] == "medical_disability"
            hidden = {"category", "justification", "medical_documents", "medical_notes"}
            assert hidden.isdisjoint(shown.json()), key
            assert "documents" not in shown.json(), key
            assert responses[2].status_code == 404, key  # a medical document
    trail = client_for("auditor").get("/api/v1/audit/records", params={"limit": 500})
    assert trail.status_code == 200, trail.text
    bodies.append(trail.text)
    assert not [b for b in bodies if canary in b]

    ra = client_for("ra_coordinator")
    view = ra.get(f"{BASE}/{request_id}").json()
    assert view["category"] == "medical_condition"
    assert view["justification"] == f"diagnosis {canary}-justification"
    assert [d["file_name"] for d in view["medical_documents"]] == [
        f"{canary}-name.txt",
        "letter.pdf",
    ]
    assert canary in str(view["medical_notes"])
    download = ra.get(f"{BASE}/{request_id}/documents/1")
    assert download.content == document
    assert canary not in download.headers["content-disposition"]  # named by the server


def test_documents_download_as_attachments_that_are_never_rendered(client_for: Client) -> None:
    html_looking = b"Plain notes, not markup.\n"
    filed = file_request(client_for("employee"), documents=[("notes.txt", html_looking)])
    request_id = filed.json()["id"]
    got = client_for("supervisor").get(f"{BASE}/{request_id}/documents/1")
    assert got.status_code == 200
    assert got.content == html_looking
    assert got.headers["content-disposition"] == (
        f'attachment; filename="exemption-request-{request_id}-document-1.txt"; '
        f"filename*=UTF-8''exemption-request-{request_id}-document-1.txt"
    )
    assert got.headers["content-type"] == "text/plain; charset=utf-8"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["cache-control"] == "no-store"
    assert got.headers["content-security-policy"] == "sandbox; default-src 'none'"
    missing = client_for("supervisor").get(f"{BASE}/{request_id}/documents/2")
    assert missing.status_code == 404


def test_refused_documents_store_nothing(world: World, tmp_path: Path) -> None:
    settings = world.settings(
        policies_dir=write_policies(tmp_path / "policies"),
        document_max_bytes=1000,
        upload_body_max_bytes=20_000,
    )
    with make_client(create_app(settings), world.users["employee"].token) as client:
        program = file_request(client, documents=[("a.pdf", PDF), ("b.pdf", b"MZ" + b"\0" * 200)])
        assert program.status_code == 422
        assert program.json()["detail"].startswith("document 2:")
        too_big = file_request(client, documents=[("big.pdf", PDF + b" " * 2000)])
        assert too_big.status_code == 422
        assert too_big.json()["detail"].startswith("document 1:")
        huge = file_request(client, documents=[("huge.pdf", PDF + b" " * 50_000)])
        assert huge.status_code == 413
        assert client.get(BASE).json()["total"] == 0


def test_a_cookie_session_must_send_its_csrf_token_to_file(app: FastAPI, world: World) -> None:
    user = world.users["employee"]
    with make_client(app) as client:
        signed_in = client.post(
            "/api/v1/auth/login", json={"username": user.username, "password": user.password}
        )
        csrf = signed_in.json()["csrf_token"]
        assert file_request(client).status_code == 403
        assert client.get(BASE).json()["total"] == 0
        client.headers["X-CSRF-Token"] = csrf
        assert file_request(client).status_code == 201


def test_ids_of_another_component_answer_like_unknown_ids(client_for: Client, world: World) -> None:
    """T02: every exemption route with an id, replayed with the neighbour ids of requests
    in another component; no body names an employee of that component."""
    theirs = [file_request(client_for("other_employee"), "B1").json()["id"]]
    mine = file_request(client_for("employee"), documents=[("a.pdf", PDF)]).json()["id"]
    theirs.append(
        file_request(
            client_for("other_employee"), "B1", start="2025-05-01", end="2025-05-30"
        ).json()["id"]
    )
    assert theirs == [mine - 1, mine + 1]
    unknown = mine + 100
    decision = {"decision": "approve", "reason": "ok"}
    revoke = {"from": "2025-03-10", "reason": "no"}
    renewal = {"end": "2025-06-30", "justification": "again"}
    routes = [
        ("get", "{id}", {}),
        ("get", "{id}/documents/1", {}),
        ("post", "{id}/certifications", {"json": decision}),
        ("post", "{id}/withdraw", {}),
        ("post", "{id}/revoke", {"json": revoke}),
        ("post", "{id}/renewals", {"data": renewal}),
    ]
    for key in ("supervisor", "tmo", "certifying_official"):
        client = client_for(key)
        for method, path, kwargs in routes:
            missing = getattr(client, method)(f"{BASE}/{path.format(id=unknown)}", **kwargs)
            for foreign in theirs:
                got = getattr(client, method)(f"{BASE}/{path.format(id=foreign)}", **kwargs)
                same_refusal(missing, unknown, got, foreign)
                assert "B1" not in got.text
        assert "B1" not in client.get(BASE).text
    hr = client_for("other_supervisor")
    assert [i["id"] for i in hr.get(BASE).json()["items"]] == sorted(theirs, reverse=True)
    assert "W1" not in hr.get(BASE).text
