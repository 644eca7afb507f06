"""Badge-derived reports: daily presence, T&A-versus-badge discrepancies, office
utilisation. One function per report, each returning an Arrow table for the CLI, the API,
the web and the report renderers alike.

The SQL lives in ``analytics/`` (presence, discrepancies, utilisation) and reads relations
by name; ``register_inputs`` puts those relations on a DuckDB connection and
``badge_queries`` returns the three queries over them, so a report that builds on them
(weekly roll-ups, charts) or another engine (Spark: register views of the same names)
reuses exactly this logic.

``org_unit`` restricts presence and discrepancies to the employees in that unit or below
it *on each day* (effective-dated assignments, DESIGN.md §5), and utilisation to the
offices that unit or its sub-units own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from dutystation.analytics.discrepancies import discrepancies_sql
from dutystation.analytics.engine import connect
from dutystation.analytics.event_sources import event_sources, months_between
from dutystation.analytics.presence import BYTES_PER_EVENT, day_chunks, presence_sql
from dutystation.analytics.utilisation import utilisation_sql
from dutystation.bootstrap import Runtime
from dutystation.domain.calendar import FEDERAL, days_between
from dutystation.domain.presence import DirectionMode, HoursConvention, PresenceSettings
from dutystation.errors import ConfigError, DutystationError, StoreError
from dutystation.events.schemas import EventKind
from dutystation.settings import Settings
from dutystation.store.repositories import org_subtree
from dutystation.store.schema import Employee, EmployeeAssignment, Office, OrgUnit, office_org_unit

PRESENCE_SCHEMA = pa.schema(
    [
        ("employee_id", pa.string()),
        ("date", pa.date32()),
        ("first_in", pa.timestamp("us")),  # office-local wall time
        ("last_out", pa.timestamp("us")),
        ("hours_on_site", pa.float64()),
        ("taps", pa.int64()),  # taps kept after debounce
        ("site_id", pa.string()),  # the office of the day's first kept tap
        ("source", pa.string()),  # 'badge': T&A-derived presence may join later
    ]
)
DISCREPANCIES_SCHEMA = pa.schema(
    [
        ("employee_id", pa.string()),
        ("date", pa.date32()),
        ("kind", pa.string()),
        ("ta_category", pa.string()),
        ("ta_hours", pa.float64()),
        ("badge_taps", pa.int64()),  # raw taps stored for the day
        ("site_id", pa.string()),
    ]
)
UTILISATION_SCHEMA = pa.schema(
    [
        ("site_id", pa.string()),
        ("name", pa.string()),
        ("seats", pa.int64()),
        ("days", pa.int64()),
        ("avg_daily_occupancy", pa.float64()),
        ("peak_daily_occupancy", pa.int64()),
        ("peak_date", pa.date32()),
        ("avg_utilisation", pa.float64()),
        ("peak_utilisation", pa.float64()),
        ("over_capacity_days", pa.int64()),
    ]
)

# Defaults when the settings do not (yet) carry the badge_* keys; docs/configuration.md.
DEFAULT_HOURS = "first-last"
DEFAULT_DIRECTION = "reader"
DEFAULT_DEBOUNCE_SECONDS = 60.0
DEFAULT_MAX_PAIR_HOURS = 16.0


# ------------------------------------------------------------------------------ settings


def parse_hours_convention(text: str) -> HoursConvention:
    """``first-last`` or ``pairs`` (the CLI's and configuration's spelling; ``first_last``
    is accepted too)."""
    try:
        return HoursConvention(text.strip().lower().replace("-", "_"))
    except ValueError:
        raise ConfigError(f"badge hours must be first-last or pairs, not {text!r}") from None


def parse_direction_mode(text: str) -> DirectionMode:
    try:
        return DirectionMode(text.strip().lower())
    except ValueError:
        raise ConfigError(f"badge direction must be reader or alternating, not {text!r}") from None


def presence_settings_from(settings: Settings) -> PresenceSettings:
    """The badge conventions configured as ``badge_hours``, ``badge_direction``,
    ``badge_debounce_seconds`` and ``badge_max_pair_hours``."""
    hours = getattr(settings, "badge_hours", DEFAULT_HOURS)
    direction = getattr(settings, "badge_direction", DEFAULT_DIRECTION)
    debounce = getattr(settings, "badge_debounce_seconds", DEFAULT_DEBOUNCE_SECONDS)
    max_pair = getattr(settings, "badge_max_pair_hours", DEFAULT_MAX_PAIR_HOURS)
    try:
        return PresenceSettings(
            parse_hours_convention(str(hours)),
            parse_direction_mode(str(direction)),
            float(debounce),
            float(max_pair),
        )
    except ValueError as exc:
        raise ConfigError(f"badge settings: {exc}") from None


# ------------------------------------------------------------------------ the relations


@dataclass(frozen=True)
class BadgeInputs:
    """Names of the relations the badge queries read, as registered on one connection."""

    badges: str = "badge_events"  # the event store's badge columns
    timecards: str = "timecards_current"  # T&A rows in force
    sites: str = "badge_sites"  # site_id, timezone: every office
    offices: str = "reported_offices"  # site_id, name, seats: offices to report
    calendar: str = "badge_calendar"  # day, business_day
    # employee_id, valid_from, valid_to (exclusive), duty_station: everyone's versions
    assignments: str = "badge_assignments"
    scope: str | None = None  # the same columns, of the org unit's members only


def _assignments_table(session: Session, codes: list[str] | None, start: date, end: date) -> Any:
    """Assignment versions overlapping ``start..end`` (of units ``codes`` only, if given):
    ``employee_id, valid_from, valid_to`` (exclusive, NULL open) ``, duty_station``."""
    a = EmployeeAssignment
    query = (
        select(Employee.employee_id, a.effective_from, a.effective_to, Office.site_id)
        .join(Employee, Employee.id == a.employee_pk)
        .outerjoin(Office, Office.id == a.duty_station_id)
        .where(a.effective_from <= end, or_(a.effective_to.is_(None), a.effective_to > start))
    )
    if codes is not None:
        query = query.join(OrgUnit, OrgUnit.id == a.org_unit_id).where(OrgUnit.code.in_(codes))
    rows = session.execute(query).all()
    return pa.table(
        {
            "employee_id": pa.array([r[0] for r in rows], pa.string()),
            "valid_from": pa.array([r[1] for r in rows], pa.date32()),
            "valid_to": pa.array([r[2] for r in rows], pa.date32()),
            "duty_station": pa.array([r[3] for r in rows], pa.string()),
        }
    )


def _office_tables(session: Session, codes: list[str] | None) -> tuple[Any, Any]:
    everyone = session.execute(
        select(Office.site_id, Office.timezone, Office.name, Office.seats).order_by(Office.site_id)
    ).all()
    sites = pa.table(
        {
            "site_id": pa.array([r[0] for r in everyone], pa.string()),
            "timezone": pa.array([r[1] for r in everyone], pa.string()),
        }
    )
    reported = everyone
    if codes is not None:
        owned = set(
            session.scalars(
                select(Office.site_id)
                .join(office_org_unit, office_org_unit.c.office_id == Office.id)
                .join(OrgUnit, OrgUnit.id == office_org_unit.c.org_unit_id)
                .where(OrgUnit.code.in_(codes))
            )
        )
        reported = [r for r in everyone if r[0] in owned]
    offices = pa.table(
        {
            "site_id": pa.array([r[0] for r in reported], pa.string()),
            "name": pa.array([r[2] for r in reported], pa.string()),
            "seats": pa.array([r[3] for r in reported], pa.int64()),
        }
    )
    return sites, offices


def _calendar_table(start: date, end: date) -> Any:
    days = days_between(start, end)
    return pa.table(
        {
            "day": pa.array(days, pa.date32()),
            "business_day": pa.array([d.weekday() < 5 and d not in FEDERAL for d in days]),
        }
    )


def _badges(runtime: Runtime, start: date, end: date) -> str:
    """The badge events of the months holding ``start..end`` and a day either side (pairs
    over midnight at the edges, ``presence_sql``)."""
    months = months_between(start - timedelta(days=1), end + timedelta(days=1))
    return runtime.events.scan_sql(EventKind.BADGES, months)


def _events_per_month(runtime: Runtime) -> dict[str, int]:
    counts: dict[str, int] = {}
    for manifest in runtime.events.manifests(EventKind.BADGES):
        for f in manifest.files:
            counts[f.month] = counts.get(f.month, 0) + f.rows
    return counts


_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS.update({"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40})


def memory_bytes(limit: str, default: int = 10**9) -> int:
    """``duckdb_memory_limit`` in bytes ("1GB", "512MiB"); ``default`` for forms it cannot
    read (a percentage of RAM)."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", limit.lower())
    if found is None or found.group(2) not in _UNITS:
        return default
    return int(float(found.group(1)) * _UNITS[found.group(2)])


