"""The snapshot's tables, derived from one evaluation with DuckDB (no Python loop over
employees or weeks): what ``services/snapshot.py`` stores and ``services/status.py``
reads. The evaluation's rows are in a Parquet file (``rows_file.RowsFile``, relation ``ev``), so
DuckDB reads them within its memory limit and spills to ``tmp_dir`` past it: at 2.3
million employees x 26 weeks they are 60 million rows. Each ``*_sql`` query, or function,
gives the rows of one snapshot table, its columns named as that table's
(``store/schema_snapshot.py``) minus ``snapshot_id``; ``to_file`` writes a query's rows to
Parquet, to be stored from there a batch at a time.

The figures are the reports' own: a unit-week's hours and statuses are sums over the same
employee-week rows as ``onsite-share`` and ``compliance-plan`` (``reporting/hours.py``,
``reporting/plan_sql.py``), kept per unit for its whole subtree and for its own staff, so
that any unit's children can be shown without grouping again; the expected date of full
compliance is the plan's SQL run once per level of the org tree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from dutystation.services.reporting.plan_sql import plan_sql
from dutystation.settings import Settings

_HOURS = ("required", "on_site", "field_travel", "off_site", "leave", "holiday")
# The employee's latest week: the last whole week (not cut by the range) they have,
# else their last week at all.
_LATEST_KEY = (
    "CAST(period_end - period_start >= 6 AS INTEGER) * 1000000 + (period_start - DATE '2000-01-01')"
)
_WEEK_COUNTS = """
    count(*) AS employees,
    sum(hours_on_site + hours_field_travel) AS hours_at_station,
    sum(hours_off_site) AS hours_off_site,
    sum(hours_telework) AS hours_telework,
    sum(hours_remote) AS hours_remote,
    count(*) FILTER (WHERE status <> 'not_in_scope') AS bound,
    count(*) FILTER (WHERE status IN ('compliant', 'exempt', 'covered_by_agreement'))
        AS in_compliance,
    count(*) FILTER (WHERE status = 'exempt') AS exempt,
    count(*) FILTER (WHERE status = 'covered_by_agreement') AS covered_by_agreement,
    count(*) FILTER (WHERE status = 'pending_exemption') AS pending_exemption,
    count(*) FILTER (WHERE status IN ('non_compliant', 'not_yet_due')) AS non_compliant"""


def connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    """In memory: the inputs are the evaluation's Arrow tables, scanned in place; sorting
    6.5M employee-weeks spills to ``tmp_dir`` past the configured memory limit."""
    settings.tmp_dir.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(
        config={
            "threads": 2,
            "memory_limit": settings.duckdb_memory_limit,
            "temp_directory": str(settings.tmp_dir),
            "autoload_known_extensions": False,
        }
    )


def parquet_view(con: duckdb.DuckDBPyConnection, name: str, path: Path, where: str = "") -> None:
    """Relation ``name``: the rows of the Parquet file at ``path`` (``where`` them)."""
    quoted = str(path).replace("'", "''")
    con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{quoted}') {where}")


def to_file(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> Path:
    """The rows of ``query`` written to a Parquet file at ``path`` (DuckDB writes them as it
    makes them, in the query's order)."""
    quoted = str(path).replace("'", "''")
    con.execute(f"COPY ({query}) TO '{quoted}' (FORMAT parquet, COMPRESSION snappy)")
    return path


def org_units(chains: Mapping[str, Sequence[str]]) -> pa.Table:
    """``org_unit, parent, depth, org_path`` of every unit."""
    codes = sorted(chains)
    return pa.table(
        {
            "org_unit": pa.array(codes, pa.string()),
            "parent": pa.array([chains[c][-2] if len(chains[c]) > 1 else None for c in codes]),
            "depth": pa.array([len(chains[c]) for c in codes], pa.int32()),
            "org_path": pa.array(["/".join(chains[c]) for c in codes], pa.string()),
        },
        schema=pa.schema(
            [
                ("org_unit", pa.string()),
                ("parent", pa.string()),
                ("depth", pa.int32()),
                ("org_path", pa.string()),
            ]
        ),
    )


# ``snapshot_week`` columns from the evaluation's, in the table's order.
WEEK_COLUMNS = {
    "week_start": "period_start",
    "week_end": "period_end",
    "week": "period_label",
    **{c: c for c in ("org_unit", "component", "arrangement", "duty_station", "directive_ref")},
    **{f"hours_{c}": f"hours_{c}" for c in _HOURS},
    **{c: c for c in ("days_present_badge", "days_on_site_ta", "days_at_duty_station")},
    "status": "status",
    "reason": "reason",
}
PAY_PERIOD_COLUMNS = {
    "period_start": "period_start",
    "period_end": "period_end",
    "pay_period": "period_label",
    "duty_station": "duty_station",
    "days_at_duty_station": "days_at_duty_station",
    "duty_station_test_failed": "duty_station_test_failed",
}


def weeks_sql() -> str:
    """``snapshot_week`` rows, ordered by employee and week (the primary key's order, so
    the index is filled in order)."""
    return _rows_sql("period_kind = 'week'", WEEK_COLUMNS)


def pay_periods_sql() -> str:
    """``snapshot_pay_period``: the pay-period rows the duty-station test judged."""
    return _rows_sql(
        "period_kind = 'pay_period' AND duty_station_test_failed IS NOT NULL", PAY_PERIOD_COLUMNS
    )


def _rows_sql(which: str, columns: Mapping[str, str]) -> str:
    """The ``which`` rows of ``ev`` with ``employee_pk`` first (from relation ``emp``:
    ``employee_id, employee_pk``), ``columns`` renamed, days as 32-bit integers, sorted by
    employee and period."""
    picked = []
    for name, source in columns.items():
        if name.startswith("days_"):
            picked.append(f"CAST({source} AS INTEGER) AS {name}")
        elif name.startswith("hours_"):
            picked.append(f"CAST({source} AS DOUBLE) AS {name}")
        else:
            picked.append(f"{source} AS {name}")
    return f"""
        SELECT emp.employee_pk, {", ".join(picked)}
        FROM ev JOIN emp USING (employee_id)
        WHERE {which}
        ORDER BY emp.employee_pk, period_start"""


def employees_sql() -> str:
    """``snapshot_employee``: each employee's latest week and whether the not-returned
    report lists them (relation ``nr``: ``employee_id``)."""
    return f"""
        WITH latest AS (
            SELECT employee_id, max_by({{
                'org_unit': CAST(org_unit AS VARCHAR), 'component': CAST(component AS VARCHAR),
                'arrangement': CAST(arrangement AS VARCHAR),
                'duty_station': CAST(duty_station AS VARCHAR),
                'directive_ref': CAST(directive_ref AS VARCHAR),
                'week': CAST(period_label AS VARCHAR), 'week_start': period_start,
                'status': CAST(status AS VARCHAR),
                'reason': coalesce(CAST(reason AS VARCHAR), '')}}, {_LATEST_KEY}) AS w
            FROM ev WHERE period_kind = 'week' GROUP BY employee_id
        )
        SELECT m.employee_pk, l.employee_id, l.w.org_unit, l.w.component, l.w.arrangement,
               l.w.duty_station, l.w.directive_ref, l.w.week, l.w.week_start, l.w.status,
               l.w.reason, l.employee_id IN (SELECT employee_id FROM nr) AS not_returned
        FROM latest AS l JOIN emp AS m USING (employee_id)
        ORDER BY m.employee_pk"""


def unit_weeks_sql() -> str:
    """``snapshot_unit_week``: per unit and week, its subtree's and its own staff's sums."""
    return f"""
        WITH w AS (
            SELECT CAST(org_unit AS VARCHAR) AS org_unit, org_path, period_start, period_end,
                   CAST(period_label AS VARCHAR) AS period_label, hours_on_site,
                   hours_field_travel, hours_off_site, hours_telework, hours_remote, status
            FROM ev WHERE period_kind = 'week'
        ),
        up AS (SELECT unnest(string_split(org_path, '/')) AS unit, * EXCLUDE (org_unit) FROM w)
        SELECT unit AS org_unit, 'subtree' AS scope, period_start AS week_start,
               max(period_end) AS week_end, any_value(period_label) AS week, {_WEEK_COUNTS}
        FROM up GROUP BY unit, period_start
        UNION ALL
        SELECT org_unit, 'own', period_start, max(period_end), any_value(period_label),
               {_WEEK_COUNTS}
        FROM w GROUP BY org_unit, period_start
        ORDER BY 1, 2, 3"""


PLAN_SCHEMA = pa.schema(
    [
        ("org_unit", pa.string()),
        ("compliance_rate", pa.float64()),
        ("expected_full_compliance", pa.date32()),
        ("trend_full_compliance", pa.date32()),
        ("limits", pa.string()),
    ]
)


def plan_figures(
    con: duckdb.DuckDBPyConnection,
    chains: Mapping[str, Sequence[str]],
    fit_from: date,
    *,
    expected: bool,
) -> pa.Table:
    """Per unit: the compliance plan's rate, expected and trend dates and limits, as the
    ``compliance-plan`` report for the unit's parent shows them. The plan's SQL groups
    rows by the unit one level below its root: one run per level gives every unit
    (relations ``ev`` with the weeks from the directive on, ``offices``, and ``cap`` when
    ``expected``)."""
    parts = []
    for depth in range(max((len(c) for c in chains.values()), default=0)):
        found = con.sql(plan_sql(depth, "", fit_from, expected=expected)).to_arrow_table()
        # A run at one level shows the units of the next level; the units above it appear
        # too (their own staff only) and are taken from their own level's run instead.
        level = found.filter(pc.invert(found.column("is_total")))
        level = level.filter(
            pc.is_in(
                level.column("org_unit"),
                value_set=pa.array([c for c, p in chains.items() if len(p) == depth + 1]),
            )
        )
        parts.append(
            level.select(
                [
                    "org_unit",
                    "compliance_rate",
                    "expected_full_compliance",
                    "trend_full_compliance",
                    "limits",
                ]
            ).cast(PLAN_SCHEMA)
        )
    return pa.concat_tables(parts) if parts else PLAN_SCHEMA.empty_table()


def units(con: duckdb.DuckDBPyConnection, *, with_not_returned: bool) -> pa.Table:
    """``snapshot_unit``: every unit of the tree with staff counts, the not-returned count
    of its subtree (relation ``nr``: ``employee_id, org_unit``, the report's people), the
    exemption counts (relation ``ex``: ``employee_id, category_group, kind``) and the
    plan's figures (relation ``plan``). ``snapshot_employee`` rows are relation ``se``,
    the units (``org_units``) relation ``org``."""
    counts = con.sql(f"""
        WITH p AS (SELECT org_unit, org_path FROM org),
        staff_n AS (
            SELECT unit, count(*) AS staff, count(*) FILTER (WHERE own_unit = unit) AS own_staff
            FROM (SELECT unnest(string_split(p.org_path, '/')) AS unit, se.org_unit AS own_unit
                  FROM se JOIN p USING (org_unit))
            GROUP BY unit
        ),
        nr_n AS (
            SELECT unit, count(*) AS n
            FROM (SELECT unnest(string_split(p.org_path, '/')) AS unit
                  FROM nr JOIN p USING (org_unit))
            GROUP BY unit
        ),
        below AS (SELECT parent, count(*) AS n FROM org WHERE parent IS NOT NULL GROUP BY parent)
        SELECT o.org_unit, o.parent, o.depth, CAST(coalesce(b.n, 0) AS INTEGER) AS child_units,
               CAST(coalesce(s.own_staff, 0) AS INTEGER) AS own_staff,
               CAST(coalesce(s.staff, 0) AS INTEGER) AS staff,
               CASE WHEN {with_not_returned} THEN CAST(coalesce(n.n, 0) AS INTEGER) END
                   AS not_returned,
               pl.compliance_rate, pl.expected_full_compliance, pl.trend_full_compliance,
               pl.limits
        FROM org AS o LEFT JOIN staff_n AS s ON s.unit = o.org_unit
        LEFT JOIN nr_n AS n ON n.unit = o.org_unit
        LEFT JOIN plan AS pl ON pl.org_unit = o.org_unit
        LEFT JOIN below AS b ON b.parent = o.org_unit
        ORDER BY o.org_unit""").to_arrow_table()
    exempt = con.sql("""
        SELECT unit, category_group, kind, count(*) AS n
        FROM (SELECT unnest(string_split(o.org_path, '/')) AS unit, ex.category_group, ex.kind
              FROM ex JOIN se USING (employee_id) JOIN org AS o ON o.org_unit = se.org_unit)
        GROUP BY ALL""").fetchall()
    by_unit: dict[str, dict[str, dict[str, int]]] = {}
    for unit, group, kind, n in exempt:
        by_unit.setdefault(unit, {}).setdefault(group, {"approved": 0, "pending": 0})[kind] = n
    exemptions = pa.array(
        [json.dumps(by_unit.get(u, {}), sort_keys=True) for u in counts["org_unit"].to_pylist()],
        pa.string(),
    )
    return counts.append_column("exemptions", exemptions)


def register(con: duckdb.DuckDBPyConnection, **tables: Any) -> None:
    for name, table in tables.items():
        con.register(name, table)
