"""The designation plan and the ``distance`` report as ``reports.model.Report`` objects, so
the terminal, CSV, XLSX and JSON renderers show them like every other report.

Homes are sensitive (DESIGN.md §5): these tables carry distances only, never a home's
coordinates or ZIP code. Aggregates are DuckDB over the per-person Arrow tables.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa

from dutystation.domain.geodesy import metres_to_miles
from dutystation.reports.model import Column, ColumnKind, Report, Section
from dutystation.services.designation_inputs import OfficeSet
from dutystation.services.designation_plan import Computed
from dutystation.services.reporting.tables import query, section

_K = ColumnKind
COMPONENT = Column("component", "Component", short="Comp.", priority=0)
EMPLOYEE = Column("employee_id", "Employee", short="Emp.", priority=0)
NAME = Column("name", "Name", priority=3, wrap=True)
ARRANGEMENT = Column("arrangement", "Arrangement", short="Arr.", priority=4)
TOTAL = Column("is_total", "Total row", _K.BOOLEAN, priority=9)


def miles_array(values: Any) -> pa.Array:
    """Metres -> miles to the tenth; nan and inf become null."""
    array = np.asarray(values, np.float64)
    out = np.round(array / 1609.344, 1)
    return pa.array(out, pa.float64(), mask=~np.isfinite(array))


def site_array(offices: OfficeSet, index: Any) -> pa.Array:
    idx = np.asarray(index, np.int64)
    names = np.array([*offices.site_id, ""], dtype=object)
    return pa.array(names[np.where(idx >= 0, idx, len(offices.site_id))], pa.string(), mask=idx < 0)


# --- the plan --------------------------------------------------------------------------------

PEOPLE_COLUMNS = (
    COMPONENT,
    Column("org_unit", "Org unit", short="Unit", priority=5),
    EMPLOYEE,
    NAME,
    ARRANGEMENT,
    Column("job_function", "Job function", short="Function", priority=4, wrap=True),
    Column("need", "Why a designation", short="Need", priority=2),
    Column("status", "Status", priority=0),
    Column("site_id", "Designated office", short="Office", priority=0),
    Column("office_name", "Office name", priority=5, wrap=True),
    Column("distance_miles", "Distance (mi)", _K.NUMBER, short="Mi", priority=0),
    Column("limit_miles", "Limit (mi)", _K.NUMBER, short="Limit", priority=6),
    Column("rule", "Rule matched", priority=3, wrap=True),
    Column("free_seats_before", "Free seats before", _K.INTEGER, short="Free", priority=6),
    Column("seats_left", "Seats left after plan", _K.INTEGER, short="Left", priority=6),
    Column("rejected_nearer", "Nearer offices rejected", short="Rejected", priority=2, wrap=True),
    Column("reason", "Reason (unplaced, excluded)", short="Reason", priority=1, wrap=True),
    Column("nearest_office", "Nearest agency office", short="Nearest", priority=7),
    Column("nearest_office_miles", "Nearest office (mi)", _K.NUMBER, short="Near mi", priority=7),
)
SUMMARY_COLUMNS = (
    COMPONENT,
    Column("needing", "Need a designation", _K.INTEGER, short="Need"),
    Column("placed", "Placed within the limit", _K.INTEGER, short="Placed"),
    Column("placed_beyond_limit", "Placed beyond the limit", _K.INTEGER, short="Beyond"),
    Column("unplaced", "Unplaced", _K.INTEGER),
    Column("shortfall", "Unplaced for lack of seats", _K.INTEGER, short="Short"),
    Column("excluded", "Excluded (cannot judge)", _K.INTEGER, short="Excl."),
    Column("total_miles", "Total distance (mi)", _K.NUMBER, short="Total mi"),
    Column("mean_miles", "Mean distance (mi)", _K.NUMBER, short="Mean mi"),
    TOTAL,
)
WHAT_IF_COLUMNS = (
    Column("measure", "Measure", priority=0),
    Column("base", "Base plan", _K.NUMBER, short="Base"),
    Column("what_if", "With the changes", _K.NUMBER, short="What-if"),
    Column("change", "Change", _K.NUMBER),
)
OFFICE_COLUMNS = (
    Column("site_id", "Office", priority=0),
    Column("name", "Name", priority=3, wrap=True),
    Column("seats", "Seats", _K.INTEGER),
    Column("free_before", "Free before", _K.INTEGER, short="Free"),
    Column("designated", "Designated by the plan", _K.INTEGER, short="Designated"),
    Column("free_after", "Free after", _K.INTEGER, short="Left"),
)
EXCLUDED_OFFICE_COLUMNS = (
    Column("site_id", "Office", priority=0),
    Column("name", "Name", priority=3, wrap=True),
    Column("reason", "Why it takes no one", short="Reason", priority=0),
)


def plan_people(c: Computed) -> pa.Table:
    staff, offices, who = c.staff, c.offices, c.who
    seats_left = c.free_before - c.used
    chosen = np.where(c.office >= 0, c.office, 0)
    names = np.array([*offices.name, ""], dtype=object)
    placed = c.office >= 0
    return pa.table(
        {
            "component": [staff.component[w] for w in who],
            "org_unit": [staff.org_unit[w] for w in who],
            "employee_id": [staff.employee_id[w] for w in who],
            "name": [staff.name[w] for w in who],
            "arrangement": pa.array(staff.arrangement[who].tolist(), pa.string()),
            "job_function": [staff.job_function[w] for w in who],
            "need": c.need,
            "status": c.status,
            "site_id": site_array(offices, c.office),
            "office_name": pa.array(
                names[np.where(placed, c.office, len(offices.name))], pa.string(), mask=~placed
            ),
            "distance_miles": miles_array(c.metres),
            "limit_miles": miles_array(staff.limit_m[who]),
            "rule": pa.array(c.rule, pa.string()),
            "free_seats_before": pa.array(c.free_before[chosen], pa.int64(), mask=~placed),
            "seats_left": pa.array(seats_left[chosen], pa.int64(), mask=~placed),
            "rejected_nearer": pa.array(c.rejected, pa.string()),
            "reason": pa.array(c.reason, pa.string()),
            "nearest_office": site_array(offices, c.nearest_agency),
            "nearest_office_miles": miles_array(c.nearest_agency_m),
        }
    )


_SUMMARY_SQL = """
WITH g AS (
    SELECT component, count(*) AS needing,
        count(*) FILTER (status = 'placed') AS placed,
        count(*) FILTER (status = 'placed_beyond_limit') AS placed_beyond_limit,
        count(*) FILTER (status = 'unplaced') AS unplaced,
        count(*) FILTER (status = 'unplaced' AND reason LIKE 'full:%') AS shortfall,
        count(*) FILTER (status = 'excluded') AS excluded,
        coalesce(sum(distance_miles), 0) AS total_miles,
        avg(distance_miles) AS mean_miles
    FROM people GROUP BY ALL
)
SELECT *, false AS is_total FROM g
UNION ALL
SELECT 'all', sum(needing)::BIGINT, sum(placed)::BIGINT, sum(placed_beyond_limit)::BIGINT,
    sum(unplaced)::BIGINT, sum(shortfall)::BIGINT, sum(excluded)::BIGINT, sum(total_miles),
    sum(total_miles) / nullif(sum(placed) + sum(placed_beyond_limit), 0), true FROM g
