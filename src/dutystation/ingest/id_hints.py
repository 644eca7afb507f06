"""Why an employee id is unknown, when a spreadsheet is the likely cause (RELIABILITY C3).

A badge or T&A row whose employee id matches nobody is ``unknown_employee``. Two shapes of
unknown id are almost always an export that went through a spreadsheet, and saying so
saves the reviewer a search:

* ``excel_mangled_id``: the id reads like a reformatted number (``1.23457E+11``,
  ``12345.0``) — digits are lost and cannot be recovered;
* ``leading_zeros_lost``: the id is all digits and a known id is the same number with
  leading zeros (``12345`` for ``00012345``) — a numeric column dropped them. We never pad
  it back: two known ids could differ only in their zeros.

This runs on the rejected rows only (after the check query), so a clean import pays
nothing for it. The rows stay rejected; only the reason becomes more specific.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

EXCEL_NUMBER = r"\d+\.0+|\d(\.\d+)?[eE][+-]\d+"  # the pattern domain/values.py rejects


def explain_unknown_employees(con: duckdb.DuckDBPyConnection, rejected: pa.Table) -> pa.Table:
    """``rejected`` (columns ``_reason``, ``_column``, ``employee_id``, ...) with the
    reason of spreadsheet-mangled unknown employee ids made specific. ``con`` holds the
    checker's ``ref_employees`` table."""
    if rejected.num_rows == 0 or "employee_id" not in rejected.column_names:
        return rejected
    unknown = pc.and_(
        pc.equal(rejected.column("_reason"), "unknown_employee"),
        pc.equal(rejected.column("_column"), "employee_id"),
    )
    if not pc.any(unknown).as_py():
        return rejected
    con.register("rejected_rows", rejected)
    try:
        return con.sql(
            f"""SELECT * REPLACE (CASE
                WHEN _reason <> 'unknown_employee' OR _column <> 'employee_id' THEN _reason
                WHEN regexp_full_match(employee_id, '{EXCEL_NUMBER}') THEN 'excel_mangled_id'
                WHEN regexp_full_match(employee_id, '[0-9]+') AND ltrim(employee_id, '0') IN (
                    SELECT ltrim(employee_id, '0') FROM ref_employees
                    WHERE employee_id LIKE '0%') THEN 'leading_zeros_lost'
                ELSE _reason END AS _reason)
            FROM rejected_rows ORDER BY _line"""
        ).to_arrow_table()
    finally:
        con.unregister("rejected_rows")
