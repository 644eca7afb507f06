"""The ``distance`` report: for every remote worker and teleworker, how far home is from the
nearest agency office and from their duty station (WGS84 geodesics), those beyond the
directive's limit per component, who could not be judged and why, and the applied
designations the roster does not reflect yet (docs/reports.md, docs/designation.md).

Homes are sensitive: the report shows distances only, never a home's coordinates or ZIP.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa

from dutystation.reports.model import Column, ColumnKind, Report
from dutystation.services.designation_inputs import OfficeSet, StaffSet
from dutystation.services.designation_plan import home_to_station_m, nearest_agency_office
from dutystation.services.designation_report import (
    ARRANGEMENT,
    COMPONENT,
    EMPLOYEE,
    NAME,
    TOTAL,
    miles_array,
    site_array,
)
from dutystation.services.reporting.tables import query, section
from dutystation.store.designations import ON_SITE_ARRANGEMENTS

_K = ColumnKind
JUDGED_ARRANGEMENTS = ("remote", "telework")
NO_RULE = "no_distance_rule"

PEOPLE = (
    COMPONENT,
    EMPLOYEE,
    NAME,
    ARRANGEMENT,
    Column("nearest_office", "Nearest agency office", short="Nearest", priority=1),
    Column(
        "nearest_office_miles", "To nearest office (mi)", _K.NUMBER, short="Near mi", priority=0
    ),
    Column("duty_station", "Duty station", short="Station", priority=1),
    Column("duty_station_miles", "To duty station (mi)", _K.NUMBER, short="Stn mi", priority=0),
    Column("limit_miles", "Limit (mi)", _K.NUMBER, short="Limit", priority=2),
    Column("beyond_limit", "Nearest office beyond the limit", _K.BOOLEAN, short="Far", priority=0),
    Column(
        "duty_station_beyond_limit",
        "Duty station beyond the limit",
        _K.BOOLEAN,
        short="Stn far",
        priority=1,
    ),
    Column("directive", "Distance rule of", short="Directive", priority=6),
    Column("designated_office", "Designated office", short="Designated", priority=4),
)
SUMMARY = (
    COMPONENT,
    Column("remote", "Remote", _K.INTEGER),
    Column("telework", "Telework", _K.INTEGER),
    Column("judged", "Distances known", _K.INTEGER, short="Judged"),
    Column("beyond_limit", "Nearest office beyond the limit", _K.INTEGER, short="Far"),
    Column(
        "duty_station_beyond_limit", "Duty station beyond the limit", _K.INTEGER, short="Stn far"
    ),
    Column("not_judged", "Cannot judge", _K.INTEGER, short="Unknown"),
    TOTAL,
)
NOT_JUDGED = (COMPONENT, EMPLOYEE, NAME, ARRANGEMENT, Column("reason", "Why not", priority=0))
ROSTER_GAP = (
    COMPONENT,
    EMPLOYEE,
    NAME,
    Column("designated_office", "Designated office", short="Designated", priority=0),
    Column("duty_station", "Roster duty station", short="Roster", priority=0),
    ARRANGEMENT,
)
OFFICES = (
    Column("site_id", "Office", priority=0),
    Column("name", "Name", priority=3, wrap=True),
    Column("reason", "Why it does not count", short="Reason", priority=0),
)

_SUMMARY_SQL = """
WITH g AS (
    SELECT component,
        count(*) FILTER (arrangement = 'remote') AS remote,
        count(*) FILTER (arrangement = 'telework') AS telework,
        count(*) FILTER (reason = '') AS judged,
        count(*) FILTER (beyond_limit) AS beyond_limit,
        count(*) FILTER (duty_station_beyond_limit) AS duty_station_beyond_limit,
        count(*) FILTER (reason <> '') AS not_judged
    FROM everyone GROUP BY ALL
)
SELECT *, false AS is_total FROM g
UNION ALL
SELECT 'all', sum(remote)::BIGINT, sum(telework)::BIGINT, sum(judged)::BIGINT,
    sum(beyond_limit)::BIGINT, sum(duty_station_beyond_limit)::BIGINT,
    sum(not_judged)::BIGINT, true FROM g
