"""The ``capacity`` report: per office, the people a directive brings on its busiest day
against its seats, with the roster and designations behind the figure, what badges
observed, people bound to come who have no office, and a map (docs/capacity.md).

The figures come from ``services/capacity.py`` (rules in ``domain/capacity.py``); this
module lays them out: ``capacity_report`` is pure over ``CapacityFigures``, ``build`` reads
them for a request. A period of at most 31 days has a row per office and business day in
section ``days``; a longer one the busiest day of each office and ISO week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pyarrow as pa

from dutystation.domain.capacity import on_us_map
from dutystation.reports import charts, maps
from dutystation.reports.model import Report
from dutystation.services.reporting.seats_columns import (
    DAY_COLUMNS,
    MAP_COLUMNS,
    OFFICE_COLUMNS,
    UNPLACED_COLUMNS,
)
from dutystation.services.reporting.tables import (
    ReportContext,
    group_depth,
    group_sql,
    names_column,
    query,
    root_label,
    section,
)

DAILY_UP_TO = 31  # days; beyond, section ``days`` keeps each office's busiest day a week
CHART_OFFICES = 15


@dataclass(frozen=True)
class CapacityFigures:
    """What the report lays out (schemas in ``services/capacity.py``)."""

    offices: Any  # OFFICES_SCHEMA: the offices reported
    days: Any  # OFFICE_DAYS_SCHEMA + seats: per office and business day
    unplaced: Any  # UNPLACED_DAYS_SCHEMA + org_path
    observed: Any  # OBSERVED_SCHEMA: people badged per office and day
    observed_until: date | None  # last day with a badge event stored
    places: Any  # place, latitude, longitude, people: unplaced staff of the latest plan
    plan_note: str  # where ``places`` comes from, in a sentence


_DAYS_SQL = """
SELECT d.*, strftime(d.day, '%G-W%V') AS week,
    CASE WHEN {known} THEN coalesce(o.observed, 0) END AS observed,
    CAST(greatest(0, ceil(d.expected - d.seats - 1e-9)) AS BIGINT) AS shortfall
FROM d LEFT JOIN o ON o.site_id = d.site_id AND o.day = d.day
"""
_OFFICES_SQL = """
WITH per AS (
    SELECT *, row_number() OVER (PARTITION BY site_id ORDER BY expected DESC, day) AS k,
        avg(expected) OVER (PARTITION BY site_id) AS avg_expected,
        count(*) FILTER (WHERE expected > seats + 1e-9) OVER (PARTITION BY site_id)
            AS days_short,
        avg(observed) OVER (PARTITION BY site_id) AS observed_avg,
        max(observed) OVER (PARTITION BY site_id) AS observed_peak
    FROM dd
)
SELECT p.site_id, f.name, p.seats, p.day AS peak_date, round(p.expected, 1) AS expected,
    p.shortfall, p.assigned, p.designated, p.exempt, p.days_short,
    round(p.avg_expected, 1) AS avg_expected, round(p.observed_avg, 1) AS observed_avg,
    p.observed_peak, p.onsite, p.telework, p.remote, p.field,
    f.latitude, f.longitude
