"""Load and save org units and offices for the import services: the whole stored state in
one query per table, the diff in Python, then bulk statements for what changed only, so a
re-import issues no writes at all. Imports upsert; they never delete (history refers to
units and offices)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update

from dutystation.domain.org import OfficeRow, OrgUnitRow
from dutystation.domain.vocabulary import OrgUnitKind
from dutystation.store.bulk import chunks, insert_rows
from dutystation.store.schema import Base, office_job_function, office_org_unit

_units = Base.metadata.tables["org_unit"]
_offices = Base.metadata.tables["office"]


@dataclass(frozen=True)
class StoredUnit:
    key: int
    row: OrgUnitRow


def load_org_units(conn: Connection) -> dict[str, StoredUnit]:
    rows = conn.execute(
        select(_units.c.id, _units.c.code, _units.c.name, _units.c.kind, _units.c.parent_id)
    ).all()
    code_of = {r.id: r.code for r in rows}
    return {
        r.code: StoredUnit(
            r.id, OrgUnitRow(r.code, r.name, code_of.get(r.parent_id), OrgUnitKind(r.kind))
        )
        for r in rows
    }


def org_unit_keys(conn: Connection) -> dict[str, int]:
    return {code: key for key, code in conn.execute(select(_units.c.id, _units.c.code))}


def save_org_units(
    conn: Connection, rows: Sequence[OrgUnitRow], stored: Mapping[str, StoredUnit]
) -> int:
    """Insert new units and update changed ones; returns how many rows changed anything.
    New units go in without a parent first, because a parent may be new in the same file."""
    new = [r for r in rows if r.code not in stored]
    insert_rows(
        conn,
        _units,
        ("code", "name", "kind", "parent_id"),
        ((r.code, r.name, r.kind.value, None) for r in new),
    )
    keys = org_unit_keys(conn) if new else {c: s.key for c, s in stored.items()}
    changes = [
        {
            "_key": keys[r.code],
            "_name": r.name,
            "_kind": r.kind.value,
            "_parent": keys[r.parent] if r.parent else None,
        }
        for r in rows
        if r.code not in stored or stored[r.code].row != r
    ]
    if changes:
        conn.execute(
            update(_units)
            .where(_units.c.id == bindparam("_key"))
            .values(
                name=bindparam("_name"), kind=bindparam("_kind"), parent_id=bindparam("_parent")
            ),
            changes,
        )
    return len(changes)


@dataclass(frozen=True)
class StoredOffice:
    key: int
    row: OfficeRow


def load_offices(conn: Connection) -> dict[str, StoredOffice]:
    owners: dict[int, list[str]] = defaultdict(list)
    for office_key, code in conn.execute(
        select(office_org_unit.c.office_id, _units.c.code).join(
            _units, _units.c.id == office_org_unit.c.org_unit_id
        )
    ):
        owners[office_key].append(code)
    functions: dict[int, list[str]] = defaultdict(list)
    for office_key, job in conn.execute(select(office_job_function)):
        functions[office_key].append(job)
    result: dict[str, StoredOffice] = {}
    for r in conn.execute(select(_offices)):
        row = OfficeRow(
            r.site_id,
            r.name,
            r.address,
            r.zip,
            r.latitude,
            r.longitude,
            r.timezone,
            r.seats,
            tuple(sorted(owners[r.id])),
            tuple(sorted(functions[r.id])),
        )
        result[r.site_id] = StoredOffice(r.id, row)
    return result


def office_keys(conn: Connection) -> dict[str, int]:
    return {site: key for key, site in conn.execute(select(_offices.c.id, _offices.c.site_id))}


_OFFICE_COLUMNS = (
    "site_id",
    "name",
    "address",
    "zip",
    "latitude",
    "longitude",
    "timezone",
    "seats",
)


def _office_values(row: OfficeRow) -> tuple[Any, ...]:
    return (
        row.site_id,
        row.name,
        row.address,
        row.zip,
        row.latitude,
        row.longitude,
        row.timezone,
        row.seats,
    )


def save_offices(
    conn: Connection, rows: Sequence[OfficeRow], stored: Mapping[str, StoredOffice]
) -> int:
    """Upsert offices by site_id; owners and job functions of a changed office are
    replaced as a set. Returns how many rows changed anything."""
    new = [r for r in rows if r.site_id not in stored]
    changed = [r for r in rows if r.site_id in stored and stored[r.site_id].row != r]
    insert_rows(conn, _offices, _OFFICE_COLUMNS, (_office_values(r) for r in new))
    if changed:
        names = [f"_{c}" for c in _OFFICE_COLUMNS]
        conn.execute(
            update(_offices)
            .where(_offices.c.site_id == bindparam("_site_id"))
            .values({c: bindparam(f"_{c}") for c in _OFFICE_COLUMNS[1:]}),
            [dict(zip(names, _office_values(r), strict=True)) for r in changed],
        )
    touched = new + changed
    if not touched:
        return 0
    keys = office_keys(conn)
    unit_keys = org_unit_keys(conn)
    touched_keys = [keys[r.site_id] for r in touched]
    for table in (office_org_unit, office_job_function):
        for chunk in chunks(touched_keys):
            conn.execute(delete(table).where(table.c.office_id.in_(chunk)))
    insert_rows(
        conn,
        office_org_unit,
        ("office_id", "org_unit_id"),
        ((keys[r.site_id], unit_keys[code]) for r in touched for code in r.owners),
    )
    insert_rows(
        conn,
        office_job_function,
        ("office_id", "job_function"),
        ((keys[r.site_id], job) for r in touched for job in r.job_functions),
    )
    return len(touched)
