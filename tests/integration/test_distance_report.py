"""The ``distance`` report on SQLite and PostgreSQL: remote staff and teleworkers against the
directive's limit per component, what cannot be judged, designations not yet on the
roster, and never a home's location in any output."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from designation_world import DAY, HOME, HR, Builder, at, office, person, world_fixture  # noqa: F401

from dutystation.errors import ConfigError
from dutystation.reports.json import write_json
from dutystation.services.designation import PlanRequest, apply_designations, plan_designations
from dutystation.services.reporting import ReportRequest, build_report


def _by_employee(report: object, key: str) -> dict[str, dict[str, object]]:
    table = report.section(key).table  # type: ignore[attr-defined]
    return {r["employee_id"]: r for r in table.to_pylist()}


def test_staff_beyond_the_limit_are_listed_per_component_with_both_distances(
    world: Builder,
) -> None:
    offices = [office("NEAR", 30), office("FAR", 70, units="COMP-B", functions="inspection")]
    people = [
        person("REMOTE-OK"),
        person("REMOTE-FAR", home=at(130, bearing=270.0)),  # 100 mi from NEAR at least
        person("TELE-FAR", arrangement="telework", unit="COMP-B", station="FAR"),
        person("ONSITE", arrangement="onsite", station="NEAR"),  # not judged: on site
    ]
    built = world(offices, people)
    report = build_report(built.runtime, ReportRequest("distance", end=DAY))
    everyone = _by_employee(report, "people")
    assert set(everyone) == {"REMOTE-OK", "REMOTE-FAR", "TELE-FAR"}
    assert everyone["REMOTE-OK"]["nearest_office"] == "NEAR"
    assert everyone["REMOTE-OK"]["nearest_office_miles"] == pytest.approx(30.0, abs=0.05)
    assert everyone["REMOTE-OK"]["beyond_limit"] is False
    far = _by_employee(report, "beyond-limit")
    assert set(far) == {"REMOTE-FAR", "TELE-FAR"}
    assert far["TELE-FAR"]["duty_station_miles"] == pytest.approx(70.0, abs=0.05)
    assert (far["TELE-FAR"]["beyond_limit"], far["TELE-FAR"]["duty_station_beyond_limit"]) == (
        False,
        True,
    )
    assert far["TELE-FAR"]["component"] == "COMP-B"
    summary = {r["component"]: r for r in report.section("summary").table.to_pylist()}
    assert summary["COMP-A"]["beyond_limit"] == 1
    assert summary["COMP-B"]["duty_station_beyond_limit"] == 1
    assert summary["all"]["judged"] == 3


def test_homes_never_appear_in_the_report_only_distances(world: Builder) -> None:
    people = [person("E1", zip_code="66046", home=None), person("E2", home=(39.123457, -95.65432))]
    built = world([office("NEAR", 30)], people)
    report = build_report(built.runtime, ReportRequest("distance", end=DAY))
    out = io.StringIO()
    write_json(report, out)
    text = out.getvalue()
    assert "66046" not in text
    assert "39.12" not in text and "95.65" not in text
    assert json.loads(text)["report"] == "distance"


def test_people_whose_distance_is_unknown_are_listed_with_the_reason(world: Builder) -> None:
    people = [
        person("NOZIP", home=None, zip_code="00003"),
        person("ABROAD", home=(51.5, -0.12)),  # London
        person("NOHOME", home=None),
    ]
    built = world([office("NEAR", 30), office("NOWHERE", None)], people)
    report = build_report(built.runtime, ReportRequest("distance", end=DAY))
    unknown = {e: r["reason"] for e, r in _by_employee(report, "not-judged").items()}
    assert unknown == {"NOZIP": "unknown_zip", "ABROAD": "home_abroad", "NOHOME": "no_home"}
    offices = report.section("offices-without-location").table.to_pylist()
    assert [(o["site_id"], o["reason"]) for o in offices] == [("NOWHERE", "no_coordinates")]


def test_applied_designations_the_roster_does_not_show_yet_are_listed(world: Builder) -> None:
    built = world([office("NEAR", 30)], [person("E1")])
    plan = plan_designations(built.runtime, HR, PlanRequest(day=DAY))
    assert plan.plan_id is not None
    apply_designations(built.runtime, HR, plan.plan_id)
    report = build_report(built.runtime, ReportRequest("distance", end=DAY))
    gap = _by_employee(report, "not-on-roster")
    assert gap["E1"]["designated_office"] == "NEAR" and gap["E1"]["duty_station"] is None
    # HR updates the roster: the designation is reflected, the gap closes.
    built.reimport([person("E1", arrangement="onsite", station="NEAR")])
    report = build_report(built.runtime, ReportRequest("distance", end=DAY))
    assert _by_employee(report, "not-on-roster") == {}


def test_the_distance_report_is_as_of_one_day(world: Builder, tmp_path: Path) -> None:
    built = world([office("NEAR", 30)], [person("E1")])
    with pytest.raises(ConfigError, match="as of one day"):
        build_report(built.runtime, ReportRequest("distance", period="2025-W10"))
