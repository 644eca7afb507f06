"""Builders for the designation tests: a small organisation, offices placed at exact
geodesic distances from a point, and staff with homes, loaded through the real importers
into SQLite or PostgreSQL, with a directive folder holding the 50-mile rule.

    DEPT > COMP-A > DIV-A1
         > COMP-B

Write only what a test is about: ``office(...)`` and ``person(...)`` take overrides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from test_import_records_builders import OFFICE_COLUMNS, ORG_COLUMNS, ROSTER_COLUMNS, write_csv

from dutystation.bootstrap import Runtime, bootstrap
from dutystation.domain.access import Actor, Grant, Role
from dutystation.domain.geodesy import destination, miles_to_metres
from dutystation.services.import_records import import_offices, import_org_units, import_roster
from dutystation.settings import Settings
from dutystation.store.db import make_engine, migrate

HOME = (39.0, -95.0)  # Kansas: every distance below is measured from here
DAY = date(2025, 3, 3)
HR = Actor(user_id=None, username="hr.tester", grants=(Grant(Role.HR),))
UNITS = [
    ("DEPT", "Department", "", "department"),
    ("COMP-A", "Component A", "DEPT", "component"),
    ("COMP-B", "Component B", "DEPT", "component"),
    ("DIV-A1", "Division A1", "COMP-A", "division"),
]
DIRECTIVE = """
id = "TEST-RTO"
version = 1
issuer = "Test"
title = "Return, with the 50-mile rule"
issued = 2025-01-20
effective = 2025-01-20

[scope]
org_units = ["*"]
arrangements = ["telework", "remote"]
presumed_compliant = ["onsite", "field"]

[requirement]
onsite_share_of_hours = 1.0

[distance_rule]
designate_beyond_miles = 50
arrangements = ["remote"]
"""


def at(
    miles: float, bearing: float = 90.0, origin: tuple[float, float] = HOME
) -> tuple[float, float]:
    """The point ``miles`` from ``origin`` along ``bearing`` (degrees), exactly."""
    return destination(origin[0], origin[1], bearing, miles_to_metres(miles))


def office(
    site: str,
    miles: float | None,
    *,
    bearing: float = 90.0,
    seats: int = 10,
    units: str = "COMP-A",
    functions: str = "analysis",
) -> dict[str, Any]:
    lat, lon = at(miles, bearing) if miles is not None else ("", "")
    return {
        "site_id": site,
        "name": f"Office {site}",
        "latitude": f"{lat:.9f}" if lat != "" else "",
        "longitude": f"{lon:.9f}" if lon != "" else "",
        "timezone": "America/Chicago",
        "seats": str(seats),
        "org_unit": units,
        "job_functions": functions,
    }


def person(
    employee_id: str,
    *,
    home: tuple[float, float] | None = HOME,
    zip_code: str | None = None,
    arrangement: str = "remote",
    unit: str = "COMP-A",
    station: str | None = None,
    function: str | None = "analysis",
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "employee_id": employee_id,
        "name": f"Person {employee_id}",
        "org_unit": unit,
        "duty_station": station or "",
        "arrangement": arrangement,
        "effective_date": "2025-01-06",
        "schedule": "5x8",
        "job_function": function or "",
        "telework_eligible": "Y",
        "home_zip": zip_code or "",
    }
    if home is not None:
        row["home_latitude"] = f"{home[0]:.9f}"
        row["home_longitude"] = f"{home[1]:.9f}"
    return row


@dataclass
class World:
    runtime: Runtime
    tmp_path: Path

    def reimport(self, people: Sequence[dict[str, Any]], name: str = "again.csv") -> None:
        path = write_csv(self.tmp_path / name, ROSTER_COLUMNS, people)
        import_roster(self.runtime.engine, [path], settings=self.runtime.settings)


def build(
    db_url: str,
    tmp_path: Path,
    offices: Sequence[dict[str, Any]],
    people: Sequence[dict[str, Any]],
    *,
    directive: str | None = DIRECTIVE,
) -> World:
    policies = tmp_path / "policies"
    policies.mkdir(exist_ok=True)
    if directive is not None:
        (policies / "rto.toml").write_text(directive)
    settings = Settings(data_dir=tmp_path / "data", database_url=db_url, policies_dir=policies)
    fresh = make_engine(db_url)
    migrate(fresh)  # a server database is migrated explicitly, as in production
    fresh.dispose()
    runtime = bootstrap(settings)
    import_org_units(
        runtime.engine, [write_csv(tmp_path / "org.csv", ORG_COLUMNS, UNITS)], settings=settings
    )
    import_offices(
        runtime.engine,
        [write_csv(tmp_path / "offices.csv", OFFICE_COLUMNS, offices)],
        settings=settings,
    )
    if people:
        import_roster(
            runtime.engine,
            [write_csv(tmp_path / "roster.csv", ROSTER_COLUMNS, people)],
            settings=settings,
        )
    return World(runtime, tmp_path)


Builder = Callable[..., World]


@pytest.fixture(name="world")
def world_fixture(db_url: str, tmp_path: Path) -> Iterator[Builder]:
    """``world(offices, people, directive=...)`` on the test's backend; every engine it
    made is disposed afterwards (PostgreSQL drops the scratch database then)."""
    made: list[World] = []

    def make(
        offices: Sequence[dict[str, Any]],
        people: Sequence[dict[str, Any]],
        *,
        directive: str | None = DIRECTIVE,
    ) -> World:
        built = build(db_url, tmp_path, offices, people, directive=directive)
        made.append(built)
        return built

    yield make
    for built in made:
        built.runtime.engine.dispose()
