"""RELIABILITY T09 over HTTP: every API path that hands out a copy of people's records —
report downloads in each format, the audit-trail export, a document downloaded by someone
other than its subject — records {date, nature, purpose, recipient} for each person it
names; and ``GET /api/v1/me/disclosures`` shows a person all of their entries and none of
anybody else's."""

from __future__ import annotations

from typing import Any

from area_world import PDF, Client, app, file_request, roster_update, upload
from site_crawl import signed_in

__all__ = ["app"]

ME = "/api/v1/me/disclosures"
DISTANCE = "/api/v1/reports/distance"
# W1 teleworks and W3 works remotely, both with a home: the distance report names them.
HOMES = {"W1": ("", "", "20002"), "W3": ("", "", "98101")}
OUTSIDE = {"purpose": "Congressional inquiry 2025-117", "recipient": "Office of Senator Example"}


def mine(client: Any) -> list[dict[str, Any]]:
    answer = client.get(ME, params={"limit": 500})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    assert answer.json()["total"] == len(items)
    return items


def with_homes(client_for: Client) -> None:
    done = upload(
        client_for("agency_admin"), "roster", ("roster.csv", roster_update("2025-01-13", HOMES))
    )
    assert done.status_code == 200, done.text


def test_report_downloads_in_every_format_are_accounted_to_the_people_they_name(
    client_for: Client,
) -> None:
    with_homes(client_for)
    hr = client_for("hr")
    query = {"org": "COMP-A", "to": "2025-03-03"}
    for fmt in ("json", "csv", "xlsx", "html"):
        answer = hr.get(DISTANCE, params={**query, "format": fmt, **OUTSIDE})
        assert answer.status_code == 200, answer.text
    w1 = mine(client_for("employee"))
    # The CSV holds the main section only: those beyond the distance limit (W3, not W1).
    assert [e["nature"].split(",")[0] for e in w1] == [
        f"report distance ({fmt})" for fmt in ("html", "xlsx", "json")
    ]  # newest first
    for entry in w1:
        assert entry["disclosed_at"].endswith("Z") or entry["disclosed_at"].endswith("+00:00")
        assert (entry["purpose"], entry["recipient"]) == (OUTSIDE["purpose"], OUTSIDE["recipient"])
        assert (entry["recipient_kind"], entry["recorded_by"], entry["channel"]) == (
            "outside_agency",
            "hr",
            "api",
        )
    # Kept within the agency: the caller is the recipient, the purpose what they said.
    people = {**query, "format": "csv", "section": "people", "purpose": "seat planning"}
    assert hr.get(DISTANCE, params=people).status_code == 200
    latest = mine(client_for("employee"))[0]
    assert (latest["recipient"], latest["recipient_kind"], latest["purpose"]) == (
        "hr",
        "agency_user",
        "seat planning",
    )
    assert mine(client_for("other_employee")) == []  # B1, of the other component


def test_a_recipient_needs_a_purpose_and_bad_text_is_refused(client_for: Client) -> None:
    with_homes(client_for)
    hr = client_for("hr")
    query = {"org": "COMP-A", "to": "2025-03-03", "format": "csv"}
    for extra, words in (
        ({"recipient": "The Daily Planet"}, "needs its purpose"),
        ({"purpose": "a\u202eb"}, "control or invisible"),
    ):
        answer = hr.get(DISTANCE, params={**query, **extra})
        assert answer.status_code == 422, answer.text
        assert words in answer.json()["detail"]
    assert hr.get(DISTANCE, params={**query, "purpose": "x" * 501}).status_code == 422
    assert mine(client_for("employee")) == []  # nothing handed out, nothing recorded


def test_a_document_downloaded_by_anyone_but_its_subject_is_recorded(client_for: Client) -> None:
    employee = client_for("employee")
    filed = file_request(employee, documents=[("lease.pdf", PDF)])
    assert filed.status_code == 201, filed.text
    request_id = filed.json()["id"]
    path = f"/api/v1/exemptions/{request_id}/documents/1"
    assert employee.get(path).status_code == 200  # one's own: no disclosure
    assert mine(employee) == []
    supervisor = client_for("supervisor")
    assert supervisor.get(path, params={"purpose": "deciding the request"}).status_code == 200
    (entry,) = mine(employee)
    assert entry["nature"] == f"exemption request {request_id}, document 1"
    assert (entry["nature_kind"], entry["purpose"], entry["recipient"]) == (
        "document_download",
        "deciding the request",
        "mgr1",
    )
    assert mine(supervisor) == []  # the supervisor's own records were not disclosed


def test_an_audit_export_is_recorded_for_the_people_its_records_are_about(
    client_for: Client,
) -> None:
    auditor = client_for("auditor")
    answer = auditor.get("/api/v1/audit/export", params={"purpose": "annual review"})
    assert answer.status_code == 200
    # The world's accounts were created on the trail, so everyone with an account is named.
    for key in ("employee", "supervisor", "other_employee"):
        (entry,) = mine(client_for(key))
        assert entry["nature_kind"] == "audit_export" and entry["recipient"] == "auditor"
        assert entry["purpose"] == "annual review"
    assert auditor.get("/api/v1/audit/export", params={"recipient": "GAO"}).status_code == 422


def test_my_disclosures_needs_a_sign_in_and_is_empty_without_an_employee_record(
    client_for: Client,
) -> None:
    with_homes(client_for)
    query = {"org": "COMP-A", "to": "2025-03-03", "format": "json"}
    assert client_for("hr").get(DISTANCE, params=query).status_code == 200
    assert mine(client_for("hr")) == []  # the hr account is linked to no employee
    assert len(mine(client_for("employee"))) == 1
    assert client_for("anonymous").get(ME).status_code == 401


def test_a_dashboard_download_is_accounted_like_an_api_one(
    client_for: Client, app: Any, world: Any
) -> None:
    with_homes(client_for)
    hr = signed_in(app, world.users["hr"])  # the dashboard runs on cookie sessions
    query = {"kind": "distance", "org": "COMP-A", "end": "2025-03-03", "format": "json"}
    answer = hr.get("/reports/download", params={**query, **OUTSIDE})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"].startswith("attachment;")
    entry = mine(client_for("employee"))[0]
    assert entry["nature"].startswith("report distance (json)")
    assert (entry["purpose"], entry["recipient"]) == (OUTSIDE["purpose"], OUTSIDE["recipient"])
    refused = hr.get("/reports/download", params={**query, "recipient": "The Daily Planet"})
    assert refused.status_code == 422
    assert len(mine(client_for("employee"))) == 1  # the refused one recorded nothing