ORDER BY is_total, component
"""


def _everyone(offices: OfficeSet, staff: StaffSet) -> pa.Table:
    rows = np.flatnonzero(np.isin(staff.arrangement, JUDGED_ARRANGEMENTS))
    near, near_m = nearest_agency_office(staff, offices, rows)
    station_m = home_to_station_m(staff, offices)[rows]
    limit = staff.limit_m[rows]
    reason = np.where(np.isnan(limit), NO_RULE, staff.home_problem[rows])
    judged = reason == ""
    station = staff.duty_station[rows]
    return pa.table(
        {
            "component": [staff.component[r] for r in rows],
            "employee_id": [staff.employee_id[r] for r in rows],
            "name": [staff.name[r] for r in rows],
            "arrangement": pa.array(staff.arrangement[rows].tolist(), pa.string()),
            "nearest_office": site_array(offices, np.where(judged, near, -1)),
            "nearest_office_miles": miles_array(np.where(judged, near_m, np.nan)),
            "duty_station": site_array(offices, station),
            "duty_station_miles": miles_array(np.where(judged, station_m, np.nan)),
            "limit_miles": miles_array(limit),
            "beyond_limit": pa.array(judged & (near_m > limit)),
            "duty_station_beyond_limit": pa.array(judged & (station_m > limit)),
            "directive": pa.array([staff.directive_ref[r] for r in rows], pa.string()),
            "designated_office": site_array(offices, staff.designated[rows]),
            "reason": pa.array(reason.tolist(), pa.string()),
        }
    )


def _roster_gap(offices: OfficeSet, staff: StaffSet) -> pa.Table:
    """Applied designations in force that the roster does not show: the employee's roster
    duty station is another office, or they do not work on site there yet."""
    d = staff.designated
    on_site = np.isin(staff.arrangement, ON_SITE_ARRANGEMENTS)
    rows = np.flatnonzero((d >= 0) & ((staff.duty_station != d) | ~on_site))
    return pa.table(
        {
            "component": pa.array([staff.component[r] for r in rows], pa.string()),
            "employee_id": pa.array([staff.employee_id[r] for r in rows], pa.string()),
            "name": pa.array([staff.name[r] for r in rows], pa.string()),
            "designated_office": site_array(offices, d[rows]),
            "duty_station": site_array(offices, staff.duty_station[rows]),
            "arrangement": pa.array(staff.arrangement[rows].tolist(), pa.string()),
        }
    )


def distance_report(offices: OfficeSet, staff: StaffSet, day: date, org_unit: str | None) -> Report:
    everyone = _everyone(offices, staff)
    judged = query(
        "SELECT * FROM everyone WHERE reason = '' ORDER BY component, employee_id",
        everyone=everyone,
    )
    far = query(
        "SELECT * FROM judged WHERE beyond_limit OR duty_station_beyond_limit "
        "ORDER BY component, nearest_office_miles DESC, employee_id",
        judged=judged,
    )
    unknown = query(
        "SELECT * FROM everyone WHERE reason <> '' ORDER BY component, employee_id",
        everyone=everyone,
    )
    where = offices.index_of()
    located = [e for e in offices.excluded if not offices.located[where[e[0]]]]
    office_table = pa.table(
        {
            "site_id": pa.array([r[0] for r in located], pa.string()),
            "name": pa.array([r[1] for r in located], pa.string()),
            "reason": pa.array([r[2] for r in located], pa.string()),
        }
    )
    sections = (
        section("summary", "Per component", SUMMARY, query(_SUMMARY_SQL, everyone=everyone)),
        section(
            "beyond-limit",
            "Beyond the limit: nearest agency office or duty station",
            PEOPLE,
            far,
        ),
        section(
            "people", "Every remote worker and teleworker with known distances", PEOPLE, judged
        ),
        section(
            "not-judged",
            "Remote workers and teleworkers whose distance is unknown",
            NOT_JUDGED,
            unknown,
        ),
        section(
            "not-on-roster",
            "Applied designations the roster does not reflect yet",
            ROSTER_GAP,
            _roster_gap(offices, staff),
        ),
        section(
            "offices-without-location",
            "Offices left out: no usable coordinates",
            OFFICES,
            office_table,
        ),
    )
    shown = {"as of": day.isoformat(), **({"org unit": org_unit} if org_unit else {})}
    return Report(
        kind="distance",
        title="Distance from home to agency offices",
        subtitle="Remote workers and teleworkers, per component, against the directive's limit",
        period_start=day,
        period_end=day,
        as_of=day,
        sections=sections,
        primary="beyond-limit",
        notes=(
            "Distances are WGS84 geodesics (geographiclib) from home (coordinates when given, "
            "else the ZIP code's centroid) to the office; homes themselves are never shown.",
        ),
        parameters=shown,
    )