ORDER BY is_total, component
"""


def _summary(people: pa.Table) -> pa.Table:
    table = query(_SUMMARY_SQL, people=people)
    for name in ("total_miles", "mean_miles"):
        rounded = np.round(np.asarray(table.column(name).to_numpy(zero_copy_only=False), float), 1)
        table = table.set_column(table.column_names.index(name), name, pa.array(rounded))
    return table


def _measures(c: Computed) -> dict[str, float]:
    return {
        "placed within the limit": c.count("placed"),
        "placed beyond the limit": c.count("placed_beyond_limit"),
        "unplaced": c.count("unplaced"),
        "shortfall (unplaced for lack of seats)": c.shortfall(),
        "excluded": c.count("excluded"),
        "total distance (mi)": round(metres_to_miles(c.total_metres()), 1),
    }


def _offices(c: Computed) -> pa.Table:
    used = np.flatnonzero(c.used > 0)
    o = c.offices
    return pa.table(
        {
            "site_id": [o.site_id[i] for i in used],
            "name": [o.name[i] for i in used],
            "seats": pa.array(o.seats[used], pa.int64()),
            "free_before": pa.array(c.free_before[used], pa.int64()),
            "designated": pa.array(c.used[used], pa.int64()),
            "free_after": pa.array(c.free_before[used] - c.used[used], pa.int64()),
        }
    )


def _excluded_offices(offices: OfficeSet) -> pa.Table:
    rows = sorted(offices.excluded)
    return pa.table(
        {
            "site_id": pa.array([r[0] for r in rows], pa.string()),
            "name": pa.array([r[1] for r in rows], pa.string()),
            "reason": pa.array([r[2] for r in rows], pa.string()),
        }
    )


def plan_report(
    c: Computed, base: Computed | None, plan_id: int | None, parameters: dict[str, Any]
) -> Report:
    day = date.fromisoformat(parameters["day"])
    people = plan_people(c)
    sections: list[Section] = [
        section("summary", "Designations per component", SUMMARY_COLUMNS, _summary(people))
    ]
    if base is not None:
        now, before = _measures(c), _measures(base)
        table = pa.table(
            {
                "measure": list(now),
                "base": [float(before[k]) for k in now],
                "what_if": [float(now[k]) for k in now],
                "change": [round(float(now[k] - before[k]), 1) for k in now],
            }
        )
        notes = [f"What-if: {parameters['what_if']}"]
        sections.append(
            section("what-if", "What-if against the base plan", WHAT_IF_COLUMNS, table, notes=notes)
        )
    sections += [
        section("people", "One row per person who needs a designation", PEOPLE_COLUMNS, people),
        section("offices", "Seats the plan takes", OFFICE_COLUMNS, _offices(c)),
        section(
            "excluded-offices",
            "Offices that can take no one, and why",
            EXCLUDED_OFFICE_COLUMNS,
            _excluded_offices(c.offices),
        ),
    ]
    title = f"Designation plan {plan_id}" if plan_id is not None else "Designation plan (not saved)"
    shown = {
        "plan": str(plan_id) if plan_id is not None else "not saved",
        "effective from": parameters["effective_from"],
        "org unit": parameters["org_unit"] or "all",
        "directives": ", ".join(parameters["directives"]),
    }
    return Report(
        kind="designation-plan",
        title=title,
        subtitle="Remote staff to agency offices, by duties and job function, within seats",
        period_start=day,
        period_end=day,
        as_of=day,
        sections=tuple(sections),
        primary="people",
        notes=(
            "Distances are WGS84 geodesics from home (coordinates, else the ZIP centroid) to "
            "the office; homes themselves are not shown.",
        ),
        parameters=shown,
    )
