"""T&A rows → canonical timecards, checked in bulk inside DuckDB.

A timecard row is identified by (employee, day, agency pay code) and carries hours, the
hours category the profile maps the pay code to, and optionally the office. The agency
pay code is kept (``source_code``) because several codes share a category (annual and
sick leave are both ``leave``): keyed by category, 4 h AL and 4 h SL on one day would
collapse into one 4 h row.

* Identical rows (same identity, hours and office) are one row delivered twice.
* A row whose identity is already stored with other hours or office is a **correction**:
  it is stored with the later batch sequence and readers take the latest
  (``EventStore.timecards_current_sql``).
* The same identity twice in one batch with different hours is a contradiction we do not
  resolve by guessing: both rows are rejected (``conflicting_hours``).
* The hours of one employee-day, after this batch's corrections, may not exceed 24.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from dutystation.domain.vocabulary import HoursCategory
from dutystation.errors import StoreError
from dutystation.events.partitions import staged_months, staged_rows, write_timecard_months
from dutystation.events.schemas import EventKind
from dutystation.events.store import EventStore, latest_timecards_sql, sql_string
from dutystation.ingest.id_hints import explain_unknown_employees
from dutystation.ingest.profiles import Profile
from dutystation.ingest.reference import ReferenceData

VALUE_COLUMNS = ["employee_id", "date", "code", "hours", "site_id"]
_LINE_BITS = 40  # staged.ord = file number << 40 | line
_HOURS_SLACK = 1e-9  # 8.1 + 8.1 + 7.8 is 24.000000000000004 in binary floating point


@dataclass(frozen=True)
class TimecardRules:
    earliest: date
    latest: date
    date_format: str | None = None
    code_map: dict[str, str] | None = None  # agency pay code -> HoursCategory value


def reader_profile(profile: Profile) -> Profile:
    """The profile the file reader gets: without the pay-code map, so the agency's own
    code reaches us and is stored next to the category it maps to."""
    values = {k: v for k, v in profile.values.items() if k != "code"}
    return profile.model_copy(update={"values": values})


class TimecardChecker:
    kind = EventKind.TIMECARDS
    value_columns = VALUE_COLUMNS

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        reference: ReferenceData,
        rules: TimecardRules,
        store: EventStore,
    ) -> None:
        self.con = con
        self.rules = rules
        self.store = store
        con.register("ref_employees_in", reference.employees)
        con.register("ref_sites_in", reference.sites)
        con.execute(
            "CREATE TEMP TABLE ref_employees AS SELECT DISTINCT employee_id "
            "FROM ref_employees_in WHERE employee_id IS NOT NULL"
        )
        con.execute(
            "CREATE TEMP TABLE ref_sites AS SELECT DISTINCT site_id FROM ref_sites_in "
            "WHERE site_id IS NOT NULL"
        )
        con.unregister("ref_employees_in")
        con.unregister("ref_sites_in")
        categories = {str(c) for c in HoursCategory}
        mapping = [(k, v) for k, v in (rules.code_map or {}).items()]
        con.execute("CREATE TEMP TABLE code_map (source_code VARCHAR, category VARCHAR)")
        if mapping:
            con.executemany("INSERT INTO code_map VALUES (?, ?)", mapping)
        con.execute("CREATE TEMP TABLE categories (category VARCHAR)")
        con.executemany("INSERT INTO categories VALUES (?)", [(c,) for c in sorted(categories)])
        con.execute(
            "CREATE TEMP TABLE staged (employee_id VARCHAR, date DATE, category VARCHAR, "
            "source_code VARCHAR, hours DOUBLE, site_id VARCHAR, ord BIGINT, "
            "raw_date VARCHAR, raw_code VARCHAR, raw_hours VARCHAR)"
        )

    def check(self, chunk: pa.Table, file_no: int) -> pa.Table:
        con = self.con
        con.register("chunk", chunk)
        try:
            con.execute(self._check_sql(set(chunk.column_names)))
        except duckdb.OutOfMemoryException:
            raise  # the import says which setting to raise
        except duckdb.Error as exc:
            raise StoreError(
                f"timecard rows could not be checked (DuckDB {type(exc).__name__})"
            ) from None
        finally:
            con.unregister("chunk")
        con.execute(
            "INSERT INTO staged SELECT employee_id, work_date, category, source_code, hours, "
            f"site_id, ({file_no}::BIGINT << {_LINE_BITS}) | _line, date_text, code_text, "
            "hours_text FROM checked WHERE _reason IS NULL"
        )
        rejected = con.sql(
            "SELECT _line, _reason, _column, employee_id, date_text AS date, code_text AS code,"
            " hours_text AS hours, site_id FROM checked WHERE _reason IS NOT NULL "
            "ORDER BY _line"
        ).to_arrow_table()
        con.execute("DROP TABLE checked")
        return explain_unknown_employees(con, rejected)

    def _check_sql(self, columns: set[str]) -> str:
        def col(name: str) -> str:
            return name if name in columns else "NULL::VARCHAR"

        fmt = self.rules.date_format
        if fmt is None:
            parse = (
                r"CASE WHEN regexp_full_match(trim(date_text), '\d{4}-\d{2}-\d{2}') "
                "THEN try_cast(trim(date_text) AS DATE) END"
            )
        else:
            parse = f"try_strptime(trim(date_text), {sql_string(fmt)})::DATE"
        earliest = self.rules.earliest.isoformat()
        return f"""CREATE TEMP TABLE checked AS
        WITH src AS (
          SELECT _line, {col("employee_id")} AS employee_id, {col("date")} AS date_text,
            {col("code")} AS code_text, {col("hours")} AS hours_text,
            {col("site_id")} AS site_id
          FROM chunk
        ), p AS (
          SELECT src.*, trim(code_text) AS source_code,
            coalesce(m.category, lower(trim(code_text))) AS mapped,
            CASE WHEN mapped IN (SELECT category FROM categories) THEN mapped END AS category,
            {parse} AS work_date,
            try_cast(trim(hours_text) AS DOUBLE) AS hours,
            employee_id IN (SELECT employee_id FROM ref_employees) AS emp_known,
            site_id IN (SELECT site_id FROM ref_sites) AS site_known
          FROM src LEFT JOIN code_map m ON m.source_code = trim(src.code_text)
        )
        SELECT *,
          CASE
            WHEN employee_id IS NULL OR date_text IS NULL OR code_text IS NULL
              OR hours_text IS NULL THEN 'missing_value'
            WHEN work_date IS NULL THEN 'bad_date'
            WHEN work_date < DATE '{earliest}' THEN 'too_old'
            WHEN work_date > DATE '{self.rules.latest.isoformat()}' THEN 'too_far_ahead'
            WHEN category IS NULL THEN 'unknown_code'
            WHEN hours IS NULL OR NOT isfinite(hours) OR hours < 0 OR hours > 24
              THEN 'bad_hours'
            WHEN NOT emp_known THEN 'unknown_employee'
            WHEN site_id IS NOT NULL AND NOT site_known THEN 'unknown_site'
          END AS _reason,
          CASE
            WHEN employee_id IS NULL THEN 'employee_id'
            WHEN date_text IS NULL THEN 'date'
            WHEN code_text IS NULL THEN 'code'
            WHEN hours_text IS NULL THEN 'hours'
            WHEN _reason IN ('bad_date', 'too_old', 'too_far_ahead') THEN 'date'
            WHEN _reason = 'unknown_code' THEN 'code'
            WHEN _reason = 'bad_hours' THEN 'hours'
            WHEN _reason = 'unknown_employee' THEN 'employee_id'
            WHEN _reason = 'unknown_site' THEN 'site_id'
          END AS _column
        FROM p"""

    # ------------------------------------------------------------ whole batch

    def finish(self) -> list[tuple[int, pa.Table]]:
        """Checks that need the whole batch: contradictory repeats, then day totals (with
        the stored rows this batch does not correct). Returns rejections per file."""
        con = self.con
        con.execute(
            """CREATE TEMP TABLE late AS
            SELECT ord, 'conflicting_hours' AS _reason, 'hours' AS _column FROM staged
            WHERE (employee_id, date, source_code) IN (
              SELECT (employee_id, date, source_code) FROM staged
              GROUP BY employee_id, date, source_code
              HAVING count(DISTINCT (hours, category, coalesce(site_id, ''))) > 1)"""
        )
        current = latest_timecards_sql(self.store.scan_sql(self.kind, self.months()))
        con.execute(
            f"""INSERT INTO late
            WITH mine AS (
              SELECT DISTINCT employee_id, date, source_code, hours FROM staged
              WHERE ord NOT IN (SELECT ord FROM late)
            ), kept AS (
              SELECT c.employee_id, c.date, c.source_code, c.hours FROM {current} c
              WHERE NOT EXISTS (SELECT 1 FROM staged s WHERE s.employee_id = c.employee_id
                AND s.date = c.date AND s.source_code = c.source_code)
            ), over AS (
              SELECT employee_id, date FROM (SELECT * FROM mine UNION ALL SELECT * FROM kept)
              GROUP BY employee_id, date HAVING sum(hours) > 24 + {_HOURS_SLACK}
            )
            SELECT s.ord, 'day_over_24h', 'hours' FROM staged s JOIN over o
              ON o.employee_id = s.employee_id AND o.date = s.date
            WHERE s.ord NOT IN (SELECT ord FROM late)"""
        )
        rows = con.sql(
            f"""SELECT s.ord >> {_LINE_BITS} AS file_no,
              s.ord & ((1::BIGINT << {_LINE_BITS}) - 1) AS _line, l._reason, l._column,
              s.employee_id, s.raw_date AS date, s.raw_code AS code, s.raw_hours AS hours,
              s.site_id
            FROM late l JOIN staged s USING (ord) ORDER BY s.ord"""
        ).to_arrow_table()
        con.execute("DELETE FROM staged WHERE ord IN (SELECT ord FROM late)")
        out: list[tuple[int, pa.Table]] = []
        for file_no in sorted(set(rows.column("file_no").to_pylist())):
            part = rows.filter(pc.equal(rows.column("file_no"), file_no))
            out.append((int(file_no), part.drop_columns(["file_no"])))
        return out

    def staged_rows(self) -> int:
        return staged_rows(self.con)

    def months(self) -> list[str]:
        return staged_months(self.con, "date")

    def write(self, out_dir: Path, batch_seq: int) -> list[str]:
        count = write_timecard_months(self.con, self.store, out_dir, batch_seq)
        return [f"{count:,} rows correct hours stored earlier"] if count else []
