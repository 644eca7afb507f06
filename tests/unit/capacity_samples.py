"""Hand-built capacity figures for the report tests: the tables ``services/capacity.py``
hands to ``services.reporting.seats.capacity_report``."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa

from dutystation.analytics.capacity import OFFICE_DAYS_SCHEMA, UNPLACED_DAYS_SCHEMA
from dutystation.services.capacity import OBSERVED_SCHEMA
from dutystation.services.capacity_inputs import OFFICES_SCHEMA
from dutystation.services.reporting.seats import CapacityFigures
from dutystation.services.unplaced_areas import AREAS_SCHEMA

MONDAY = date(2025, 3, 3)
WEEK = [MONDAY + timedelta(days=i) for i in range(5)]
# site_id: (name, seats, latitude, longitude, expected Monday to Friday)
OFFICES = {
    "HQ": ("Headquarters", 2, 38.9, -77.03, [2.8, 2.8, 2.8, 2.8, 2.2]),
    "FLD": ("Field office", 10, 39.74, -104.99, [2.95, 2.95, 2.95, 2.95, 2.2]),
    "GU": ("Guam office", 5, 13.47, 144.75, [0.0] * 5),
    "ANX": ("Annex", 0, None, None, [0.0] * 5),
}


def offices() -> pa.Table:
    rows = [
        {"site_id": s, "name": n, "seats": seats, "latitude": lat, "longitude": lon}
        for s, (n, seats, lat, lon, _) in OFFICES.items()
    ]
    return pa.Table.from_pylist(rows, schema=OFFICES_SCHEMA)


def days() -> pa.Table:
    rows = []
    for site, (_, _, _, _, expected) in OFFICES.items():
        for day, value in zip(WEEK, expected, strict=True):
            people = 6 if site in ("HQ", "FLD") else 0
            rows.append(
                {
                    "site_id": site,
                    "day": day,
                    "assigned": people,
                    "onsite": 1 if people else 0,
                    "telework": people - 1 if people else 0,
                    "remote": 0,
                    "field": 0,
                    "designated": 1 if site == "HQ" else 0,
                    "exempt": 1 if site == "HQ" else 0,
                    "expected": value,
                }
            )
    table = pa.Table.from_pylist(rows, schema=OFFICE_DAYS_SCHEMA)
    seats = [OFFICES[s][1] for s in table.column("site_id").to_pylist()]
    return table.append_column("seats", pa.array(seats, pa.int64()))


def unplaced() -> pa.Table:
    rows = [
        {"org_unit": unit, "day": day, "people": 1, "expected": 0.6}
        for unit in ("DEA-EMA", "DEA-EIS")
        for day in WEEK
    ]
    table = pa.Table.from_pylist(rows, schema=UNPLACED_DAYS_SCHEMA)
    paths = [f"DEA/{u}" for u in table.column("org_unit").to_pylist()]
    return table.append_column("org_path", pa.array(paths, pa.string()))


def observed() -> pa.Table:
    rows = [{"site_id": "HQ", "day": d, "observed": 3} for d in WEEK[:3]]
    return pa.Table.from_pylist(rows, schema=OBSERVED_SCHEMA)


def places() -> pa.Table:
    rows = [
        {"place": "ZIP3 590", "latitude": 45.8, "longitude": -108.5, "people": 7},
        {"place": "ZIP3 995", "latitude": 61.2, "longitude": -149.9, "people": 2},
    ]
    return pa.Table.from_pylist(rows, schema=AREAS_SCHEMA)


def figures(*, observed_until: date | None = WEEK[2]) -> CapacityFigures:
    return CapacityFigures(
        offices=offices(),
        days=days(),
        unplaced=unplaced(),
        observed=observed(),
        observed_until=observed_until,
        places=places(),
        plan_note="Unplaced staff of designation plan 1 (2025-03-01).",
    )
