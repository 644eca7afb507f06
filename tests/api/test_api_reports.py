"""The report routes: the kinds, and a report for the caller's scope in every format (JSON
inline, CSV, XLSX and HTML as downloads); org units beyond the caller's scope answer like
org units that do not exist."""

from __future__ import annotations

import csv
import io

from area_world import Client, app, same_refusal, upload
from openpyxl import load_workbook
from test_imports import timecards

from dutystation.services.reporting import KINDS

__all__ = ["app"]

BASE = "/api/v1/reports"
WEEK = ["2025-02-03", "2025-02-04", "2025-02-05", "2025-02-06", "2025-02-07"]


def with_evidence(client_for: Client) -> None:
    done = upload(client_for("agency_admin"), "timecards", ("ta.csv", timecards(WEEK)))
    assert done.status_code == 200, done.text


def test_the_kinds_are_listed_with_what_they_answer(client_for: Client) -> None:
    kinds = client_for("employee").get(BASE)
    assert kinds.status_code == 200
    assert [k["kind"] for k in kinds.json()] == list(KINDS)
    assert all(
        k["description"] and k["formats"] == ["json", "csv", "xlsx", "html"] for k in kinds.json()
    )


def test_a_report_comes_in_every_format(client_for: Client) -> None:
    with_evidence(client_for)
    leader = client_for("leader")
    query = {"org": "COMP-A", "from": "2025-02-03", "to": "2025-02-07"}
    as_json = leader.get(f"{BASE}/onsite-share", params=query)
    assert as_json.status_code == 200, as_json.text
    assert as_json.headers["content-type"] == "application/json"
    assert "content-disposition" not in as_json.headers
    report = as_json.json()
    assert (report["report"], report["period"]) == (
        "onsite-share",
        {"start": "2025-02-03", "end": "2025-02-07"},
    )
    name = "onsite-share-2025-02-03-to-2025-02-07"

    as_csv = leader.get(f"{BASE}/onsite-share", params={**query, "format": "csv"})
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert as_csv.headers["content-disposition"] == f'attachment; filename="{name}.csv"'
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert {r["org_unit"] for r in rows} >= {"TEAM-A1"}
    assert "COMP-B" not in as_csv.text and "TEAM-B1" not in as_csv.text

    as_xlsx = leader.get(f"{BASE}/onsite-share", params={**query, "format": "xlsx"})
    assert as_xlsx.headers["content-disposition"] == f'attachment; filename="{name}.xlsx"'
    book = load_workbook(io.BytesIO(as_xlsx.content), read_only=True)
    assert book.sheetnames[0] == "About"
    book.close()

    as_html = leader.get(f"{BASE}/onsite-share", params={**query, "format": "html"})
    assert as_html.headers["content-type"] == "text/html; charset=utf-8"
    assert as_html.headers["content-disposition"] == f'attachment; filename="{name}.html"'
    assert as_html.text.lstrip().lower().startswith("<!doctype html>")

    section = leader.get(
        f"{BASE}/onsite-share", params={**query, "format": "csv", "section": "nope"}
    )
    assert section.status_code == 422


def test_scope_roles_and_bad_options(client_for: Client) -> None:
    with_evidence(client_for)
    leader = client_for("leader")
    same_refusal(
        leader.get(f"{BASE}/onsite-share", params={"org": "NOPE"}),
        "NOPE",
        leader.get(f"{BASE}/onsite-share", params={"org": "COMP-B"}),
        "COMP-B",
    )
    assert leader.get(f"{BASE}/onsite-share").status_code == 404  # the whole organisation
    whole = client_for("auditor").get(f"{BASE}/onsite-share", params={"from": "2025-02-03"})
    assert whole.status_code == 200, whole.text
    for key in ("employee", "supervisor", "ra_coordinator"):
        refused = client_for(key).get(f"{BASE}/onsite-share", params={"org": "COMP-A"})
        assert refused.status_code == 403, key
    assert client_for("anonymous").get(f"{BASE}/onsite-share").status_code == 401
    assert leader.get(f"{BASE}/nope").status_code == 422
    wrong = leader.get(f"{BASE}/onsite-share", params={"org": "COMP-A", "days": 5})
    assert wrong.status_code == 422
    empty = leader.get(f"{BASE}/onsite-share", params={"org": "COMP-A", "period": "2024-W07"})
    assert empty.status_code == 404
    assert leader.get(f"{BASE}/onsite-share", params={"format": "pdf"}).status_code == 422


def test_every_kind_answers_without_a_server_error(client_for: Client) -> None:
    with_evidence(client_for)
    auditor = client_for("auditor")
    answers = {}
    for kind in KINDS:
        params = {} if kind == "acknowledgements" else {"from": WEEK[0], "to": WEEK[-1]}
        got = auditor.get(f"{BASE}/{kind}", params=params)
        answers[kind] = got.status_code
        assert got.status_code in (200, 404, 422), (kind, got.text)
    # briefing also holds not-returned, whose window (after the deadline) has no evidence.
    assert answers == {**dict.fromkeys(KINDS, 200), "briefing": 404}
