"""The grievance routes: HR files a grievance in its component and moves it through the
procedure; readers of that component see it; a grievance of another component answers
exactly like one that does not exist."""

from __future__ import annotations

from area_world import AGREEMENT, Client, app, new_user, same_refusal, with_bargaining_units
from fastapi import FastAPI

__all__ = ["app"]

BASE = "/api/v1/grievances"
FILING = {
    "agreement": "EEU-L1-2023",
    "component": "COMP-A",
    "filed_on": "2025-02-10",
    "subject": "Art. 31 §4 ignored by the return order",
    "employees": ["W1"],
}


def test_hr_files_a_grievance_and_takes_it_to_its_outcome(client_for: Client) -> None:
    with_bargaining_units(client_for)
    hr = client_for("hr")
    assert hr.post("/api/v1/agreements", json=AGREEMENT).status_code == 201
    filed = hr.post(BASE, json=FILING)
    assert filed.status_code == 201, filed.text
    number = filed.json()["id"]
    assert filed.headers["location"] == f"{BASE}/{number}"
    assert filed.json()["union"] == AGREEMENT["union"]
    assert filed.json()["status"] == "filed"

    added = hr.post(f"{BASE}/{number}/employees", json={"employees": ["W2", "W1"]})
    assert added.json()["employees"] == ["W1", "W2"]
    moved = hr.post(f"{BASE}/{number}/status", json={"status": "in_progress", "on": "2025-02-24"})
    assert moved.json()["status"] == "in_progress", moved.text
    backwards = hr.post(f"{BASE}/{number}/status", json={"status": "filed", "on": "2025-02-25"})
    assert backwards.status_code == 409
    outcome = hr.post(f"{BASE}/{number}/outcome", json={"text": "settled", "on": "2025-03-10"})
    assert outcome.json()["status"] == "resolved"
    assert outcome.json()["outcome"] == "settled"
    assert [s["status"] for s in outcome.json()["history"]] == ["filed", "in_progress", "resolved"]

    for key in ("leader", "tmo", "certifying_official", "auditor"):
        shown = client_for(key).get(f"{BASE}/{number}")
        assert shown.status_code == 200, (key, shown.text)
    listed = client_for("leader").get(BASE, params={"status": "resolved"})
    assert listed.json()["total"] == 1
    assert client_for("leader").get(BASE, params={"status": "filed"}).json()["total"] == 0
    for key in ("employee", "supervisor", "ra_coordinator", "agency_admin"):
        assert client_for(key).get(f"{BASE}/{number}").status_code == 403, key


def test_a_grievance_of_another_component_looks_like_none(client_for: Client, app: FastAPI) -> None:
    with_bargaining_units(client_for)
    everywhere = new_user(client_for, app, "hr-all", "hr")
    assert everywhere.post("/api/v1/agreements", json=AGREEMENT).status_code == 201
    theirs = everywhere.post(BASE, json={**FILING, "component": "COMP-B", "employees": []})
    assert theirs.status_code == 201, theirs.text
    foreign = theirs.json()["id"]
    unknown = foreign + 50
    for key in ("leader", "hr"):
        client = client_for(key)
        same_refusal(
            client.get(f"{BASE}/{unknown}"), unknown, client.get(f"{BASE}/{foreign}"), foreign
        )
        assert client.get(BASE).json()["total"] == 0
    hr = client_for("hr")
    step = {"status": "withdrawn", "on": "2025-02-20"}
    same_refusal(
        hr.post(f"{BASE}/{unknown}/status", json=step),
        unknown,
        hr.post(f"{BASE}/{foreign}/status", json=step),
        foreign,
    )
    elsewhere = hr.post(BASE, json={**FILING, "component": "COMP-B", "employees": []})
    assert elsewhere.status_code == 404
    assert everywhere.get(f"{BASE}/{foreign}").json()["status"] == "filed"
