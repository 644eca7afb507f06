"""A small hand-built organisation for the capacity tests, written straight into the store
(both backends): every directive kind, exemptions, agreements, a unit not bound, field and
on-site staff, remote staff with no office.

    DEA > DEA-A (60 % of hours)  DEA-B (3 days a week)  DEA-C (4 days a pay period)
        > DEA-N (not bound: legal impediment)

Offices: HQ (2 seats), FLD (10 seats), IDLE (5 seats, nobody's duty station).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dutystation.domain.directive import Directive, ExemptionCategory, Requirement
from dutystation.domain.inputs import Agreement, EmployeeExemption
from dutystation.domain.status import ApprovedExemption
from dutystation.services.capacity import CapacityInputs
from dutystation.store.schema import Employee, EmployeeAssignment, Office, OrgUnit

SINCE = date(2025, 1, 1)
UNITS = {"DEA": None, "DEA-A": "DEA", "DEA-B": "DEA", "DEA-C": "DEA", "DEA-N": "DEA"}
OFFICES = {
    "HQ": (2, 38.9, -77.03),
    "FLD": (10, 39.74, -104.99),
    "IDLE": (5, 13.47, 144.75),  # Guam: not on the albersUsa map
}
# employee_id: (org unit, duty station, arrangement, schedule, bargaining unit)
PEOPLE: dict[str, tuple[str, str | None, str, str, str | None]] = {
    "A1": ("DEA-A", "HQ", "onsite", "5x8", None),
    "A2": ("DEA-A", "HQ", "telework", "5x8", None),
    "A3": ("DEA-A", "HQ", "telework", "4x10", None),
    "A4": ("DEA-A", "HQ", "telework", "5x8", None),  # exempt (compelling reason)
    "A5": ("DEA-A", "HQ", "field", "5x8", None),
    "A6": ("DEA-A", "HQ", "telework", "5x8", None),  # exempt, category not allowed
    "B1": ("DEA-B", "FLD", "telework", "5x8", None),
    "B2": ("DEA-B", "FLD", "telework", "4x10", None),
    "C1": ("DEA-C", "FLD", "telework", "5x8", None),
    "C2": ("DEA-C", "FLD", "telework", "5x8", "U1"),  # agreement: 2 days a pay period
    "N1": ("DEA-N", "FLD", "telework", "5x8", None),  # not bound
    "N2": ("DEA-N", "FLD", "onsite", "5x8", None),
    "R1": ("DEA-A", None, "remote", "5x8", None),  # bound, no office
}


def directive(ident: str, unit: str, requirement: dict[str, Any], **extra: Any) -> Directive:
    return Directive.model_validate(
        {
            "id": ident,
            "version": 1,
            "issuer": "Secretary",
            "title": ident,
            "issued": "2025-01-24",
            "effective": "2025-01-24",
            "scope": {
                "org_units": [unit],
                "arrangements": ["onsite", "telework", "remote"],
                "presumed_compliant": ["field"],
                **extra,
            },
            "requirement": requirement,
            "exemptions": {"categories": ["compelling_reason", "lack_of_office_space"]},
        }
    )


DIRECTIVES = [
    directive(
        "SHARE",
        "DEA-A",
        {"onsite_share_of_hours": 0.6},
        not_bound=[{"org_unit": "DEA-N", "legal_basis": "legal impediment"}],
    ),
    directive("WEEK", "DEA-B", {"days_per_week": 3}),
    directive("PP", "DEA-C", {"days_per_pay_period": 4}),
]
EXEMPTIONS = [
    EmployeeExemption("A4", ApprovedExemption(ExemptionCategory.COMPELLING_REASON, SINCE)),
    EmployeeExemption("A6", ApprovedExemption(ExemptionCategory.MEDICAL_CONDITION, SINCE)),
]
AGREEMENTS = [Agreement("U1", "Local 1", SINCE, None, Requirement(days_per_pay_period=2))]
INPUTS = CapacityInputs(DIRECTIVES, EXEMPTIONS, AGREEMENTS)


def store(engine: Engine, people: Sequence[str] = tuple(PEOPLE)) -> dict[str, int]:
    """Write the organisation and ``people``; returns the store key of every employee."""
    with Session(engine) as session, session.begin():
        units: dict[str, OrgUnit] = {}
        for code, parent in UNITS.items():
            kind = "department" if parent is None else "component"
            unit = OrgUnit(code=code, name=f"Unit {code}", kind=kind)
            if parent is not None:
                unit.parent_id = units[parent].id
            session.add(unit)
            session.flush()
            units[code] = unit
        offices = {}
        for site, (seats, lat, lon) in OFFICES.items():
            office = Office(
                site_id=site,
                name=f"Office {site}",
                timezone="America/New_York",
                seats=seats,
                latitude=lat,
                longitude=lon,
            )
            session.add(office)
            offices[site] = office
        session.flush()
        keys = {}
        for employee_id in people:
            unit, station, arrangement, schedule, bargaining = PEOPLE[employee_id]
            person = Employee(employee_id=employee_id, name=f"Person {employee_id}", active=True)
            session.add(person)
            session.flush()
            keys[employee_id] = person.id
            session.add(
                EmployeeAssignment(
                    employee_pk=person.id,
                    effective_from=SINCE,
                    org_unit_id=units[unit].id,
                    duty_station_id=offices[station].id if station else None,
                    arrangement=arrangement,
                    schedule=schedule,
                    bargaining_unit=bargaining,
                )
            )
        return keys
