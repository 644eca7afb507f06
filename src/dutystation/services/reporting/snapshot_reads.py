"""What ``snapshot_reports.py`` reads of the evaluation snapshot (``store/schema_snapshot.py``):
the current generation with what it was computed from, its org tree, and for one org
unit and range of weeks the sums per reporting unit and week and the people per reporting
unit. A handful of indexed queries, whatever the number of employees, except the people:
one scan of the generation's employee-weeks in the range (the only figure that cannot be
summed from the weeks: a person in a unit for several weeks, or in two of its units,
counts once).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, and_, case, or_, select

from dutystation.domain.org import ancestor_chains
from dutystation.store.schema_snapshot import (
    EvaluationSnapshot,
    SnapshotState,
    SnapshotUnit,
    SnapshotUnitWeek,
    SnapshotWeek,
)
from dutystation.store.snapshot_rows import STATE_ID

_S, _STATE = EvaluationSnapshot, SnapshotState
_CURRENT = (
    select(
        _S.id,
        _S.computed_at,
        _S.started_at,
        _S.period_start,
        _S.period_end,
        _S.evidence_first,
        _S.evidence_last,
        _S.event_batches,
        _S.last_event_batch,
        _S.directives,
        _S.changes_seen,
        _STATE.changes,
    )
    .select_from(_STATE)
    .join(_S, _S.id == _STATE.current_snapshot_id)
    .where(_STATE.id == STATE_ID)
)
# The weekly sums, as ``hours.hours_rows`` names them.
WEEK_SCHEMA = pa.schema(
    [
        ("unit", pa.string()),  # the reporting unit; null: the total
        ("week_start", pa.date32()),
        ("week_end", pa.date32()),
        ("week", pa.string()),
        ("employees", pa.int64()),
        ("at_station", pa.float64()),
        ("off_site", pa.float64()),
        ("telework", pa.float64()),
        ("remote", pa.float64()),
    ]
)
PEOPLE_SCHEMA = pa.schema([("employee_pk", pa.int64()), ("unit", pa.string())])


@dataclass(frozen=True)
class Generation:
    """The current snapshot, when no import or decision has marked it stale since."""

    id: int
    computed_at: datetime
    started_at: datetime  # UTC: the refresh read the policy files after this
    period: tuple[date, date]  # the days evaluated
    evidence: tuple[date, date]  # first and last day with evidence when it began
    event_batches: int
    last_event_batch: str | None
    directives: list[dict[str, Any]]  # services.snapshot.describe of each


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for what was stored in UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def current_generation(conn: Connection) -> Generation | None:
    """The current snapshot; None when there is none or it is stale."""
    row = conn.execute(_CURRENT).first()
    if row is None or row.changes > row.changes_seen:
        return None
    return Generation(
        id=row.id,
        computed_at=_utc(row.computed_at),
        started_at=_utc(row.started_at),
        period=(row.period_start, row.period_end),
        evidence=(row.evidence_first, row.evidence_last),
        event_batches=row.event_batches,
        last_event_batch=row.last_event_batch,
        directives=list(row.directives or []),
    )


def org_tree(conn: Connection, snapshot_id: int) -> dict[str, tuple[str, ...]]:
    """Every org unit of the generation (the tree at its refresh), with the codes from
    its root down to itself."""
    u = SnapshotUnit
    rows = conn.execute(select(u.org_unit, u.parent).where(u.snapshot_id == snapshot_id)).all()
    return ancestor_chains({str(code): parent for code, parent in rows})


def unit_weeks(
    conn: Connection,
    snapshot_id: int,
    root: str,
    children: list[str],
    days: tuple[date, date],
) -> pa.Table:
    """The weeks starting within ``days``: each child of ``root`` with its subtree, the
    staff of ``root`` itself (unit ``root``), and ``root``'s subtree (unit null)."""
    w = SnapshotUnitWeek
    found = conn.execute(
        select(
            w.org_unit,
            w.scope,
            w.week_start,
            w.week_end,
            w.week,
            w.employees,
            w.hours_at_station,
            w.hours_off_site,
            w.hours_telework,
            w.hours_remote,
        ).where(
            w.snapshot_id == snapshot_id,
            w.week_start.between(*days),
            or_(
                and_(w.scope == "subtree", w.org_unit.in_([root, *children])),
                and_(w.scope == "own", w.org_unit == root),
            ),
        )
    ).all()
    rows = [
        (None if r.scope == "subtree" and r.org_unit == root else r.org_unit, *r[2:]) for r in found
    ]
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(WEEK_SCHEMA)
    return pa.table(
        [pa.array(values, f.type) for values, f in zip(columns, WEEK_SCHEMA, strict=True)],
        schema=WEEK_SCHEMA,
    )


def people(
    conn: Connection, snapshot_id: int, groups: Mapping[str, str], days: tuple[date, date]
) -> pa.Table:
    """Each person once per reporting unit they had a week in, weeks starting within
    ``days``; ``groups``: the reporting unit of every unit of the subtree."""
    w = SnapshotWeek
    unit = case(dict(groups), value=w.org_unit)
    found = conn.execute(
        select(w.employee_pk, unit)
        .distinct()
        .where(
            w.snapshot_id == snapshot_id,
            w.week_start.between(*days),
            w.org_unit.in_(list(groups)),
        )
    ).all()
    return pa.table(
        [
            pa.array([r[0] for r in found], pa.int64()),
            pa.array([r[1] for r in found], pa.string()),
        ],
        schema=PEOPLE_SCHEMA,
    )