FROM per AS p JOIN f USING (site_id) WHERE p.k = 1
ORDER BY p.shortfall DESC, p.expected / greatest(p.seats, 1) DESC, p.site_id
"""


def _weekly(days: pa.Table) -> pa.Table:
    return query(
        "SELECT * EXCLUDE (k) FROM (SELECT *, row_number() OVER "
        "(PARTITION BY site_id, week ORDER BY expected DESC, day) AS k FROM t) WHERE k = 1",
        t=days,
    )


def _unplaced(unplaced: pa.Table, context: ReportContext) -> pa.Table:
    if unplaced.num_rows == 0:
        empty = {"org_unit": pa.string(), "people": pa.int64(), "expected": pa.float64()}
        table = pa.table({k: pa.array([], t) for k, t in empty.items()})
        return table.append_column("name", pa.array([], pa.string())).append_column(
            "is_total", pa.array([], pa.bool_())
        )
    depth = group_depth(context.org_unit, unplaced)
    root = root_label(context.org_unit, unplaced).replace("'", "''")
    table = query(
        f"""WITH u AS (SELECT {group_sql(depth)} AS unit, day, people, expected FROM t),
        per_day AS (
            SELECT coalesce(unit, '{root}') AS org_unit, grouping(unit) = 1 AS is_total, day,
                sum(people) AS people, sum(expected) AS expected
            FROM u GROUP BY GROUPING SETS ((unit, day), (day)))
        SELECT org_unit, is_total, CAST(max(people) AS BIGINT) AS people,
            round(max(expected), 1) AS expected
        FROM per_day GROUP BY org_unit, is_total ORDER BY is_total, org_unit""",
        t=unplaced,
    )
    return table.append_column("name", names_column(table.column("org_unit"), context))


def _map_points(offices: pa.Table, places: pa.Table) -> pa.Table:
    return query(
        """SELECT 'office' AS kind, site_id || ' ' || coalesce(name, '') AS place,
            round(latitude, 3) AS latitude, round(longitude, 3) AS longitude, seats,
            expected, shortfall, CAST(NULL AS BIGINT) AS people
        FROM f
        UNION ALL
        SELECT 'unplaced staff', place, round(latitude, 1), round(longitude, 1),
            NULL, NULL, NULL, people FROM p
        ORDER BY 1, 2""",
        f=offices,
        p=places,
    )


def capacity_report(figures: CapacityFigures, context: ReportContext) -> Report:
    known = (
        "false"
        if figures.observed_until is None
        else f"d.day <= DATE '{figures.observed_until.isoformat()}'"
    )
    days = query(_DAYS_SQL.format(known=known), d=figures.days, o=figures.observed)
    offices = query(_OFFICES_SQL, dd=days, f=figures.offices)
    daily = (context.end - context.start).days + 1 <= DAILY_UP_TO
    order = query(
        "SELECT d.* FROM d JOIN (SELECT site_id, row_number() OVER () AS r FROM f) USING "
        "(site_id) ORDER BY r, d.day",
        d=days if daily else _weekly(days),
        f=offices.select(["site_id"]),
    )
    unplaced = _unplaced(figures.unplaced, context)
    points = _map_points(offices, figures.places)
    return Report(
        kind="capacity",
        title="Office capacity",
        subtitle="Per office: people expected on site at full compliance against seats",
        period_start=context.start,
        period_end=context.end,
        as_of=context.as_of,
        sections=(
            section(
                "offices",
                "Seats and people expected",
                OFFICE_COLUMNS,
                offices,
                notes=_office_notes(offices, figures),
                chart=_demand_chart(offices),
            ),
            section(
                "days",
                "Per office and day" if daily else "Per office and week",
                DAY_COLUMNS,
                order,
                notes=[_days_note(daily, figures.observed_until, context.end)],
            ),
            section(
                "unplaced",
                "Required on site, no office",
                UNPLACED_COLUMNS,
                unplaced,
                notes=[
                    "People a directive requires on site whose roster shows no duty station "
                    "and who have no designation yet (remote staff to designate to an "
                    "office): they count at no office above. Peak day of the period."
                ],
            ),
            section(
                "map",
                "Offices and unplaced staff",
                MAP_COLUMNS,
                points,
                notes=_map_notes(points, figures.plan_note),
                chart=_map_chart(points),
            ),
        ),
        primary="offices",
        notes=context.notes,
        parameters=context.parameters,
    )


def _office_notes(offices: pa.Table, figures: CapacityFigures) -> list[str]:
    rows = offices.select(["shortfall", "designated"]).to_pylist()
    short = sum(1 for r in rows if r["shortfall"] > 0)
    missing = sum(r["shortfall"] for r in rows)
    return [
        f"{short} of {offices.num_rows} office(s) are short of seats on their busiest day, "
        f"by {missing:,} seat(s) in all: evidence for 'lack of adequate office space' "
        "exemptions, and a limit on the compliance plan's date of full compliance.",
        "Expected: each person's chance of being on site that day if everyone complies "
        "(on-site staff every workday; teleworkers and remote staff bound by a directive "
        "its requirement as a share of their schedule's workdays, or their bargaining "
        "agreement's terms; nobody for field staff, the exempt, or teleworkers no "
        "directive binds), summed per office. A share of hours is taken as the same share "
        "of days. Leave is not forecast. See docs/capacity.md.",
        "Designated: people designated to the office whom the roster does not show there "
        "yet; they count there, not at their roster's office (still in Assigned there).",
    ]


def _days_note(daily: bool, observed_until: date | None, end: date) -> str:
    shape = (
        "One row per office and business day."
        if daily
        else "The period is longer than a month: one row per office and ISO week, its busiest day."
    )
    if observed_until is None:
        return shape + " No badge events are stored: nothing observed."
    if observed_until < end:
        after = (observed_until + timedelta(days=1)).isoformat()
        return (
            f"{shape} Badge events stop on {observed_until.isoformat()}: from {after} "
            "nothing is observed yet."
        )
    return shape


def _map_notes(points: pa.Table, plan_note: str) -> list[str]:
    rows = points.to_pylist()
    offices = [r for r in rows if r["kind"] == "office"]
    placeless = sum(1 for r in offices if r["latitude"] is None or r["longitude"] is None)
    off_map = sum(
        1
        for r in offices
        if r["latitude"] is not None
        and r["longitude"] is not None
        and not on_us_map(r["latitude"], r["longitude"])
    )
    notes = [plan_note]
    if placeless:
        notes.append(f"{placeless} office(s) have no coordinates and are not drawn.")
    if off_map:
        notes.append(
            f"{off_map} office(s) lie outside the map's projection (the 50 states: Puerto "
            "Rico, Guam and other territories are not drawn) and are listed only here."
        )
    notes.append(
        "Unplaced staff are counted per ZIP3 area (the first three digits of the home ZIP "
        "code, drawn at the area's centre) or per office; no home is ever drawn. State "
        "shapes: U.S. Census Bureau cartographic boundaries via us-atlas (ISC licence)."
    )
    return notes


def _demand_chart(offices: pa.Table) -> Any:
    top = offices.slice(0, CHART_OFFICES)
    observed = any(v is not None for v in top.column("observed_peak").to_pylist())
    measures = [("expected", "expected on the busiest day")]
    if observed:
        measures.append(("observed_peak", "observed peak (badges)"))
    labelled = query(
        "SELECT site_id || ' ' || coalesce(name, '') AS office, seats, expected, "
        "observed_peak FROM t",
        t=top,
    )
    short = sum(1 for v in top.column("shortfall").to_pylist() if v > 0)
    return charts.capacity_bars(
        labelled.select(["office", "seats", *[m for m, _ in measures]]),
        measures=measures,
        title="People expected against seats",
        description=(
            f"The {top.num_rows} offices with the largest shortfall ({short} short of "
            "seats): bars are the people expected on site on the office's busiest day at "
            "full compliance"
            + (" and the most people badged in on one day" if observed else "")
            + "; black ticks are the seats."
        ),
    )


def _map_chart(points: pa.Table) -> Any:
    offices = query(
        "SELECT place, latitude, longitude, seats, expected, shortfall FROM t "
        "WHERE kind = 'office'",
        t=points,
    )
    people = query(
        "SELECT place, latitude, longitude, people FROM t WHERE kind <> 'office'", t=points
    )
    short = sum(1 for v in offices.column("shortfall").to_pylist() if v)
    return maps.capacity_map(
        offices,
        people,
        title="Offices and unplaced staff",
        description=(
            f"{offices.num_rows} offices as circles sized by seats, orange where more "
            f"people are expected than seats ({short}); purple triangles: "
            f"{sum(people.column('people').to_pylist()):,} unplaced staff by area."
        ),
    )
