"""Designation plans on SQLite and PostgreSQL: who is designated where and why, seats,
applying with an audit record, what-if changes, and bad input listed, never skipped."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from designation_world import DAY, HR, Builder, office, person, world_fixture  # noqa: F401
from sqlalchemy import select

from dutystation.domain.access import Actor, Grant, Role
from dutystation.errors import ConfigError, Conflict, Forbidden, NotFound
from dutystation.services.designation import (
    PlanRequest,
    apply_designations,
    designated_headcount,
    discard_designations,
    free_seats,
    plan_designations,
)
from dutystation.services.designation_inputs import WhatIf, load_proposed_offices
from dutystation.store.schema_audit import AuditRecord
from dutystation.store.schema_designation import Designation, DesignationPlan


def _rows(outcome: object) -> dict[str, dict[str, object]]:
    table = outcome.report.section("people").table  # type: ignore[attr-defined]
    return {r["employee_id"]: r for r in table.to_pylist()}


def test_remote_staff_go_to_the_nearest_office_that_hosts_their_duties(
    world: Builder, tmp_path: Path
) -> None:
    offices = [
        office("WRONG", 5, units="COMP-B"),  # nearest, but another component's
        office("NOFUNC", 8, functions="legal"),  # does not list their job function
        office("RIGHT", 20),
        office("FAR", 40),
    ]
    built = world(offices, [person("E1")])
    outcome = plan_designations(built.runtime, HR, PlanRequest(day=DAY))
    row = _rows(outcome)["E1"]
    assert row["status"] == "placed" and row["site_id"] == "RIGHT"
    assert row["distance_miles"] == pytest.approx(20.0, abs=0.05)
    assert row["need"] == "no_agency_office"
    assert row["rejected_nearer"] == (
        "WRONG 5.0 mi: wrong component; NOFUNC 8.0 mi: job function not listed"
    )
    assert "hosts COMP-A" in str(row["rule"]) and "'analysis'" in str(row["rule"])
    with built.runtime.engine.connect() as conn:
        stored = conn.execute(select(Designation.office_id, Designation.applied_at)).all()
        plan = conn.execute(select(DesignationPlan.status, DesignationPlan.placed)).one()
        audit = conn.execute(
            select(AuditRecord.action, AuditRecord.subject_id).where(
                AuditRecord.action == "designation.plan"
            )
        ).all()
    assert len(stored) == 1 and stored[0][1] is None  # proposed, not applied
    assert tuple(plan) == ("proposed", 1)
    assert audit == [("designation.plan", str(outcome.plan_id))]


def test_seats_are_never_overfilled_and_the_overflow_is_listed_as_a_shortfall(
    world: Builder, tmp_path: Path
) -> None:
    offices = [office("NEAR", 10, seats=3), office("ALSO", 30, seats=1)]
    # Two on-site staff already sit at NEAR: one seat is free there.
    sitting = [person(f"S{i}", arrangement="onsite", station="NEAR") for i in range(2)]
    remote = [person(f"R{i}") for i in range(4)]
    built = world(offices, sitting + remote)
    with built.runtime.engine.connect() as conn:
        assert free_seats(conn, DAY) == {"NEAR": 1, "ALSO": 1}
    rows = _rows(plan_designations(built.runtime, HR, PlanRequest(day=DAY)))
    placed = [r["site_id"] for r in rows.values() if r["status"] == "placed"]
    assert sorted(placed) == ["ALSO", "NEAR"]
    unplaced = [r for r in rows.values() if r["status"] == "unplaced"]
    assert len(unplaced) == 2
    assert all(
        str(r["reason"]).startswith("full: the 2 eligible office(s) within 50 mi") for r in unplaced
    )


def test_people_who_cannot_be_placed_within_the_limit_are_listed_with_the_reason(
    world: Builder, tmp_path: Path
) -> None:
    offices = [office("OUT", 60), office("OTHER", 10, units="COMP-B")]
    built = world(offices, [person("E1")])
    row = _rows(plan_designations(built.runtime, HR, PlanRequest(day=DAY)))["E1"]
    assert row["status"] == "unplaced"
    assert row["reason"] == "no eligible office within 50 mi; nearest eligible: OUT at 60.0 mi"
    assert row["rejected_nearer"] == "OTHER 10.0 mi: wrong component; OUT 60.0 mi: beyond limit"


def test_beyond_limit_designate_rule_places_far_staff_at_the_nearest_eligible_office(
    world: Builder, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('beyond_limit = "designate"\n')
    built = world([office("OUT", 60), office("OUT2", 90)], [person("E1")])
    request = PlanRequest(day=DAY, rules_file=rules)
    row = _rows(plan_designations(built.runtime, HR, request))["E1"]
    assert (row["status"], row["site_id"]) == ("placed_beyond_limit", "OUT")
    assert "beyond the 50-mile limit" in str(row["rule"])


def test_staff_with_a_duty_station_within_the_limit_need_no_designation(
    world: Builder, tmp_path: Path
) -> None:
    offices = [office("NEAR", 49), office("FAR", 51)]
    people = [
        person("OK", station="NEAR"),
        person("TOOFAR", station="FAR"),
        person("TELE", arrangement="telework", station="FAR"),  # the rule is for remote only
    ]
    built = world(offices, people)
    rows = _rows(plan_designations(built.runtime, HR, PlanRequest(day=DAY)))
    assert set(rows) == {"TOOFAR"}
    assert rows["TOOFAR"]["need"] == "duty_station_beyond_limit"
    assert rows["TOOFAR"]["site_id"] == "NEAR"


def test_applying_a_plan_records_effective_dated_designations_with_an_audit_record(
    world: Builder, tmp_path: Path
) -> None:
    built = world([office("A", 10, seats=5)], [person("E1"), person("E2")])
    first = plan_designations(built.runtime, HR, PlanRequest(day=DAY))
    assert first.plan_id is not None
    assert apply_designations(built.runtime, HR, first.plan_id) == 2
    with built.runtime.engine.connect() as conn:
        assert designated_headcount(conn, DAY) == {"A": 2}
        assert designated_headcount(conn, date(2025, 3, 2)) == {}  # not before it starts
        # Designated but not on the roster yet: their seats are taken all the same.
        assert free_seats(conn, DAY) == {"A": 3}
        status = conn.scalar(select(DesignationPlan.status))
        audit = conn.execute(
            select(AuditRecord.after).where(AuditRecord.action == "designation.apply")
        ).scalar_one()
    assert status == "applied"
    assert json.loads(audit)["designations"] == 2
    with pytest.raises(Conflict, match="applied already"):
        apply_designations(built.runtime, HR, first.plan_id)
    # Nobody needs one any more: the applied designation is in force.
    again = plan_designations(built.runtime, HR, PlanRequest(day=DAY))
    assert _rows(again) == {}


def test_a_plan_made_before_a_roster_import_cannot_be_applied(
    world: Builder, tmp_path: Path
) -> None:
    built = world([office("A", 10)], [person("E1")])
    outcome = plan_designations(built.runtime, HR, PlanRequest(day=DAY))
    built.reimport([person("E2")])
    assert outcome.plan_id is not None
    with pytest.raises(Conflict, match="imported after designation plan"):
        apply_designations(built.runtime, HR, outcome.plan_id)


def test_what_if_shows_the_plan_and_the_shortfall_change_against_the_base_plan(
    world: Builder, tmp_path: Path
) -> None:
    offices = [office("A", 10, seats=1), office("SHUT", 5, seats=0), office("B", 20, seats=1)]
    built = world(offices, [person(f"E{i}") for i in range(4)])
    proposals = tmp_path / "new.toml"
    proposals.write_text(
        '[[office]]\nsite_id = "NEW"\nname = "Planned hub"\nlatitude = 39.0\n'
        'longitude = -95.2\nseats = 1\norg_units = ["COMP-A"]\njob_functions = ["analysis"]\n'
    )
    what_if = WhatIf(
        add_seats={"A": 1},
        open={"SHUT": 1, "NEW": 0},
        close=("B",),
        proposed=tuple(load_proposed_offices(proposals)),
    )
    outcome = plan_designations(built.runtime, HR, PlanRequest(day=DAY, what_if=what_if))
    change = {
        r["measure"]: r["change"] for r in outcome.report.section("what-if").table.to_pylist()
    }
    # Base: A and B take one each (shortfall 2). What-if: A 2, SHUT 1, NEW 1, B closed.
    assert change["placed within the limit"] == 2
    assert change["shortfall (unplaced for lack of seats)"] == -2
    assert outcome.plan_id is not None
    with pytest.raises(Conflict, match="what-if"):
        apply_designations(built.runtime, HR, outcome.plan_id)
    assert discard_designations(built.runtime, HR, outcome.plan_id) == 3  # NEW has no row
    with pytest.raises(ConfigError, match="--add-seats NOPE: no such office"):
        plan_designations(
            built.runtime, HR, PlanRequest(day=DAY, what_if=WhatIf(add_seats={"NOPE": 2}))
        )
    with pytest.raises(ConfigError, match="has 1 seats already"):
        plan_designations(built.runtime, HR, PlanRequest(day=DAY, what_if=WhatIf(open={"A": 3})))


def test_bad_offices_and_homes_are_listed_with_their_reason_never_skipped(
    world: Builder, tmp_path: Path
) -> None:
    offices = [
        office("GOOD", 10),
        office("NOWHERE", None),  # no coordinates
        office("EMPTY", 5, seats=0),
        office("NOFUNCS", 6, functions=""),
    ]
    people = [
        person("UNKNOWNZIP", home=None, zip_code="00003"),
        person("APO", home=None, zip_code="09001"),  # military mail: abroad
        person("NOHOME", home=None),
        person("STATIONLESS", station="NOWHERE"),
        person("NOFUNCTION", function=None),
        person("ZIPHOME", home=None, zip_code="66046"),  # Lawrence, Kansas: placed by centroid
    ]
    built = world(offices, people)
    outcome = plan_designations(built.runtime, HR, PlanRequest(day=DAY))
    rows = _rows(outcome)
    reasons = {e: (r["status"], r["reason"]) for e, r in rows.items()}
    assert reasons["UNKNOWNZIP"] == ("excluded", "unknown_zip")
    assert reasons["APO"] == ("excluded", "home_abroad")
    assert reasons["NOHOME"] == ("excluded", "no_home")
    assert reasons["STATIONLESS"] == ("excluded", "duty_station_without_coordinates")
    assert rows["STATIONLESS"]["need"] == "unknown"
    assert reasons["NOFUNCTION"] == ("excluded", "no_job_function")
    assert rows["ZIPHOME"]["status"] == "placed"
    excluded = {
        r["site_id"]: r["reason"]
        for r in outcome.report.section("excluded-offices").table.to_pylist()
    }
    assert excluded == {
        "NOWHERE": "no_coordinates",
        "EMPTY": "zero_seats",
        "NOFUNCS": "no_job_functions",
    }


def test_a_plan_needs_a_directive_with_a_distance_rule(world: Builder, tmp_path: Path) -> None:
    no_rule = "\n".join(line for line in DIRECTIVE_WITHOUT_RULE.splitlines() if line.strip())
    built = world([office("A", 10)], [person("E1")], directive=no_rule)
    with pytest.raises(
        ConfigError, match="no directive in force on 2025-03-03 has a distance_rule"
    ):
        plan_designations(built.runtime, HR, PlanRequest(day=DAY))


DIRECTIVE_WITHOUT_RULE = """
id = "NO-RULE"
version = 1
issuer = "Test"
title = "No distance rule"
issued = 2025-01-20
effective = 2025-01-20
[scope]
org_units = ["*"]
arrangements = ["telework", "remote"]
[requirement]
days_per_week = 3
"""


def test_planning_and_applying_are_authorised_in_the_service(
    world: Builder, tmp_path: Path
) -> None:
    built = world([office("A", 10)], [person("E1")])
    employee = Actor(user_id=None, username="emp", grants=(Grant(Role.EMPLOYEE),))
    with pytest.raises(Forbidden):
        plan_designations(built.runtime, employee, PlanRequest(day=DAY))
    hr_b = Actor(user_id=None, username="hr.b", grants=(Grant(Role.HR, "COMP-B"),))
    with pytest.raises(NotFound, match="org unit 'COMP-A' does not exist"):
        plan_designations(built.runtime, hr_b, PlanRequest(day=DAY, org_unit="COMP-A"))
    with pytest.raises(NotFound):  # the whole organisation is outside COMP-B's scope
        plan_designations(built.runtime, hr_b, PlanRequest(day=DAY))
    tmo = Actor(user_id=None, username="tmo", grants=(Grant(Role.TMO),))
    outcome = plan_designations(built.runtime, tmo, PlanRequest(day=DAY))
    assert outcome.plan_id is not None
    with pytest.raises(Forbidden):  # a TMO proposes; HR applies
        apply_designations(built.runtime, tmo, outcome.plan_id)
    with built.runtime.engine.connect() as conn:
        denied = (
            conn.execute(select(AuditRecord.action).where(AuditRecord.outcome == "denied"))
            .scalars()
            .all()
        )
    assert "designation.plan" in denied and "designation.apply" in denied
