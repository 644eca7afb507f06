"""What the capacity model reads from the store (``services/capacity.py``), as Arrow
tables: the roster versions of a period, applied designations, the offices reported, and
the offices an org unit's staff report to. One SELECT each, turned into Arrow column-wise
(no row objects per employee). Home locations are never read here."""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa
from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session

from dutystation.analytics import capacity as sql
from dutystation.analytics.shared import shared_connection
from dutystation.store.schema import (
    Employee,
    EmployeeAssignment,
    Office,
    OrgUnit,
    office_org_unit,
)
from dutystation.store.schema_designation import Designation

OFFICES_SCHEMA = pa.schema(
    [
        ("site_id", pa.string()),
        ("name", pa.string()),
        ("seats", pa.int64()),
        ("latitude", pa.float64()),
        ("longitude", pa.float64()),
    ]
)


def _dates(values: list[Any], as_text: bool) -> pa.Array:
    # SQLite keeps dates as ISO text: Arrow parses them, no Python date per value.
    if as_text:
        return pa.array(values, pa.string()).cast(pa.date32())
    return pa.array(values, pa.date32())


def designations(session: Session) -> Any:
    """Applied designations (``analytics.capacity.DESIGNATIONS_SCHEMA``)."""
    d = Designation
    as_text = session.get_bind().dialect.name == "sqlite"
    since = cast(d.effective_from, String) if as_text else d.effective_from
    until = cast(d.effective_to, String) if as_text else d.effective_to
    rows = session.execute(
        select(Employee.employee_id, Office.site_id, since, until)
        .select_from(Designation)
        .join(Employee, Employee.id == d.employee_pk)
        .join(Office, Office.id == d.office_id)
        .where(d.applied_at.is_not(None))
    ).all()
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [[], [], [], []]
    return pa.table(
        {
            "employee_id": pa.array(columns[0], pa.string()),
            "site_id": pa.array(columns[1], pa.string()),
            "effective_from": _dates(list(columns[2]), as_text),
            "effective_to": _dates(list(columns[3]), as_text),
        },
        schema=sql.DESIGNATIONS_SCHEMA,
    )


_VERSION_COLUMNS = (
    ("employee_id", pa.string()),
    ("effective_from", pa.date32()),
    ("effective_to", pa.date32()),
    ("org_unit", pa.string()),
    ("duty_station", pa.string()),
    ("arrangement", pa.string()),
    ("schedule", pa.string()),
    ("bargaining_unit", pa.string()),
)


def versions(session: Session, start: date, end: date) -> Any:
    """The assignment versions overlapping ``start..end``, the columns the model reads
    (``store.history.assignment_intervals`` reads every version with names and paths: at
    250,000 employees that read was most of the time)."""
    a = EmployeeAssignment
    as_text = session.get_bind().dialect.name == "sqlite"
    since = cast(a.effective_from, String) if as_text else a.effective_from
    until = cast(a.effective_to, String) if as_text else a.effective_to
    rows = (
        session.connection()
        .execute(
            select(
                Employee.employee_id,
                since,
                until,
                OrgUnit.code,
                Office.site_id,
                a.arrangement,
                a.schedule,
                a.bargaining_unit,
            )
            .join(Employee, Employee.id == a.employee_pk)
            .join(OrgUnit, OrgUnit.id == a.org_unit_id)
            .outerjoin(Office, Office.id == a.duty_station_id)
            .where(a.effective_from <= end, or_(a.effective_to.is_(None), a.effective_to > start))
        )
        .all()
    )
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [[] for _ in _VERSION_COLUMNS]
    arrays = [
        _dates(list(values), as_text) if kind == pa.date32() else pa.array(values, kind)
        for values, (_, kind) in zip(columns, _VERSION_COLUMNS, strict=True)
    ]
    return pa.Table.from_arrays(arrays, names=[name for name, _ in _VERSION_COLUMNS])


def offices(session: Session, codes: list[str] | None, stations: set[str]) -> Any:
    rows = session.execute(
        select(
            Office.site_id, Office.name, Office.seats, Office.latitude, Office.longitude
        ).order_by(Office.site_id)
    ).all()
    if codes is not None:
        owned = set(
            session.scalars(
                select(Office.site_id)
                .join(office_org_unit, office_org_unit.c.office_id == Office.id)
                .join(OrgUnit, OrgUnit.id == office_org_unit.c.org_unit_id)
                .where(OrgUnit.code.in_(codes))
            )
        )
        rows = [r for r in rows if r[0] in owned or r[0] in stations]
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [[] for _ in OFFICES_SCHEMA]
    return pa.Table.from_arrays(
        [pa.array(c, f.type) for c, f in zip(columns, OFFICES_SCHEMA, strict=True)],
        schema=OFFICES_SCHEMA,
    )


def stations(
    intervals: Any, placed: Any, codes: list[str] | None, start: date, end: date
) -> set[str]:
    """The offices the unit's staff report to in the range (duty station or designation)."""
    if codes is None:
        return set()
    with shared_connection() as con:
        con.register("iv", intervals)
        con.register("des", placed)
        con.register("units", pa.table({"org_unit": pa.array(codes, pa.string())}))
        window = (
            f"effective_from <= DATE '{end.isoformat()}' AND "
            f"(effective_to IS NULL OR effective_to > DATE '{start.isoformat()}')"
        )
        found = con.sql(f"""
            SELECT duty_station AS s FROM iv
            WHERE {window} AND org_unit IN (SELECT org_unit FROM units)
            UNION
            SELECT site_id FROM des WHERE {window} AND employee_id IN (
                SELECT employee_id FROM iv WHERE {window}
                AND org_unit IN (SELECT org_unit FROM units))
        """).fetchall()
    return {row[0] for row in found if row[0] is not None}
