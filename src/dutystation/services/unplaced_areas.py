"""Where the staff the latest designation plan leaves without an office live, counted per
ZIP3 area for the capacity map: never a person's home (DESIGN.md §5: homes are sensitive).

A plan stores its proposals and its totals, not the people it could not place, so they are
found again as of the plan's day (``parameters.day``), within its org unit: employees whose
roster shows no duty station, whose arrangement a directive's distance rule covers
(``domain.designation.distance_limit``: they need an agency office), and who have neither a
proposal in the plan nor an applied designation in force. People the plan left unplaced
who do have a duty station (one beyond the distance limit) keep it and are not drawn; the
note gives the plan's own count beside the number drawn.

Each person's home as of that day gives the area: the ZIP3 prefix of its ZIP code, or of
the ZIP centroid nearest to its coordinates when it has no ZIP. Only counts per area leave
this module; homes with neither are counted as "no home on record".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import Connection, and_, func, or_, select
from sqlalchemy.orm import Session

from dutystation.analytics.shared import shared_connection
from dutystation.analytics.zip3_areas import zip3_centres, zip3_of_points
from dutystation.domain.capacity import zip3
from dutystation.domain.designation import distance_limit
from dutystation.domain.directive import Directive
from dutystation.store.history import org_unit_chains
from dutystation.store.repositories import org_subtree
from dutystation.store.schema import EmployeeAssignment, EmployeeHome, OrgUnit
from dutystation.store.schema_designation import Designation, DesignationPlan

AREAS_SCHEMA = pa.schema(
    [
        ("place", pa.string()),
        ("latitude", pa.float64()),
        ("longitude", pa.float64()),
        ("people", pa.int64()),
    ]
)


@dataclass(frozen=True)
class PlanFacts:
    plan_id: int
    status: str
    day: date
    org_unit: str | None
    unplaced: int  # the plan's own count


def latest_plan(conn: Connection) -> PlanFacts | None:
    """The most recent designation plan not discarded, or None."""
    p = DesignationPlan
    row = conn.execute(
        select(p.id, p.status, p.parameters, p.unplaced)
        .where(p.status != "discarded")
        .order_by(p.created_at.desc(), p.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    parameters = row.parameters or {}
    return PlanFacts(
        int(row.id),
        str(row.status),
        date.fromisoformat(str(parameters["day"])),
        parameters.get("org_unit"),
        int(row.unplaced),
    )


def _columns(rows: Sequence[Any], names: Sequence[str], types: Sequence[pa.DataType]) -> Any:
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    return pa.table({n: pa.array(c, t) for n, c, t in zip(names, columns, types, strict=True)})


def _without_office(conn: Connection, plan: PlanFacts) -> Any:
    """``employee_pk, org_unit, arrangement`` of everyone assigned on the plan's day with no
    duty station, no proposal in the plan and no applied designation in force."""
    a, d, day = EmployeeAssignment, Designation, plan.day
    placed = select(d.employee_pk).where(
        or_(
            d.plan_id == plan.plan_id,
            and_(
                d.applied_at.is_not(None),
                d.effective_from <= day,
                or_(d.effective_to.is_(None), d.effective_to > day),
            ),
        )
    )
    rows = conn.execute(
        select(a.employee_pk, OrgUnit.code, a.arrangement)
        .join(OrgUnit, OrgUnit.id == a.org_unit_id)
        .where(
            a.effective_from <= day,
            or_(a.effective_to.is_(None), a.effective_to > day),
            a.duty_station_id.is_(None),
            a.employee_pk.not_in(placed),
        )
    ).all()
    return _columns(
        rows, ["employee_pk", "org_unit", "arrangement"], [pa.int64(), pa.string(), pa.string()]
    )


def _homes(conn: Connection, day: date) -> Any:
    h = EmployeeHome
    latest = (
        select(h.employee_pk, func.max(h.effective_from).label("since"))
        .where(h.effective_from <= day)
        .group_by(h.employee_pk)
        .subquery()
    )
    rows = conn.execute(
        select(h.employee_pk, h.zip, h.latitude, h.longitude).join(
            latest, and_(h.employee_pk == latest.c.employee_pk, h.effective_from == latest.c.since)
        )
    ).all()
    names = ["employee_pk", "zip", "latitude", "longitude"]
    return _columns(rows, names, [pa.int64(), pa.string(), pa.float64(), pa.float64()])


def _covered(
    directives: Sequence[Directive],
    chains: dict[str, tuple[str, ...]],
    units: list[str] | None,
    day: date,
) -> Any:
    """``org_unit, arrangement`` pairs a distance rule covers on ``day`` (within ``units``)."""
    pairs: list[tuple[str, str]] = []
    for unit, chain in chains.items():
        if units is not None and unit not in units:
            continue
        limit = distance_limit(directives, chain, day)
        if limit is not None:
            pairs.extend((unit, str(arrangement)) for arrangement in limit.arrangements)
    return _columns(pairs, ["org_unit", "arrangement"], [pa.string(), pa.string()])


def _areas(homes: Any) -> tuple[Any, int]:
    """Counts per ZIP3 area of the homes (``zip, latitude, longitude``), and how many have
    neither a usable ZIP nor coordinates."""
    zips = homes.column("zip").to_pylist()
    lat = homes.column("latitude").to_numpy(zero_copy_only=False).astype(np.float64)
    lon = homes.column("longitude").to_numpy(zero_copy_only=False).astype(np.float64)
    area = np.array([zip3(z) if z else "" for z in zips] or [], dtype="<U3")
    by_point = (area == "") & np.isfinite(lat) & np.isfinite(lon)
    area[by_point] = zip3_of_points(lat[by_point], lon[by_point])
    known = area != ""
    names, counts = np.unique(area[known], return_counts=True)
    centre_lat, centre_lon = zip3_centres(names)
    table = pa.table(
        {
            "place": pa.array([f"ZIP3 {n}" for n in names.tolist()], pa.string()),
            "latitude": pa.array(centre_lat, pa.float64(), from_pandas=True),
            "longitude": pa.array(centre_lon, pa.float64(), from_pandas=True),
            "people": pa.array(counts, pa.int64()),
        },
        schema=AREAS_SCHEMA,
    )
    return table, int((~known).sum())


def unplaced_areas(
    conn: Connection, directives: Sequence[Directive], *, org_unit: str | None = None
) -> tuple[Any, str]:
    """The staff the latest designation plan leaves without an office, per ZIP3 area
    (``AREAS_SCHEMA``; within ``org_unit`` when given), and a sentence saying which plan."""
    plan = latest_plan(conn)
    if plan is None:
        return AREAS_SCHEMA.empty_table(), "No designation plan yet: the map shows offices only."
    with Session(bind=conn) as session:
        chains = org_unit_chains(session)
        units = None
        for code in (plan.org_unit, org_unit):
            if code is not None and code in chains:
                subtree = set(org_subtree(session, code))
                units = sorted(subtree if units is None else subtree & set(units))
    with shared_connection() as con:
        con.register("staff", _without_office(conn, plan))
        con.register("covered", _covered(directives, chains, units, plan.day))
        con.register("homes", _homes(conn, plan.day))
        found = con.sql(
            "SELECT h.zip, h.latitude, h.longitude FROM staff AS s "
            "JOIN covered USING (org_unit, arrangement) "
            "LEFT JOIN homes AS h USING (employee_pk)"
        ).to_arrow_table()
    areas, unknown = _areas(found)
    drawn = int(sum(areas.column("people").to_pylist()))
    note = (
        f"Unplaced staff of designation plan {plan.plan_id} ({plan.status}, as of "
        f"{plan.day.isoformat()}): {drawn:,} people it leaves without an office, by home "
        f"ZIP3 area (the plan counts {plan.unplaced:,} unplaced, with those whose duty "
        "station lies beyond the distance limit, who keep it and are not drawn)."
    )
    if unknown:
        note += f" {unknown:,} have no home on record and are not drawn."
    return areas, note
