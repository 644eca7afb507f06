"""Load the roster's stored state for ``domain.roster.apply_roster`` and write back only
what it marked as changed. One SELECT per table loads everything (250,000 employees
load in a few seconds); writes are bulk executemany statements (SQLAlchemy's
insertmanyvalues batches them into multi-row INSERTs)."""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, bindparam, select, update

from dutystation.domain.roster import BadgeSpan, EmployeeState, HomeVersion, RosterState, Version
from dutystation.domain.roster_rows import AssignmentValues, HomeLocation
from dutystation.domain.vocabulary import Arrangement, ScheduleKind
from dutystation.store.bulk import delete_ids, insert_rows
from dutystation.store.org_writes import office_keys, org_unit_keys
from dutystation.store.schema import Base

_employees = Base.metadata.tables["employee"]
_assignments = Base.metadata.tables["employee_assignment"]
_badges = Base.metadata.tables["badge_assignment"]
_homes = Base.metadata.tables["employee_home"]
_STREAM = 50_000  # rows fetched per round trip while loading state


@dataclass(frozen=True)
class Keys:
    """Codes -> store keys, for translating domain values into foreign keys."""

    org_units: dict[str, int]
    offices: dict[str, int]


def load_keys(conn: Connection) -> Keys:
    return Keys(org_unit_keys(conn), office_keys(conn))


def load_roster_state(conn: Connection) -> RosterState:
    unit_code = {v: k for k, v in org_unit_keys(conn).items()}
    office_site = {v: k for k, v in office_keys(conn).items()}
    arrangements = {a.value: a for a in Arrangement}
    schedules = {s.value: s for s in ScheduleKind}
    employees: dict[str, EmployeeState] = {}
    by_key: dict[int, EmployeeState] = {}
    for key, emp_id, name, email, active, separated_on in _stream(
        conn,
        select(
            _employees.c.id,
            _employees.c.employee_id,
            _employees.c.name,
            _employees.c.email,
            _employees.c.active,
            _employees.c.separated_on,
        ),
    ):
        emp_id = sys.intern(emp_id)
        state = EmployeeState(
            emp_id, name, email, key=key, stored=(name, email, bool(active), separated_on)
        )
        employees[emp_id] = by_key[key] = state
    a = _assignments.c
    shared = sys.intern
    for row in _stream(
        conn,
        select(
            a.id,
            a.employee_pk,
            a.effective_from,
            a.effective_to,
            a.org_unit_id,
            a.duty_station_id,
            a.arrangement,
            a.schedule,
            a.supervisor_pk,
            a.position,
            a.job_function,
            a.bargaining_unit,
            a.telework_eligible,
        ).order_by(a.employee_pk, a.effective_from),
    ):
        supervisor = by_key[row[8]].employee_id if row[8] is not None else None
        values = AssignmentValues(
            unit_code[row[4]],
            office_site.get(row[5]) if row[5] is not None else None,
            arrangements[row[6]],
            schedules[row[7]],
            supervisor,
            row[9] and shared(row[9]),
            row[10] and shared(row[10]),
            row[11] and shared(row[11]),
            None if row[12] is None else bool(row[12]),
        )
        by_key[row[1]].versions.append(Version(row[2], row[3], values, key=row[0]))
    badges: dict[str, list[BadgeSpan]] = defaultdict(list)
    b = _badges.c
    for key, badge, emp_key, start, end in _stream(
        conn,
        select(b.id, b.badge_id, b.employee_pk, b.valid_from, b.valid_to).order_by(
            b.badge_id, b.valid_from
        ),
    ):
        badges[badge].append(BadgeSpan(by_key[emp_key].employee_id, start, end, key=key))
    homes: dict[str, list[HomeVersion]] = defaultdict(list)
    h = _homes.c
    for emp_key, start, zipc, lat, lon in _stream(
        conn, select(h.employee_pk, h.effective_from, h.zip, h.latitude, h.longitude)
    ):
        location = HomeLocation(zipc and shared(zipc), lat, lon)
        homes[by_key[emp_key].employee_id].append(HomeVersion(start, location, stored=True))
    return RosterState(employees, dict(badges), dict(homes))


def _stream(conn: Connection, query: Select[*tuple[Any, ...]]) -> Iterator[Any]:
    """Rows in chunks (a server-side cursor on PostgreSQL): the whole table is never held
    as result rows at once next to the state built from it."""
    result = conn.execute(query, execution_options={"yield_per": _STREAM})
    for part in result.partitions():
        yield from part


