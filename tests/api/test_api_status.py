"""Status and overview over HTTP (api/routes/status.py) on the seeded world with four weeks
of T&A hours and a refreshed snapshot: everyone reads their own status; a supervisor
their reports and team; a leader their component's overview down to its people; anything
outside a scope answers exactly like what does not exist; an import marks the answers
stale."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from area_world import Client, app, csv_bytes, same_refusal, upload, write_policies
from fastapi import FastAPI
from httpx2 import Response
from pydantic import BaseModel

from api_world import PEOPLE, World
from dutystation.api.routes.status import EmployeeStatusOut, OverviewOut, PeopleOut
from dutystation.bootstrap import bootstrap
from dutystation.ingest.fields import ImportKind
from dutystation.services.importing import run_import
from dutystation.services.snapshot import refresh_snapshot

__all__ = ["app"]

FIRST = date(2025, 2, 3)  # a Monday, after the directive took effect
WEEKS = 4
TIMECARDS = ["employee_id", "date", "code", "hours", "site_id"]
# Teleworkers work from home on Mondays and Fridays; everyone else is on site.
AT_HOME = {0, 4}


def _timecards(world: World) -> None:
    rows = []
    for week in range(WEEKS):
        for weekday in range(5):
            day = (FIRST + timedelta(days=7 * week + weekday)).isoformat()
            for employee_id, _, _, site, arrangement, _ in PEOPLE:
                home = arrangement == "remote" or (arrangement == "telework" and weekday in AT_HOME)
                rows.append(
                    (employee_id, day, "telework_routine", "8", "")
                    if home
                    else (employee_id, day, "onsite", "8", site)
                )
    path = world.data_dir.parent / "ta.csv"
    path.write_bytes(csv_bytes(TIMECARDS, rows))
    runtime = bootstrap(world.settings(policies_dir=world.data_dir.parent / "policies"))
    run_import(runtime, ImportKind.TIMECARDS, [path])
    refresh_snapshot(runtime)
    runtime.engine.dispose()


def conforming(answer: Response, model: type[BaseModel]) -> Any:
    """The JSON of a 200 answer, which must be exactly its documented model's: parsed by the
    model (its types, no field missing or extra) and encoded again, the same bytes (the
    routes encode the services' dataclasses without building the model)."""
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert model.model_validate_json(answer.content).model_dump_json().encode() == answer.content
    return answer.json()


@pytest.fixture
def snapshot(world: World, app: FastAPI) -> World:
    write_policies(world.data_dir.parent / "policies")
    _timecards(world)
    return world


def test_an_employee_reads_their_own_weeks_and_status(snapshot: World, client_for: Client) -> None:
    answer = client_for("employee").get("/api/v1/status/me")
    body = conforming(answer, EmployeeStatusOut)
    assert (body["employee_id"], body["org_unit"], body["arrangement"]) == (
        "W1",
        "TEAM-A1",
        "telework",
    )
    assert [w["week_start"] for w in body["weeks"]] == [
        (FIRST + timedelta(days=7 * k)).isoformat() for k in range(WEEKS)
    ]
    week = body["weeks"][-1]
    assert (week["hours_required"], week["hours_on_site"], week["hours_off_site"]) == (40, 24, 16)
    assert (week["days_on_site_ta"], week["status"]) == (3, "non_compliant")
    assert body["status"] == "non_compliant" and "60.0%" in body["reason"]
    assert body["requirement"]["directive_ref"] == "TEST-RTO@1"
    assert body["requirement"]["requirement"] == "100% of hours on site"
    assert [t["passed"] for t in body["duty_station_tests"]] == [True] * len(
        body["duty_station_tests"]
    )
    assert body["snapshot"]["stale"] is False
    assert body["snapshot"]["as_of"] == (FIRST + timedelta(days=7 * WEEKS - 1)).isoformat()
    assert answer.headers["cache-control"] == "no-store"


def test_a_status_outside_the_scope_reads_as_not_found(snapshot: World, client_for: Client) -> None:
    unknown = "NOBODY"
    for key, foreign in (("employee", "W2"), ("supervisor", "B1"), ("leader", "BMGR")):
        client = client_for(key)
        same_refusal(
            client.get(f"/api/v1/status/employees/{unknown}"),
            unknown,
            client.get(f"/api/v1/status/employees/{foreign}"),
            foreign,
        )
    conforming(client_for("supervisor").get("/api/v1/status/employees/W2"), EmployeeStatusOut)
    assert client_for("leader").get("/api/v1/status/employees/W3").status_code == 200
    assert client_for("anonymous").get("/api/v1/status/me").status_code == 401
    assert client_for("agency_admin").get("/api/v1/status/me").status_code == 404  # no record


def test_a_supervisor_sees_their_team(snapshot: World, client_for: Client) -> None:
    body = conforming(client_for("supervisor").get("/api/v1/team"), PeopleOut)
    assert [p["employee_id"] for p in body["items"]] == ["W1", "W2"] and body["total"] == 2
    assert {p["status"] for p in body["items"]} == {"non_compliant"}
    assert client_for("employee").get("/api/v1/team").status_code == 403


def test_a_leader_drills_down_from_the_component_to_people(
    snapshot: World, client_for: Client
) -> None:
    leader = client_for("leader")
    body = conforming(leader.get("/api/v1/overview"), OverviewOut)
    assert body["org_unit"] == "COMP-A" and body["since"] == "2025-01-20"
    rows = {(c["org_unit"], c["own_staff_only"]): c for c in body["children"]}
    assert set(rows) == {("TEAM-A1", False), ("TEAM-A2", False), ("COMP-A", True)}
    team = rows[("TEAM-A1", False)]
    # MGR1, W1, W2: teleworkers three days of five on site.
    assert (team["staff"], team["people"], team["child_units"]) == (3, 3, 0)
    assert team["share_on_site"] == 0.6 and team["compliance_rate"] == 0.0
    assert len(team["weeks"]) == WEEKS and team["exemptions"] == {}
    assert rows[("COMP-A", True)]["share_on_site"] == 1.0  # the director, on site
    people = leader.get("/api/v1/overview/people", params={"org": "TEAM-A1", "limit": 2})
    page = conforming(people, PeopleOut)
    assert [p["employee_id"] for p in page["items"]] == ["MGR1", "W1"] and page["total"] == 3
    same_refusal(
        leader.get("/api/v1/overview", params={"org": "NOPE"}),
        "NOPE",
        leader.get("/api/v1/overview", params={"org": "COMP-B"}),
        "COMP-B",
    )
    same_refusal(
        leader.get("/api/v1/overview/people", params={"org": "NOPE"}),
        "NOPE",
        leader.get("/api/v1/overview/people", params={"org": "TEAM-B1"}),
        "TEAM-B1",
    )
    assert client_for("employee").get("/api/v1/overview").status_code == 403
    whole = conforming(client_for("auditor").get("/api/v1/overview"), OverviewOut)
    assert whole["org_unit"] == "DEPT"
    assert {c["org_unit"] for c in whole["children"]} == {"COMP-A", "COMP-B"}


def test_answers_say_when_an_import_made_them_stale(snapshot: World, client_for: Client) -> None:
    extra = csv_bytes(TIMECARDS, [("W1", "2025-03-03", "onsite", "8", "HQ")])
    stored = upload(client_for("agency_admin"), "timecards", ("late.csv", extra))
    assert stored.status_code == 200, stored.text
    body = conforming(client_for("employee").get("/api/v1/status/me"), EmployeeStatusOut)
    assert body["snapshot"]["stale"] is True and body["snapshot"]["changed_at"]
    assert client_for("leader").get("/api/v1/overview").json()["snapshot"]["stale"] is True


def test_before_the_first_refresh_the_answer_says_how_to_make_one(
    world: World, client_for: Client
) -> None:
    answer = client_for("employee").get("/api/v1/status/me")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert "evaluate --refresh" in answer.json()["detail"]
