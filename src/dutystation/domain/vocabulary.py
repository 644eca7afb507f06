"""The enumerations of DESIGN.md §2: strings on the wire, enums in code."""

from __future__ import annotations

from enum import StrEnum


class Arrangement(StrEnum):
    ONSITE = "onsite"
    TELEWORK = "telework"  # reports to the duty station regularly, some days elsewhere
    REMOTE = "remote"  # an alternative worksite is the official worksite
    FIELD = "field"  # duties in the field count as being at the duty station


class ScheduleKind(StrEnum):
    FIVE_EIGHT = "5x8"
    FOUR_TEN = "4x10"
    FIVE_FOUR_NINE = "5-4/9"
    CUSTOM = "custom"


class HoursCategory(StrEnum):
    """Where T&A hours were worked (or why not). Agency pay codes map onto these."""

    ONSITE = "onsite"
    TELEWORK_ROUTINE = "telework_routine"
    TELEWORK_SITUATIONAL = "telework_situational"
    REMOTE = "remote"
    FIELD_TRAVEL = "field_travel"  # field work and official travel: at the duty station
    LEAVE = "leave"  # neither on nor off site: out of the denominator
    HOLIDAY = "holiday"  # likewise


class Direction(StrEnum):
    IN = "IN"
    OUT = "OUT"


class OrgUnitKind(StrEnum):
    DEPARTMENT = "department"
    COMPONENT = "component"
    DIVISION = "division"
    OTHER = "other"