_SCOPE = "badge_scope"


def register_inputs(
    con: duckdb.DuckDBPyConnection,
    runtime: Runtime,
    start: date,
    end: date,
    *,
    org_unit: str | None = None,
) -> BadgeInputs:
    """Register on ``con`` every relation the badge queries of ``start..end`` read: the
    event store's months around the range (a day either side, for pairs over midnight),
    the offices, the calendar and, with ``org_unit``, its members as of each day."""
    if end < start:
        raise DutystationError(f"the period ends ({end}) before it starts ({start})")
    with Session(runtime.engine) as session:
        codes = None if org_unit is None else org_subtree(session, org_unit)
        sites, offices = _office_tables(session, codes)
        assignments = _assignments_table(session, None, start, end)
        scope = None if codes is None else _assignments_table(session, codes, start, end)
    inputs = BadgeInputs(scope=None if scope is None else _SCOPE)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {inputs.badges} AS "
        f"SELECT * FROM {_badges(runtime, start, end)}"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {inputs.timecards} AS "
        f"SELECT * FROM {event_sources(runtime.events, start, end).timecards}"
    )
    con.register(inputs.sites, sites)
    con.register(inputs.offices, offices)
    con.register(inputs.calendar, _calendar_table(start, end))
    con.register(inputs.assignments, assignments)
    if scope is not None:
        con.register(_SCOPE, scope)
    return inputs


