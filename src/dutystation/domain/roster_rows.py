"""One roster row: validating it into value objects, and the checks that look across the
rows of one import (a badge given twice, a supervisor nobody knows). Pure.
Home locations are sensitive: they never appear in a repr, a message or a summary."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence, Set
from dataclasses import dataclass, field
from datetime import date

from dutystation.domain.values import (
    RawRow,
    Rejection,
    RowError,
    boolean,
    check_no_nul,
    choice,
    coordinates,
    identifier,
    parse_date,
    text,
    zip_code,
)
from dutystation.domain.vocabulary import Arrangement, ScheduleKind

_ARRANGEMENTS = {a.value: a for a in Arrangement}
_SCHEDULES = {s.value: s for s in ScheduleKind}


@dataclass(frozen=True, slots=True)
class AssignmentValues:
    """What one history version says about an employee (codes, not store keys)."""

    org_unit: str
    duty_station: str | None
    arrangement: Arrangement
    schedule: ScheduleKind
    supervisor_id: str | None
    position: str | None
    job_function: str | None
    bargaining_unit: str | None
    telework_eligible: bool | None


@dataclass(frozen=True, slots=True)
class HomeLocation:
    zip: str | None
    latitude: float | None
    longitude: float | None

    def __repr__(self) -> str:  # a home address must not leak through a log line
        return "HomeLocation(<withheld>)"


@dataclass(frozen=True, slots=True)
class RosterRow:
    employee_id: str
    name: str
    email: str | None
    effective_date: date
    values: AssignmentValues
    badge_id: str | None
    home: HomeLocation | None = field(repr=False)


def validate_roster_row(raw: RawRow, *, date_format: str | None = None) -> RosterRow | Rejection:
    try:
        check_no_nul(raw)
        employee_id = identifier(raw, "employee_id", required=True)
        name = text(raw, "name", required=True)
        day = parse_date(raw.get("effective_date"), "effective_date", date_format)
        if day is None:
            raise RowError("missing_value", "effective_date")
        org_unit = identifier(raw, "org_unit", required=True)
        duty_station = identifier(raw, "duty_station")
        arrangement = choice(raw, "arrangement", _ARRANGEMENTS, "invalid_arrangement")
        if arrangement is None:
            raise RowError("missing_value", "arrangement")
        if duty_station is None and arrangement in (Arrangement.ONSITE, Arrangement.TELEWORK):
            raise RowError("duty_station_required", "duty_station")
        schedule = choice(raw, "schedule", _SCHEDULES, "invalid_schedule")
        supervisor = identifier(raw, "supervisor_id")
        if supervisor is not None and supervisor == employee_id:
            raise RowError("self_supervision", "supervisor_id")
        values = AssignmentValues(
            org_unit=org_unit or "",
            duty_station=duty_station,
            arrangement=arrangement,
            schedule=schedule or ScheduleKind.FIVE_EIGHT,
            supervisor_id=supervisor,
            position=text(raw, "position", shared=True),
            job_function=text(raw, "job_function", shared=True),
            bargaining_unit=text(raw, "bargaining_unit", limit=64, shared=True),
            telework_eligible=boolean(raw, "telework_eligible"),
        )
        badge = identifier(raw, "badge_id")
        email = text(raw, "email", limit=254)
        home_zip = zip_code(raw, "home_zip")
        lat, lon = coordinates(raw, "home_latitude", "home_longitude")
    except RowError as err:
        return err.rejection
    assert employee_id is not None and name is not None
    home = None if home_zip is None and lat is None else HomeLocation(home_zip, lat, lon)
    return RosterRow(employee_id, name, email, day, values, badge, home)


# --- checks across rows -----------------------------------------------------------------


def badge_conflicts(rows: Sequence[RosterRow]) -> list[int]:
    """Indices of rows giving one badge to different employees from the same date."""
    holders: dict[tuple[str, date], set[str]] = defaultdict(set)
    for row in rows:
        if row.badge_id is not None:
            holders[(row.badge_id, row.effective_date)].add(row.employee_id)
    return [
        i
        for i, row in enumerate(rows)
        if row.badge_id is not None and len(holders[(row.badge_id, row.effective_date)]) > 1
    ]


def unknown_supervisors(rows: Sequence[RosterRow], stored: Set[str]) -> set[int]:
    """Indices of rows whose supervisor is neither stored nor imported. Rejecting a row can
    make its employee unknown in turn, so this runs to a fixed point over a work list."""
    alive: dict[str, int] = defaultdict(int)
    supervised: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        alive[row.employee_id] += 1
        if row.values.supervisor_id is not None:
            supervised[row.values.supervisor_id].append(i)
    queue = [
        i
        for sup, indices in supervised.items()
        if sup not in stored and sup not in alive
        for i in indices
    ]
    rejected: set[int] = set()
    while queue:
        i = queue.pop()
        if i in rejected:
            continue
        rejected.add(i)
        employee = rows[i].employee_id
        alive[employee] -= 1
        if alive[employee] == 0 and employee not in stored:
            queue.extend(supervised.get(employee, ()))
    return rejected
