"""Builders for the store and import tests: small functions that write CSV files in the
generic profile's columns to tmp_path and load a standard little organisation.

Organisation used throughout (five levels deep, to exercise "any depth"):

    DEPT > COMP-A > DIV-A1 > BR-A1X > TEAM-A1X1
         > COMP-B
Offices: HQ (owned by DEPT, COMP-A), FIELD-1 (COMP-B), SPARE (DEPT, used by nobody).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from dutystation.services.import_records import import_offices, import_org_units
from dutystation.settings import Settings
from dutystation.store.schema import Base

ORG_COLUMNS = ["org_unit", "name", "parent", "kind"]
OFFICE_COLUMNS = [
    "site_id",
    "name",
    "address",
    "zip",
    "latitude",
    "longitude",
    "timezone",
    "seats",
    "org_unit",
    "job_functions",
]
ROSTER_COLUMNS = [
    "employee_id",
    "name",
    "email",
    "org_unit",
    "duty_station",
    "arrangement",
    "effective_date",
    "schedule",
    "supervisor_id",
    "position",
    "job_function",
    "bargaining_unit",
    "telework_eligible",
    "badge_id",
    "home_zip",
    "home_latitude",
    "home_longitude",
]

UNITS = [
    ("DEPT", "Department", "", "department"),
    ("COMP-A", "Component A", "DEPT", "component"),
    ("COMP-B", "Component B", "DEPT", "component"),
    ("DIV-A1", "Division A1", "COMP-A", "division"),
    ("BR-A1X", "Branch A1X", "DIV-A1", "other"),
    ("TEAM-A1X1", "Team A1X1", "BR-A1X", "other"),
]
OFFICES = [
    (
        "HQ",
        "Headquarters",
        "1 Main St",
        "20001",
        "38.9",
        "-77.03",
        "America/New_York",
        "300",
        "DEPT;COMP-A",
        "analysis;legal",
    ),
    (
        "FIELD-1",
        "Field office",
        "9 Elm Rd",
        "80202",
        "39.74",
        "-104.99",
        "America/Denver",
        "40",
        "COMP-B",
        "inspection",
    ),
    ("SPARE", "Annex", "", "", "", "", "America/Chicago", "0", "DEPT", ""),
]
DAY = "2025-01-06"


def settings_for(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def write_csv(
    path: Path, columns: Sequence[str], rows: Sequence[Sequence[Any] | dict[str, Any]]
) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(columns)
        for row in rows:
            if isinstance(row, dict):
                out.writerow(["" if row.get(c) is None else row[c] for c in columns])
            else:
                out.writerow(row)
    return path


def org_units_csv(
    tmp_path: Path, rows: Sequence[Sequence[str]] = UNITS, name: str = "org.csv"
) -> Path:
    return write_csv(tmp_path / name, ORG_COLUMNS, rows)


def offices_csv(
    tmp_path: Path, rows: Sequence[Sequence[str]] = OFFICES, name: str = "offices.csv"
) -> Path:
    return write_csv(tmp_path / name, OFFICE_COLUMNS, rows)


def person(employee_id: str, **fields: Any) -> dict[str, Any]:
    """A valid roster row; keyword arguments override single columns."""
    row: dict[str, Any] = {
        "employee_id": employee_id,
        "name": f"Person {employee_id}",
        "email": f"{employee_id.lower()}@agency.example.gov",
        "org_unit": "COMP-A",
        "duty_station": "HQ",
        "arrangement": "telework",
        "effective_date": DAY,
        "schedule": "5x8",
        "position": "Analyst",
        "job_function": "analysis",
        "telework_eligible": "Y",
    }
    row.update(fields)
    return row


def roster_csv(tmp_path: Path, rows: Sequence[dict[str, Any]], name: str = "roster.csv") -> Path:
    return write_csv(tmp_path / name, ROSTER_COLUMNS, rows)


def load_organisation(engine: Engine, tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    import_org_units(engine, [org_units_csv(tmp_path)], settings=settings)
    import_offices(engine, [offices_csv(tmp_path)], settings=settings)


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows in every table: the atomicity tests compare these before and after."""
    with engine.connect() as conn:
        return {
            name: conn.scalar(select(func.count()).select_from(table)) or 0
            for name, table in Base.metadata.tables.items()
        }
