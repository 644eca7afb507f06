"""Use case: the component overview leaders and TMOs read — per child unit of an org unit,
the on-site share of hours with its weekly trend since the directive, the compliance rate
now, the not-returned count, exemptions by category group (counts only), the expected
date of full compliance, and the ids to drill down with (child units; the people of a unit
through ``services.status.unit_people``).

All of it comes from the evaluation snapshot: a handful of indexed reads of per-unit rows
(``snapshot_unit``, ``snapshot_unit_week``), whatever the number of employees. The
figures are the reports' own, for the same weeks: ``onsite-share``'s shares (hours at the
duty station, field work and travel included, over hours worked), ``compliance-plan``'s
rate (compliant, exempt or covered by agreement, of those bound, in the last whole week)
and expected date, ``not-returned``'s people counted where they were on the window's last
day (docs/evaluation.md, "The snapshot").
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select

from dutystation.bootstrap import Runtime
from dutystation.domain.access import SYSTEM, Actor, Operation, Relation, permits
from dutystation.errors import NotFound
from dutystation.services.audit import Change, denials_recorded
from dutystation.services.authorization import Subject, authorize
from dutystation.services.status import SnapshotInfo, snapshot_info
from dutystation.store.db import reading, translate_errors
from dutystation.store.schema import OrgUnit
from dutystation.store.schema_snapshot import SnapshotUnit, SnapshotUnitWeek
from dutystation.store.snapshot_rows import CurrentSnapshot

SUBTREE, OWN = "subtree", "own"
EXPECTED_NOTE = (
    "Expected full compliance: the compliance plan's date (a line through the last four "
    "whole weeks' rates, extended to 100 %), none when seats or the trend prevent it."
)


@dataclass(frozen=True)
class WeekFigures:
    week: str
    week_start: date
    week_end: date
    employees: int
    share_on_site: float | None  # of hours worked; None when no hours were worked
    compliance_rate: float | None  # None when nobody was bound
    bound: int


@dataclass(frozen=True)
class UnitFigures:
    org_unit: str
    name: str
    own_staff_only: bool  # the row of the parent's own staff, not a child unit
    child_units: int  # units directly below (drill down with component_overview)
    people: int  # employees in the unit itself (drill down with unit_people)
    staff: int  # employees in the unit and below
    share_on_site: float | None  # over the weeks shown
    compliance_rate: float | None  # the last whole week
    not_returned: int | None  # None: no not-returned window had evidence
    exemptions: dict[str, dict[str, int]]  # category group -> approved / pending
    expected_full_compliance: date | None
    trend_full_compliance: date | None
    limits: str | None
    weeks: tuple[WeekFigures, ...]


@dataclass(frozen=True)
class Overview:
    org_unit: str | None  # None: the whole organisation, when it has several roots
    name: str
    total: UnitFigures | None  # the unit itself, all of its subtree
    children: tuple[UnitFigures, ...]  # child units, then the unit's own staff if any
    since: date | None  # the first directive's effective date: weeks ending before it are left out
    last_whole_week: str | None
    snapshot: SnapshotInfo
    notes: tuple[str, ...]


def component_overview(runtime: Runtime, actor: Actor, org_unit: str | None = None) -> Overview:
    """The overview of ``org_unit``; None: the organisation's root (or roots), or for an
    actor whose grants are scoped, the unit of their first grant that reads reports.
    ``NotFound`` for a unit unknown or out of scope (the same sentence), ``Forbidden`` for
    a role that reads no report, ``NoEvidence`` before the first snapshot."""
    attempt = Change(Operation.REPORT_READ.value, "overview", org_unit)
    with (
        denials_recorded(runtime.engine, actor, attempt),
        translate_errors(),
        reading(runtime.engine) as conn,
    ):
        unit = org_unit if org_unit is not None else _default_unit(conn, actor)
        missing = f"org unit {unit!r} does not exist"
        if unit is not None:
            authorize(conn, actor, Operation.REPORT_READ, Subject(org_unit=unit), not_found=missing)
        else:
            roots = sorted(conn.scalars(select(OrgUnit.code).where(OrgUnit.parent_id.is_(None))))
            for code in roots:
                authorize(
                    conn,
                    actor,
                    Operation.REPORT_READ,
                    Subject(org_unit=code),
                    not_found="the whole organisation's reports are not in your scope",
                )
        snapshot, info = snapshot_info(conn)
        key = (runtime.settings.resolved_database_url, snapshot.id, snapshot.computed_at, unit)
        with _CACHE_LOCK:
            found = _CACHE.get(key)
            if found is not None:
                _CACHE.move_to_end(key)
        if found is None:
            found = _build(conn, snapshot, unit, missing)
            with _CACHE_LOCK:
                _CACHE[key] = found
                while len(_CACHE) > CACHED_OVERVIEWS:
                    _CACHE.popitem(last=False)
    return replace(found, snapshot=info)


# A snapshot's figures never change: an overview is kept per generation and unit, so the
# units many people read are built once (the "stale" mark is read fresh every time, and
# authorisation is checked on every request). A new generation has a new key.
CACHED_OVERVIEWS = 512
_CACHE: OrderedDict[tuple[str, int, datetime, str | None], Overview] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def _build(conn: Connection, snapshot: CurrentSnapshot, unit: str | None, missing: str) -> Overview:
    since = _since(snapshot.directives)
    params = {"sid": snapshot.id, "unit": unit}
    units = [dict(r) for r in conn.execute(_UNITS if unit else _ROOTS, params).mappings()]
    # Not in the snapshot: a unit made since it was computed, or none at all.
    absent = unit is not None and all(u["org_unit"] != unit for u in units)
    if absent and conn.scalar(select(OrgUnit.id).where(OrgUnit.code == unit)) is None:
        raise NotFound(missing)
    codes = [u["org_unit"] for u in units]
    weeks = [
        dict(r)
        for r in conn.execute(
            _WEEKS, {**params, "codes": codes, "since": since or date.min}
        ).mappings()
    ]
    last_whole = max(
        (w["week_start"] for w in weeks if (w["week_end"] - w["week_start"]).days == 6),
        default=None,
    )
    by_unit: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for w in weeks:
        by_unit.setdefault((w["org_unit"], w["scope"]), []).append(w)

    def figures(row: dict[str, Any], scope: str) -> UnitFigures:
        shown = by_unit.get((row["org_unit"], scope), [])
        return _figures(row, shown, last_whole, own=scope == OWN)

    total_row = next((u for u in units if u["org_unit"] == unit), None)
    children = [figures(u, SUBTREE) for u in units if u["org_unit"] != unit]
    if total_row is not None and (unit, OWN) in by_unit:
        children.append(figures(total_row, OWN))
    week_label = next((w["week"] for w in weeks if w["week_start"] == last_whole), None)
    name = total_row["name"] if total_row is not None else unit
    return Overview(
        org_unit=unit,
        name=(name or unit) if unit else "the whole organisation",
        total=figures(total_row, SUBTREE) if total_row is not None else None,
        children=tuple(children),
        since=since,
        last_whole_week=week_label,
        snapshot=SnapshotInfo.of(snapshot),
        notes=(*snapshot.notes, EXPECTED_NOTE),
    )


def _default_unit(conn: Connection, actor: Actor) -> str | None:
    roots = sorted(conn.scalars(select(OrgUnit.code).where(OrgUnit.parent_id.is_(None))))
    readers = [g for g in actor.grants if permits(Operation.REPORT_READ, g.role, Relation.IN_SCOPE)]
    whole = actor is SYSTEM or any(g.scope is None for g in readers)
    if whole:
        return roots[0] if len(roots) == 1 else None
    scoped = sorted(g.scope for g in readers if g.scope is not None)
    # No grant that reads reports: authorize answers Forbidden on the first root.
    return scoped[0] if scoped else (roots[0] if roots else None)


# Built once (at 200 requests a second, building a statement costs more than running it).
_U, _W = SnapshotUnit, SnapshotUnitWeek
_UNIT_ROWS = (
    select(_U.__table__, OrgUnit.name)
    .select_from(_U)
    .outerjoin(OrgUnit, OrgUnit.code == _U.org_unit)
    .where(_U.snapshot_id == bindparam("sid"))
    .order_by(_U.org_unit)
)
_UNITS = _UNIT_ROWS.where(or_(_U.org_unit == bindparam("unit"), _U.parent == bindparam("unit")))
_ROOTS = _UNIT_ROWS.where(_U.parent.is_(None))
# The children's subtrees; the unit's subtree and its own staff.
_WEEKS = (
    select(
        _W.org_unit,
        _W.scope,
        _W.week,
        _W.week_start,
        _W.week_end,
        _W.employees,
        _W.hours_at_station,
        _W.hours_off_site,
        _W.bound,
        _W.in_compliance,
    )
    .where(
        _W.snapshot_id == bindparam("sid"),
        _W.org_unit.in_(bindparam("codes", expanding=True)),
        _W.week_end >= bindparam("since"),
        or_(_W.scope == SUBTREE, _W.org_unit == bindparam("unit")),
    )
    .order_by(_W.org_unit, _W.scope, _W.week_start)
)


def _since(directives: Sequence[dict[str, Any]]) -> date | None:
    effective = [date.fromisoformat(d["effective"]) for d in directives if d.get("effective")]
    return min(effective, default=None)


def _share(at: float, off: float) -> float | None:
    worked = at + off
    return round(at / worked, 4) if worked else None


def _figures(
    row: dict[str, Any], weeks: Sequence[dict[str, Any]], last_whole: date | None, *, own: bool
) -> UnitFigures:
    shown = tuple(
        WeekFigures(
            week=w["week"],
            week_start=w["week_start"],
            week_end=w["week_end"],
            employees=w["employees"],
            share_on_site=_share(w["hours_at_station"], w["hours_off_site"]),
            compliance_rate=round(w["in_compliance"] / w["bound"], 4) if w["bound"] else None,
            bound=w["bound"],
        )
        for w in weeks
    )
    now = next((w for w in shown if w.week_start == last_whole), None)
    at = sum(w["hours_at_station"] for w in weeks)
    off = sum(w["hours_off_site"] for w in weeks)
    code = row["org_unit"]
    plan = not own  # the plan's figures are per unit, not for a unit's own staff
    return UnitFigures(
        org_unit=code,
        name=row["name"] or code,
        own_staff_only=own,
        child_units=0 if own else row["child_units"],
        people=row["own_staff"],
        staff=row["own_staff"] if own else row["staff"],
        share_on_site=_share(at, off),
        compliance_rate=now.compliance_rate if now else None,
        not_returned=None if own else row["not_returned"],
        exemptions={} if own else dict(row["exemptions"] or {}),
        expected_full_compliance=row["expected_full_compliance"] if plan else None,
        trend_full_compliance=row["trend_full_compliance"] if plan else None,
        limits=row["limits"] if plan else None,
        weeks=shown,
    )
