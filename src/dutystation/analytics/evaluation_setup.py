"""The small tables of the evaluation, in DuckDB: registered from Arrow, filtered to the
range and keyed by integers, before any event is read.

- ``iv``: the assignment versions overlapping the range (of employees with a version in
  the selected subtree, if any), each with ``ver`` (numbered by employee then start, so an
  employee's later version has the higher number), ``emp`` (dense per employee), ``ua``
  (its org unit x arrangement pair) and ``effective_until`` (exclusive, never null);
- ``emp``, ``multi`` (employees with several versions), ``special`` (several versions or
  an exemption: their periods are summed, never taken as one row);
- ``cal`` with ``block`` and ``dow_bit``, ``blocks``, ``cs`` (calendar x schedule per day),
  ``cb`` (per schedule and block), ``epochs``;
- ``bnd``, ``dir``, ``exe``, ``exday`` (per employee and covered day, the bits of the
  categories covering it), ``req``, ``agr``, ``org``, ``selected_units``.

Columns shown in the result that take few distinct values (org unit, component, duty
station, arrangement, bargaining unit, directive, period label, kind, status) get an
ENUM type here, so DuckDB hands them to Arrow dictionary encoded: at 250,000 employees x
26 weeks, plain strings would take 1.2 GB more. Each small table carries the ENUM copy
next to the text it is joined on (``*_e``), so no row of the result is cast one by one.
``org_path`` stays plain text: pyarrow's string kernels (regex filters on the path) have
no dictionary kernels.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import duckdb
import pyarrow as pa

from dutystation.domain.status import Status

# ENUM type -> the query listing its values.
CATEGORIES = {
    "period_kind_t": "SELECT unnest(['day', 'week', 'pay_period'])",
    "period_label_t": "SELECT DISTINCT unnest([strftime(day, '%Y-%m-%d'), week_label, "
    "pay_period_label]) FROM cal_in",
    "org_unit_t": "SELECT DISTINCT org_unit FROM org_in",
    "component_t": "SELECT DISTINCT component FROM org_in",
    "site_t": "SELECT DISTINCT duty_station FROM iv0 WHERE duty_station IS NOT NULL",
    "arrangement_t": "SELECT DISTINCT arrangement FROM iv0",
    "unit_t": "SELECT DISTINCT bargaining_unit FROM iv0 WHERE bargaining_unit IS NOT NULL",
    "directive_t": "SELECT DISTINCT directive_ref FROM dir_in",
    "status_t": f"SELECT unnest({[s.value for s in Status]!r})",
}


def _day(value: date) -> str:
    return f"DATE '{value.isoformat()}'"


def prepare(
    con: duckdb.DuckDBPyConnection,
    inputs: Mapping[str, Any],
    selected_units: list[str] | None,
    start: date,
    end: date,
    *,
    daily: bool,
    pay_periods: bool,
) -> None:
    """Create the tables of the module docstring. ``inputs``: Arrow tables by name (iv,
    org, cal, sh, bnd, dir, exe, req, agr), registered as ``<name>_in``."""
    for name, table in inputs.items():
        con.register(f"{name}_in", table)
    con.register("sel_in", pa.table({"org_unit": pa.array(selected_units or [], pa.string())}))
    overlaps = (
        f"effective_from <= {_day(end)} AND (effective_to IS NULL OR effective_to > {_day(start)})"
    )
    picked = "" if selected_units is None else " AND org_unit IN (SELECT org_unit FROM sel_in)"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE iv0 AS
        SELECT * FROM iv_in
        WHERE {overlaps} AND employee_id IN (
            SELECT employee_id FROM iv_in WHERE {overlaps}{picked})
    """)
    for name, values in CATEGORIES.items():
        con.execute(f"DROP TYPE IF EXISTS {name}")
        con.execute(f"CREATE TYPE {name} AS ENUM ({values})")
    # A block never spans two ISO weeks, so a day's bit (Monday = 1) is unique within it.
    block_key = ", ".join(["week_no", *(["pay_period_no"] if pay_periods else []), "epoch"])
    block_key += ", day" if daily else ""
    selected = "org_in" if selected_units is None else "sel_in"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ua AS
            SELECT CAST(row_number() OVER (ORDER BY org_unit, arrangement) AS INTEGER) AS ua,
                org_unit, arrangement
            FROM (SELECT DISTINCT org_unit, arrangement FROM iv0);
        CREATE OR REPLACE TEMP TABLE iv AS
        SELECT CAST(row_number() OVER (ORDER BY employee_id, effective_from) AS INTEGER) AS ver,
            CAST(dense_rank() OVER (ORDER BY employee_id) AS INTEGER) AS emp,
            employee_id, name, effective_from,
            coalesce(effective_to, DATE '9999-12-31') AS effective_until,
            org_unit, duty_station, arrangement, schedule, bargaining_unit, telework_eligible,
            u.ua,
            CAST(org_unit AS org_unit_t) AS org_unit_e,
            CAST(duty_station AS site_t) AS duty_station_e,
            CAST(arrangement AS arrangement_t) AS arrangement_e,
            CAST(bargaining_unit AS unit_t) AS bargaining_unit_e
        FROM iv0 JOIN ua AS u USING (org_unit, arrangement);
        CREATE OR REPLACE TEMP TABLE emp AS SELECT DISTINCT emp, employee_id FROM iv;
        CREATE OR REPLACE TEMP TABLE multi AS
            SELECT emp FROM iv GROUP BY emp HAVING count(*) > 1;
        CREATE OR REPLACE TEMP TABLE org AS
            SELECT org_unit, CAST(component AS component_t) AS component_e,
                org_path
            FROM org_in;
        CREATE OR REPLACE TEMP VIEW selected_units AS SELECT org_unit FROM {selected};
        CREATE OR REPLACE TEMP TABLE cal AS
            SELECT *, CAST(1 << (isodow(day) - 1) AS INTEGER) AS dow_bit,
                CAST(dense_rank() OVER (ORDER BY {block_key}) AS INTEGER) AS block
            FROM cal_in;
        CREATE OR REPLACE TEMP TABLE blocks AS
            SELECT block, any_value(week_no) AS week_no,
                any_value(pay_period_no) AS pay_period_no, any_value(epoch) AS epoch,
                min(day) AS day, min(day) AS block_start, max(day) AS block_end
            FROM cal GROUP BY block;
        CREATE OR REPLACE TEMP TABLE cs AS
            SELECT c.day, c.block, c.dow_bit, s.schedule,
                s.hours_scheduled - s.hours_holiday AS net, s.hours_holiday AS holiday,
                b.block_start, b.block_end
            FROM cal AS c JOIN sh_in AS s ON s.day = c.day JOIN blocks AS b ON b.block = c.block;
        CREATE OR REPLACE TEMP TABLE cb AS
            SELECT schedule, block, any_value(block_start) AS block_start,
                any_value(block_end) AS block_end, count(*) AS n_days, sum(net) AS net,
                count(*) FILTER (WHERE net > 0) AS workdays, sum(holiday) AS holiday,
                CAST(bit_or(dow_bit) AS INTEGER) AS bits
            FROM cs GROUP BY schedule, block;
        CREATE OR REPLACE TEMP TABLE bnd AS SELECT * FROM bnd_in;
        CREATE OR REPLACE TEMP TABLE dir AS
            SELECT *, CAST(directive_ref AS directive_t) AS directive_ref_e FROM dir_in;
        CREATE OR REPLACE TEMP TABLE epochs AS
            SELECT epoch, min(day) AS epoch_start FROM cal GROUP BY epoch;
        CREATE OR REPLACE TEMP TABLE exe AS
            SELECT e.emp, x.* EXCLUDE (employee_id) FROM exe_in AS x
            JOIN emp AS e ON e.employee_id = x.employee_id;
        CREATE OR REPLACE TEMP TABLE exday AS
            SELECT x.emp, c.day, CAST(bit_or(x.bit) AS INTEGER) AS mask
            FROM exe AS x JOIN cal AS c
                ON c.day >= x.start_day AND (x.end_day IS NULL OR c.day <= x.end_day)
            GROUP BY x.emp, c.day;
        CREATE OR REPLACE TEMP TABLE special AS
            SELECT emp FROM multi UNION SELECT emp FROM exe;
        CREATE OR REPLACE TEMP TABLE req AS
            SELECT e.emp, r.filed, r.decided_on FROM req_in AS r
            JOIN emp AS e ON e.employee_id = r.employee_id;
        CREATE OR REPLACE TEMP TABLE agr AS SELECT * FROM agr_in;
    """)
