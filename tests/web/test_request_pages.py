"""Request pages over HTTP (no browser needed): a medical request's reasons and document
names reach the reasonable-accommodation coordinator and nobody else; a refused value
comes back on the form with the service's sentence and nothing is filed."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from api_world import World, make_client
from dutystation.api.app import create_app

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CANARY = "CANARY-DIAGNOSIS-7731"
CANARY_FILE = "canary-scan-7731.pdf"


def _sign_in(app: object, world: World, key: str) -> tuple[TestClient, str]:
    client = make_client(app)  # type: ignore[arg-type]
    client.follow_redirects = False
    user = world.users[key]
    answer = client.post("/login", data={"username": user.username, "password": user.password})
    assert answer.status_code == 303
    page = client.get("/queue")
    found = TOKEN.search(page.text)
    assert found is not None
    return client, found.group(1)


def test_a_medical_requests_reasons_and_documents_reach_only_the_ra_coordinator(
    world: World,
) -> None:
    app = create_app(world.settings())
    employee, token = _sign_in(app, world, "employee")
    answer = employee.post(
        "/me/requests",
        data={
            "csrf_token": token,
            "category": "medical_condition",
            "start": "2025-03-03",
            "end": "2025-03-28",
            "justification": f"Treatment for {CANARY}.",
        },
        files=[("documents", (CANARY_FILE, PDF, "application/pdf"))],
    )
    assert answer.status_code == 303
    path = answer.headers["location"].split("?")[0]

    supervisor, _ = _sign_in(app, world, "supervisor")
    for page in (path, "/queue", "/queue?status=all", f"{path}/documents/1"):
        shown = supervisor.get(page)
        assert CANARY not in shown.text and "canary-scan" not in shown.text, page
    assert "Medical or disability (confidential)" in supervisor.get(path).text
    assert supervisor.get(f"{path}/documents/1").status_code == 404
    assert CANARY not in employee.get("/me").text

    ra, _ = _sign_in(app, world, "ra_coordinator")
    shown = ra.get(path)
    assert CANARY in shown.text and CANARY_FILE in shown.text
    download = ra.get(f"{path}/documents/1")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-disposition"].startswith("attachment")


def test_a_refused_request_comes_back_on_the_form_and_nothing_is_filed(world: World) -> None:
    app = create_app(world.settings())
    employee, token = _sign_in(app, world, "employee")
    answer = employee.post(
        "/me/requests",
        data={
            "csrf_token": token,
            "category": "lack_of_office_space",
            "start": "2025-03-28",
            "end": "2025-03-03",
            "justification": "No desk.",
        },
        files=[("documents", ("notes.exe", b"MZ\x90\x00" + b"\x00" * 60, "application/pdf"))],
    )
    assert answer.status_code == 422
    alert = re.search(r'role="alert"[^>]*>([^<]+)<', answer.text)
    assert alert is not None
    # The first refusal, in the service's words: documents are checked first, by content.
    assert alert.group(1) == "Document 1: it is a Windows program, and programs are never accepted."
    assert 'value="2025-03-28"' in answer.text  # what was typed is kept
    assert "No desk." in answer.text
    assert "You have filed no request." in answer.text


def test_an_edited_url_gets_the_not_found_page_whatever_it_holds(world: World) -> None:
    app = create_app(world.settings())
    employee, _ = _sign_in(app, world, "employee")
    for path in (
        "/requests/abc",
        "/requests/0",
        "/requests/99999999999999999999",
        "/requests/1/documents/x",
        "/people/NOBODY",
    ):
        answer = employee.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith("text/html")
        assert "<h1>Not found</h1>" in answer.text
    assert employee.get("/audit?page=zzz").status_code == 403  # an employee reads no trail
