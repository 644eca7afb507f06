"""The canonical fields of each import kind: the generic default profile reads exactly these
column names. docs/importing.md documents them; a test keeps the two in step."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ImportKind(StrEnum):
    ORG_UNITS = "org-units"
    OFFICES = "offices"
    ROSTER = "roster"
    TIMECARDS = "timecards"
    BADGES = "badges"


@dataclass(frozen=True)
class Field:
    name: str
    required: bool
    doc: str


FIELDS: dict[ImportKind, tuple[Field, ...]] = {
    ImportKind.ORG_UNITS: (
        Field("org_unit", True, "code of the unit, unique (e.g. DEPT-CYB)"),
        Field("name", True, "display name"),
        Field("parent", False, "code of the parent unit; empty for the root"),
        Field("kind", False, "department, component, division or other"),
    ),
    ImportKind.OFFICES: (
        Field("site_id", True, "code of the office, unique"),
        Field("name", True, "display name"),
        Field("address", False, "street address"),
        Field("zip", False, "5-digit ZIP code"),
        Field("latitude", False, "WGS84 degrees, -90..90"),
        Field("longitude", False, "WGS84 degrees, -180..180"),
        Field("timezone", True, "IANA zone, e.g. America/New_York"),
        Field("seats", True, "seat capacity, a whole number >= 0"),
        Field("org_unit", True, "owning org unit codes, separated by ';'"),
        Field("job_functions", False, "job functions hosted, separated by ';'"),
    ),
    ImportKind.ROSTER: (
        Field("employee_id", True, "HR id, kept as text (leading zeros matter)"),
        Field("name", True, "display name"),
        Field("org_unit", True, "org unit code"),
        Field("duty_station", False, "site_id of the official duty station (empty for remote)"),
        Field("arrangement", True, "onsite, telework, remote or field"),
        Field("effective_date", True, "YYYY-MM-DD: the row holds from this day on"),
        Field("schedule", False, "5x8 (default), 4x10, 5-4/9 or custom"),
        Field("supervisor_id", False, "employee_id of the supervisor"),
        Field("position", False, "position title"),
        Field("job_function", False, "job function (matched against offices' job_functions)"),
        Field("bargaining_unit", False, "bargaining unit code"),
        Field("telework_eligible", False, "true/false (also Y/N, yes/no, 1/0)"),
        Field("badge_id", False, "badge number held from effective_date on"),
        Field("email", False, "work email"),
        Field("home_zip", False, "home ZIP code (sensitive)"),
        Field("home_latitude", False, "home latitude (sensitive)"),
        Field("home_longitude", False, "home longitude (sensitive)"),
    ),
    ImportKind.TIMECARDS: (
        Field("employee_id", True, "HR id"),
        Field("date", True, "YYYY-MM-DD, the workday"),
        Field(
            "code",
            True,
            "onsite, telework_routine, telework_situational, remote, "
            "field_travel, leave or holiday (agency codes map onto these in a profile)",
        ),
        Field("hours", True, "hours, 0..24"),
        Field("site_id", False, "office where on-site hours were worked"),
    ),
    ImportKind.BADGES: (
        Field("employee_id", False, "HR id (this or badge_id is required)"),
        Field("badge_id", False, "badge number, resolved to an employee as of the event's day"),
        Field("timestamp", True, "ISO 8601; without an offset it is local time at the site"),
        Field("site_id", True, "office code"),
        Field("direction", False, "IN, OUT or empty"),
    ),
}

# Badges need one of these two identity columns.
ONE_OF: dict[ImportKind, tuple[str, ...]] = {ImportKind.BADGES: ("employee_id", "badge_id")}


def field_names(kind: ImportKind) -> list[str]:
    return [f.name for f in FIELDS[kind]]
