"""The designation routes: a TMO plans the 50-mile designations of their component (with
and without what-if changes), HR reviews and applies the plan; plans of another scope
answer like plans that do not exist, and no answer carries a home."""

from __future__ import annotations

from area_world import Client, app, csv_bytes, roster_update, same_refusal, upload

__all__ = ["app"]

BASE = "/api/v1/designation/plans"
HOME_ZIP = "19104"  # Philadelphia: about 120 miles from HQ in Washington
OFFICE = [
    "site_id",
    "name",
    "zip",
    "latitude",
    "longitude",
    "timezone",
    "seats",
    "org_unit",
    "job_functions",
]


def with_a_remote_worker_far_away(client_for: Client) -> None:
    """W3 (remote, TEAM-A2) lives in Philadelphia; COMP-A has an office there."""
    admin = client_for("agency_admin")
    office = ("PHL", "Philadelphia", "19106", "39.95", "-75.15", "America/New_York", "5")
    offices = csv_bytes(OFFICE, [(*office, "COMP-A", "Analyst")])
    assert upload(admin, "offices", ("offices.csv", offices)).status_code == 200
    roster = roster_update("2025-01-13", {"W3": ("", "Analyst", HOME_ZIP)})
    done = upload(admin, "roster", ("roster.csv", roster))
    assert done.status_code == 200, done.text


def test_a_plan_is_made_reviewed_and_applied(client_for: Client) -> None:
    with_a_remote_worker_far_away(client_for)
    made = client_for("tmo").post(BASE, json={"on": "2025-03-03", "org_unit": "COMP-A"})
    assert made.status_code == 201, made.text
    plan_id = made.json()["plan_id"]
    assert made.headers["location"] == f"{BASE}/{plan_id}"
    total = next(line for line in made.json()["summary"] if line["is_total"])
    assert (total["needing"], total["placed"], total["unplaced"]) == (1, 1, 0)
    assert made.json()["what_if"] == []

    hr = client_for("hr")
    shown = hr.get(f"{BASE}/{plan_id}", params={"limit": 1})
    assert shown.status_code == 200, shown.text
    plan = shown.json()
    assert plan["plan"]["status"] == "proposed"
    assert plan["plan"]["org_unit"] == "COMP-A"
    assert plan["proposals"]["total"] == 1
    [proposal] = plan["proposals"]["items"]
    assert (proposal["employee_id"], proposal["site_id"], proposal["applied"]) == (
        "W3",
        "PHL",
        False,
    )
    assert 0 < proposal["distance_miles"] < 50
    assert HOME_ZIP not in shown.text and "home" not in str(proposal)
    assert [p["id"] for p in hr.get(BASE).json()["items"]] == [plan_id]

    assert client_for("tmo").post(f"{BASE}/{plan_id}/apply").status_code == 403
    applied = hr.post(f"{BASE}/{plan_id}/apply")
    assert applied.json() == {"id": plan_id, "status": "applied", "designations": 1}
    assert hr.post(f"{BASE}/{plan_id}/apply").status_code == 409
    assert hr.get(f"{BASE}/{plan_id}").json()["proposals"]["items"][0]["applied"] is True


def test_a_what_if_plan_compares_and_cannot_be_applied(client_for: Client) -> None:
    with_a_remote_worker_far_away(client_for)
    body = {"on": "2025-03-03", "org_unit": "COMP-A", "what_if": {"close": ["PHL"]}}
    made = client_for("hr").post(BASE, json=body)
    assert made.status_code == 201, made.text
    measures = {m["measure"]: m for m in made.json()["what_if"]}
    assert measures["placed within the limit"]["change"] == -1
    plan_id = made.json()["plan_id"]
    hr = client_for("hr")
    assert hr.post(f"{BASE}/{plan_id}/apply").status_code == 409
    discarded = client_for("tmo").post(f"{BASE}/{plan_id}/discard")
    assert discarded.json()["status"] == "discarded", discarded.text
    unknown_site = hr.post(BASE, json={**body, "what_if": {"close": ["NOPE"]}})
    assert unknown_site.status_code == 422


def test_plans_of_another_scope_look_like_none(client_for: Client) -> None:
    with_a_remote_worker_far_away(client_for)
    made = client_for("agency_admin").post(BASE, json={"on": "2025-03-03", "org_unit": "COMP-B"})
    assert made.status_code == 201, made.text
    foreign = made.json()["plan_id"]
    unknown = foreign + 40
    hr = client_for("hr")
    for method, path in (("get", "{id}"), ("post", "{id}/apply"), ("post", "{id}/discard")):
        same_refusal(
            getattr(hr, method)(f"{BASE}/{path.format(id=unknown)}"),
            unknown,
            getattr(hr, method)(f"{BASE}/{path.format(id=foreign)}"),
            foreign,
        )
    assert hr.get(BASE).json()["total"] == 0
    whole = client_for("tmo").post(BASE, json={"on": "2025-03-03"})
    assert whole.status_code == 404  # the whole organisation is beyond a COMP-A grant
    for key in ("employee", "supervisor", "leader", "auditor"):
        assert client_for(key).post(BASE, json={"on": "2025-03-03"}).status_code == 403, key
        assert client_for(key).get(f"{BASE}/{foreign}").status_code == 403, key