def save_roster(conn: Connection, state: RosterState, keys: Keys) -> None:
    """Write every change ``apply_roster`` marked: deletes first (a dropped span may free
    the (badge, day) a new span takes), then updates, then inserts."""
    _save_employees(conn, state)
    emp_key = {e.employee_id: e.key for e in state.employees.values()}
    touched = [state.employees[e] for e in sorted(state.touched)]
    delete_ids(conn, _assignments, state.removed_versions)
    stored = [v for e in touched for v in e.versions if v.dirty and v.key is not None]
    if stored:
        names = ("_id", *(f"_{c}" for c in _VERSION_COLUMNS))
        conn.execute(
            update(_assignments)
            .where(_assignments.c.id == bindparam("_id"))
            .values({c: bindparam(f"_{c}") for c in _VERSION_COLUMNS}),
            [
                dict(zip(names, (v.key, *_version_row(v, keys, emp_key)), strict=True))
                for v in stored
            ],
        )
    insert_rows(
        conn,
        _assignments,
        ("employee_pk", *_VERSION_COLUMNS),
        (
            (emp_key[e.employee_id], *_version_row(v, keys, emp_key))
            for e in touched
            for v in e.versions
            if v.key is None
        ),
    )
    _save_badges(conn, state, emp_key)
    _save_homes(conn, state, emp_key)


_VERSION_COLUMNS = (
    "effective_from",
    "effective_to",
    "org_unit_id",
    "duty_station_id",
    "arrangement",
    "schedule",
    "supervisor_pk",
    "position",
    "job_function",
    "bargaining_unit",
    "telework_eligible",
)


def _version_row(v: Version, keys: Keys, emp_key: dict[str, int | None]) -> tuple[Any, ...]:
    values = v.values
    return (
        v.start,
        v.end,
        keys.org_units[values.org_unit],
        keys.offices[values.duty_station] if values.duty_station else None,
        values.arrangement.value,
        values.schedule.value,
        emp_key[values.supervisor_id] if values.supervisor_id else None,
        values.position,
        values.job_function,
        values.bargaining_unit,
        values.telework_eligible,
    )


def _save_employees(conn: Connection, state: RosterState) -> None:
    new = [e for e in state.employees.values() if e.key is None]
    if new:
        insert_rows(
            conn,
            _employees,
            ("employee_id", "name", "email", "active", "separated_on"),
            ((e.employee_id, e.name, e.email, e.active, e.separated_on) for e in new),
        )
        key_of = {
            r[0]: r[1] for r in conn.execute(select(_employees.c.employee_id, _employees.c.id))
        }
        for e in new:
            e.key = key_of[e.employee_id]
    changed = [
        e
        for e in map(state.employees.__getitem__, state.touched)
        if e.stored is not None and e.stored != e.row()
    ]
    if changed:
        conn.execute(
            update(_employees)
            .where(_employees.c.id == bindparam("_id"))
            .values(
                name=bindparam("_name"),
                email=bindparam("_email"),
                active=bindparam("_active"),
                separated_on=bindparam("_sep"),
            ),
            [
                {
                    "_id": e.key,
                    "_name": e.name,
                    "_email": e.email,
                    "_active": e.active,
                    "_sep": e.separated_on,
                }
                for e in changed
            ],
        )


def _save_badges(conn: Connection, state: RosterState, emp_key: dict[str, int | None]) -> None:
    delete_ids(conn, _badges, state.removed_badges)
    spans = [(badge, s) for badge in sorted(state.touched_badges) for s in state.badges[badge]]
    ends = [{"_id": s.key, "_to": s.end} for _, s in spans if s.dirty and s.key is not None]
    if ends:
        conn.execute(
            update(_badges)
            .where(_badges.c.id == bindparam("_id"))
            .values(valid_to=bindparam("_to")),
            ends,
        )
    insert_rows(
        conn,
        _badges,
        ("badge_id", "employee_pk", "valid_from", "valid_to"),
        ((badge, emp_key[s.employee_id], s.start, s.end) for badge, s in spans if s.key is None),
    )


def _save_homes(conn: Connection, state: RosterState, emp_key: dict[str, int | None]) -> None:
    dirty = [
        (emp_key[e], h) for e in sorted(state.touched_homes) for h in state.homes[e] if h.dirty
    ]
    updates = [
        {
            "_emp": key,
            "_from": h.start,
            "_zip": h.location.zip,
            "_lat": h.location.latitude,
            "_lon": h.location.longitude,
        }
        for key, h in dirty
        if h.stored
    ]
    if updates:
        conn.execute(
            update(_homes)
            .where(
                _homes.c.employee_pk == bindparam("_emp"),
                _homes.c.effective_from == bindparam("_from"),
            )
            .values(zip=bindparam("_zip"), latitude=bindparam("_lat"), longitude=bindparam("_lon")),
            updates,
        )
    insert_rows(
        conn,
        _homes,
        ("employee_pk", "effective_from", "zip", "latitude", "longitude"),
        (
            (key, h.start, h.location.zip, h.location.latitude, h.location.longitude)
            for key, h in dirty
            if not h.stored
        ),
    )