def badge_queries(
    inputs: BadgeInputs, start: date, end: date, settings: PresenceSettings
) -> dict[str, str]:
    """The three report queries over ``inputs`` (each usable after ``FROM``), keyed
    ``presence``, ``discrepancies`` and ``utilisation``."""
    days = (start, end)
    return {
        "presence": presence_sql(inputs.badges, inputs.sites, settings, days, inputs.scope),
        "discrepancies": discrepancies_sql(
            inputs.badges, inputs.timecards, inputs.assignments, days, inputs.scope
        ),
        "utilisation": utilisation_sql(inputs.badges, inputs.offices, inputs.calendar, days),
    }


# ------------------------------------------------------------------------------ reports


@contextmanager
def _inputs(
    runtime: Runtime, start: date, end: date, org_unit: str | None
) -> Iterator[tuple[duckdb.DuckDBPyConnection, BadgeInputs]]:
    con = connect(runtime.settings)
    try:
        yield con, register_inputs(con, runtime, start, end, org_unit=org_unit)
    except duckdb.IOException as exc:
        raise StoreError(
            f"the event store cannot be read ({type(exc).__name__}); run an import to "
            "recover it or restore it from backup"
        ) from None
    finally:
        con.close()


def _fetch(
    con: duckdb.DuckDBPyConnection, query: str, schema: pa.Schema, order: str | None = None
) -> Any:
    names = ", ".join(schema.names)
    ordered = "" if order is None else f" ORDER BY {order}"
    return con.sql(f"SELECT {names} FROM {query}{ordered}").to_arrow_table().cast(schema)


def daily_presence(
    runtime: Runtime,
    start: date,
    end: date,
    *,
    org_unit: str | None = None,
    settings: PresenceSettings | None = None,
) -> Any:
    """One row per employee and office-local day of ``start..end`` with a badge tap
    (``PRESENCE_SCHEMA``, sorted by employee and day), hours by ``settings`` (default: the
    configured conventions).

    The range is queried in chunks of days sized to ``duckdb_memory_limit``
    (``analytics.presence.day_chunks``), each reading only its own months, so a year of a
    large agency never spills to disk."""
    config = settings or presence_settings_from(runtime.settings)
    max_events = max(1, memory_bytes(runtime.settings.duckdb_memory_limit) // BYTES_PER_EVENT)
    tables = []
    with _inputs(runtime, start, end, org_unit) as (con, inputs):
        for first, last in day_chunks((start, end), _events_per_month(runtime), max_events):
            badges = _badges(runtime, first, last)
            query = presence_sql(badges, inputs.sites, config, (first, last), inputs.scope)
            tables.append(
                _fetch(con, f"(SELECT *, 'badge' AS source FROM {query})", PRESENCE_SCHEMA)
            )
    table = pa.concat_tables(tables)
    return table.sort_by([("employee_id", "ascending"), ("date", "ascending")])


def discrepancies(runtime: Runtime, start: date, end: date, *, org_unit: str | None = None) -> Any:
    """T&A-versus-badge conflicts of ``start..end`` (``DISCREPANCIES_SCHEMA``; kinds in
    ``analytics/discrepancies.py``)."""
    with _inputs(runtime, start, end, org_unit) as (con, inputs):
        query = discrepancies_sql(
            inputs.badges, inputs.timecards, inputs.assignments, (start, end), inputs.scope
        )
        return _fetch(con, query, DISCREPANCIES_SCHEMA, "employee_id, date, kind, ta_category")


def utilisation(runtime: Runtime, start: date, end: date, *, org_unit: str | None = None) -> Any:
    """Per office, average and peak daily occupancy against seats (``UTILISATION_SCHEMA``;
    definitions in ``analytics/utilisation.py``)."""
    with _inputs(runtime, start, end, org_unit) as (con, inputs):
        query = utilisation_sql(inputs.badges, inputs.offices, inputs.calendar, (start, end))
        return _fetch(con, query, UTILISATION_SCHEMA, "site_id")
