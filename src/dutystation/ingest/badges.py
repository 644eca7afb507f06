"""Badge rows → canonical badge events, checked in bulk inside DuckDB (no per-row Python).

For each source chunk the check query resolves, in one pass:

* the timestamp: ISO 8601 (``YYYY-MM-DD[T ]HH:MM[:SS[.f]]`` with an optional ``Z``,
  ``±HH``, ``±HHMM`` or ``±HH:MM``) or the profile's ``timestamp_format`` (DuckDB strptime,
  Python's specifiers). With an offset it is an instant and the offset is kept; without
  one it is wall-clock time at the office (or at ``source.timestamp_timezone``);
* wall time → UTC by the rule of ``domain/timestamps.py``: a time in a DST gap is
  ``dst_gap``, one in a fold ``dst_ambiguous``; we never guess;
* the workday (``local_date``) on the office's clock, whatever zone the source wrote;
* the employee: the ``employee_id`` column, else the holder of ``badge_id`` on that
  workday (badge numbers are reissued, so the mapping is effective-dated).

Speed: the time-zone rules are not evaluated per row. ``tz_days`` holds, for every zone
and day in the accepted date range, the zone's UTC offset a day before and two days after
that day; when the two agree (all but ~6 days a year) the offset is exact for every time
of the day, and the conversion is integer arithmetic. Only rows near a transition call
ICU, and those are checked for gap and fold by round trip. Valid rows go to the
``staged`` table; nothing is written to the store until the whole batch is checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from dutystation.errors import ConfigError, StoreError
from dutystation.events.partitions import staged_months, staged_rows, write_badge_months
from dutystation.events.schemas import EventKind
from dutystation.events.store import EventStore, sql_string
from dutystation.ingest.id_hints import explain_unknown_employees
from dutystation.ingest.reference import ReferenceData

VALUE_COLUMNS = ["employee_id", "badge_id", "timestamp", "site_id", "direction"]


# The content key of an event, stable across DuckDB versions and reproducible anywhere:
#   md5_64("employee" US employee_id) XOR md5_64("site" US site_id)
#   XOR (utc_us + d * 2^62), d = 0 (no direction), 1 (IN), 2 (OUT)
# where md5_64 is the first 8 bytes of the md5 digest read little-endian and US = \x1f.
# The md5s are taken once per employee and office of the reference data, not per event
# (md5 over each event's text cost an eighth of the whole import); DuckDB's hash() would
# be cheaper still but may change between versions. Stored events are matched on their
# columns as well, so a key collision can never drop an event.
def _md5_64(text_sql: str) -> str:
    return f"(md5_number({text_sql}) & 18446744073709551615::UHUGEINT)::UBIGINT"


_SITE_KEY = _md5_64("'site' || chr(31) || s.site_id")
_EMPLOYEE_KEY = _md5_64("'employee' || chr(31) || employee_id")
EVENT_KEY_SQL = (
    "xor(xor(emp_key, site_key), utc_us::UBIGINT + ((CASE direction WHEN 'IN' THEN 1 "
    "WHEN 'OUT' THEN 2 ELSE 0 END)::UBIGINT << 62))"
)
_NO_ROWS = pa.table(
    {
        "_line": pa.array([], pa.int64()),
        "_reason": pa.array([], pa.string()),
        "_column": pa.array([], pa.string()),
    }
)

_SIGNED_TAIL = r"\d[+-]\d{2}(:?\d{2})?$"  # "...:00-05", "...:00-0500", "...:00-05:00"
_EPOCH = date(1970, 1, 1)
_DAY_KEY = 100_000  # tz_days.k = zone number * _DAY_KEY + days since 1970-01-01


@dataclass(frozen=True)
class BadgeRules:
    earliest: date
    now: datetime  # aware
    future_tolerance: timedelta
    timestamp_format: str | None = None
    timestamp_timezone: str | None = None

    @property
    def latest_us(self) -> int:
        return _epoch_us(self.now + self.future_tolerance)


def _epoch_us(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


class BadgeChecker:
    """Checks chunks of badge rows and stages the valid ones in ``con``."""

    kind = EventKind.BADGES
    value_columns = VALUE_COLUMNS

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        reference: ReferenceData,
        rules: BadgeRules,
        store: EventStore,
    ) -> None:
        self.con = con
        self.rules = rules
        self.store = store
        self._check_format(rules.timestamp_format)
        self._prepare_reference(reference)
        self._prepare_tz_days()
        con.execute(
            # Not TEMP: events/partitions.py's month writers read it through cursors.
            "CREATE TABLE staged (employee_id VARCHAR, badge_id VARCHAR, utc_us BIGINT, "
            "src_off SMALLINT, local_date DATE, site_id VARCHAR, direction VARCHAR, "
            "event_key UBIGINT)"
        )

    # --------------------------------------------------------------- reference

    def _prepare_reference(self, reference: ReferenceData) -> None:
        con = self.con
        con.register("ref_sites_in", reference.sites)
        con.register("ref_badges_in", reference.badges)
        con.register("ref_employees_in", reference.employees)
        clash = con.execute(
            "SELECT site_id FROM ref_sites_in GROUP BY site_id "
            "HAVING count(DISTINCT timezone) > 1 LIMIT 1"
        ).fetchone()
        if clash:
            raise StoreError(f"office {clash[0]!r} is recorded with two time zones")
        known = {r[0] for r in con.execute("SELECT name FROM pg_timezone_names()").fetchall()}
        zones = sorted(
            {r[0] for r in con.execute("SELECT DISTINCT timezone FROM ref_sites_in").fetchall()}
            - {None}
        )
        for zone in zones:
            if zone not in known:
                site = con.execute(
                    "SELECT min(site_id) FROM ref_sites_in WHERE timezone = ?", [zone]
                ).fetchone()
                raise StoreError(
                    f"office {site[0] if site else '?'!r} has time zone {zone!r}, "
                    "which is not an IANA zone name"
                )
        source_zone = self.rules.timestamp_timezone
        if source_zone is not None and source_zone not in known:
            raise ConfigError(
                f"profile [source] timestamp_timezone {source_zone!r} is not an IANA zone name"
            )
        if source_zone is not None and source_zone not in zones:
            zones.append(source_zone)
        self.zone_ids = {zone: number for number, zone in enumerate(zones)}
        con.execute("CREATE TEMP TABLE zones (tz_id INTEGER, name VARCHAR)")
        con.executemany("INSERT INTO zones VALUES (?, ?)", list(enumerate(zones)))
        con.execute(
            "CREATE TEMP TABLE ref_sites AS SELECT DISTINCT s.site_id, s.timezone, z.tz_id, "
            f"{_SITE_KEY} AS site_key "
            "FROM ref_sites_in s JOIN zones z ON z.name = s.timezone"
        )
        con.execute(
            "CREATE TEMP TABLE ref_employees AS SELECT employee_id, "
            f"{_EMPLOYEE_KEY} AS emp_key FROM "
            "(SELECT DISTINCT employee_id FROM ref_employees_in WHERE employee_id IS NOT NULL)"
        )
        con.execute(
            "CREATE TEMP TABLE ref_badges AS SELECT DISTINCT badge_id, employee_id, valid_from,"
            " valid_to FROM ref_badges_in WHERE badge_id IS NOT NULL"
        )
        # Two holders of one badge on the same day would make the event ambiguous (and
        # double it in the join): refuse the reference data rather than pick one.
        overlap = con.execute(
            "SELECT a.badge_id FROM ref_badges a JOIN ref_badges b ON a.badge_id = b.badge_id "
            "AND (a.valid_from, a.employee_id) < (b.valid_from, b.employee_id) "
            "AND (a.valid_to IS NULL OR a.valid_to > b.valid_from) LIMIT 1"
        ).fetchone()
        if overlap:
            raise StoreError(
                "the badge register gives one badge number to two employees on the same days;"
                " correct the roster's badge history before importing badge events"
            )
        for name in ("ref_sites_in", "ref_badges_in", "ref_employees_in"):
            con.unregister(name)

    def _check_format(self, fmt: str | None) -> None:
        if fmt is None:
            return
        if "%Z" in fmt:
            raise ConfigError(
                "profile [source] timestamp_format: zone names (%Z) are ambiguous (CST is "
                "three zones); use %z with a numeric offset, or timestamp_timezone"
            )
        try:
            self.con.execute("SELECT try_strptime('', ?)", [fmt]).fetchall()
        except duckdb.Error:
            raise ConfigError(
                f"profile [source] timestamp_format {fmt!r} is not a valid strptime format"
            ) from None

    def _prepare_tz_days(self) -> None:
        rules = self.rules
        lo = (rules.earliest - _EPOCH).days - 2
        hi = ((rules.now + rules.future_tolerance).date() - _EPOCH).days + 3
        # Offsets sampled at day-1 and day+2 (00:00 UTC): any instant a wall time of this
        # day can name lies within 14 h of it, so inside that window. Equal samples mean
        # no transition in between (no zone has had two within 72 h since 2000); rows
        # outside the range are too old or in the future and are rejected as such.
        self.con.execute(
            f"""CREATE TEMP TABLE tz_days AS
            SELECT z.tz_id * {_DAY_KEY} + d AS k,
              (epoch(timezone(z.name, to_timestamp((d - 1) * 86400))) - (d - 1) * 86400)
                ::INTEGER AS o_lo,
              (epoch(timezone(z.name, to_timestamp((d + 2) * 86400))) - (d + 2) * 86400)
                ::INTEGER AS o_hi
            FROM zones z, range({lo}, {hi} + 1) t(d)"""
        )

    # --------------------------------------------------------------- checking

    def check(self, chunk: pa.Table, file_no: int) -> pa.Table:
        """Stage the valid rows of ``chunk``; return the rejected ones (with raw values).

        The check query runs once; only when it stored fewer rows than the chunk holds
        (some were rejected) does it run again to fetch the rejected rows. ``file_no`` is
        not needed: which copy of a repeated event is kept does not depend on order."""
        con = self.con
        query = self._check_sql(set(chunk.column_names))
        con.register("chunk", chunk)
        try:
            inserted = con.execute(
                "INSERT INTO staged SELECT employee_id, badge_id, utc_us, src_off, local_date, "
                f"site_id, direction, event_key FROM ({query}) "
                "WHERE _reason IS NULL"
            ).fetchone()
            if inserted is not None and inserted[0] == chunk.num_rows:
                return _NO_ROWS
            rejected = con.sql(
                "SELECT _line, _reason, _column, raw_employee_id AS employee_id, badge_id, "
                "raw_timestamp AS timestamp, site_id, dir_text AS direction "
                f"FROM ({query}) WHERE _reason IS NOT NULL ORDER BY _line"
            ).to_arrow_table()
            return explain_unknown_employees(con, rejected)
        except duckdb.OutOfMemoryException:
            raise  # the import says which setting to raise
        except duckdb.Error as exc:
            # DuckDB error texts can quote row values: keep only the class of error.
            raise StoreError(
                f"badge rows could not be checked (DuckDB {type(exc).__name__})"
            ) from None
        finally:
            con.unregister("chunk")

    def _check_sql(self, columns: set[str]) -> str:
        rules = self.rules

        def col(name: str) -> str:
            return name if name in columns else "NULL::VARCHAR"

        fmt = rules.timestamp_format
        if fmt is None:
            # DuckDB's cast does the parsing but is lenient (it takes "2026-3-9 8:15", a bare
            # date, and ignores any word after a space, "08:15 EST" included), so the shape
            # is checked first with the cheapest string tests there are: a regex over every
            # row would cost a tenth of the whole import. Dates contain no '+' and no '-'
            # after a ':', so either one means an offset, whose form the regex then checks.
            # Hour 24 ("24:00:00", which the cast takes as the next midnight) is refused:
            # an export that writes it has its own idea of days (RELIABILITY C3).
            parse = f"""ts_text LIKE '____-__-___%:%' AND NOT ts_text LIKE '___________% %'
                AND NOT ts_text LIKE '___________24%' AS shaped,
              suffix(ts_text, 'Z') OR suffix(ts_text, 'z') AS zulu,
              contains(ts_text, '+') OR ts_text LIKE '%:%-%' AS signed,
              zulu OR signed AS has_off,
              CASE WHEN shaped AND (NOT signed OR regexp_matches(ts_text, '{_SIGNED_TAIL}'))
                THEN try_cast(ts_text AS TIMESTAMP) END AS wall,
              CASE WHEN zulu THEN epoch_us(wall)
                WHEN signed THEN epoch_us(try_cast(ts_text AS TIMESTAMPTZ)) END AS inst_us"""
        elif "%z" in fmt:
            # strptime gives the instant; the offset the source wrote is read off the tail.
            parse = f"""epoch_us(try_strptime(ts_text, {sql_string(fmt)})) AS inst_us,
              inst_us IS NOT NULL AS has_off,
              regexp_extract(ts_text, '([+-])(\\d{{2}}):?(\\d{{2}})$', ['sign', 'h', 'm'])
                AS tail,
              (CASE tail['sign'] WHEN '-' THEN -1 ELSE 1 END) * (TRY_CAST(tail['h'] AS INTEGER) * 60
                + TRY_CAST(tail['m'] AS INTEGER)) AS text_off,
              make_timestamp(inst_us + text_off * 60000000::BIGINT) AS wall"""
        else:
            parse = f"""try_strptime(ts_text, {sql_string(fmt)})::TIMESTAMP AS wall,
              false AS has_off, NULL::BIGINT AS inst_us"""

        source_zone = rules.timestamp_timezone
        if source_zone is None:
            naive_zone, naive_zone_id = "site_tz", "site_tz_id"
        else:
            naive_zone = sql_string(source_zone)
            naive_zone_id = str(self.zone_ids[source_zone])
        same_zone = "true" if source_zone is None else "false"
        has_badges = "badge_id" in columns
        badge_join = (
            "LEFT JOIN ref_badges b ON b.badge_id = t.badge_key "
            "AND t.local_date >= b.valid_from "
            "AND (b.valid_to IS NULL OR t.local_date < b.valid_to)"
            if has_badges
            else ""
        )
        badge_emp = "b.employee_id" if has_badges else "NULL::VARCHAR"
        identity_col = "'employee_id'" if "employee_id" in columns else "'badge_id'"
        return f"""
        WITH src AS (
          SELECT _line, {col("employee_id")} AS employee_id, {col("badge_id")} AS badge_id,
            {col("timestamp")} AS raw_timestamp, raw_timestamp AS ts_text,
            {col("site_id")} AS site_id, {col("direction")} AS dir_text
          FROM chunk
        ), p AS (
          SELECT src.*, st.timezone AS site_tz, st.tz_id AS site_tz_id, st.site_key, {parse},
            epoch_us(wall) AS wall_us,
            CASE WHEN has_off THEN (wall_us - inst_us) // 60000000 END AS src_off,
            {naive_zone} AS nz,
            CASE WHEN NOT has_off THEN {naive_zone_id} * {_DAY_KEY}
              + (wall::DATE - DATE '1970-01-01') END AS nk
          FROM src LEFT JOIN ref_sites st ON st.site_id = src.site_id
        ), r AS (
          SELECT p.*, n.k IS NOT NULL AS in_range, n.o_lo = n.o_hi AS stable,
            wall_us - n.o_lo * 1000000::BIGINT AS c1, wall_us - n.o_hi * 1000000::BIGINT AS c2,
            CASE WHEN stable THEN true
              ELSE timezone(nz, make_timestamptz(c1)) = wall END AS v1,
            CASE WHEN stable THEN false
              ELSE timezone(nz, make_timestamptz(c2)) = wall END AS v2,
            CASE WHEN has_off THEN inst_us WHEN v1 THEN c1 WHEN v2 THEN c2 END AS utc_us,
            CASE WHEN has_off OR NOT {same_zone} THEN site_tz_id * {_DAY_KEY}
              + (make_timestamp(utc_us)::DATE - DATE '1970-01-01') END AS uk
          FROM p LEFT JOIN tz_days n ON n.k = p.nk
        ), t AS (
          SELECT r.*,
            CASE WHEN uk IS NULL THEN wall_us
              WHEN u.o_lo = u.o_hi THEN utc_us + u.o_lo * 1000000::BIGINT
              ELSE epoch_us(timezone(site_tz, make_timestamptz(utc_us))) END AS local_us,
            make_timestamp(local_us)::DATE AS local_date,
            CASE WHEN employee_id IS NULL THEN badge_id END AS badge_key,
            CASE dir_text WHEN 'IN' THEN 'IN' WHEN 'OUT' THEN 'OUT' WHEN '' THEN NULL
              ELSE CASE upper(trim(dir_text)) WHEN 'IN' THEN 'IN' WHEN 'OUT' THEN 'OUT' END
            END AS direction
          FROM r LEFT JOIN tz_days u ON u.k = r.uk
        ), e AS (
          SELECT t.*, coalesce(t.employee_id, {badge_emp}) AS emp,
            re.employee_id IS NOT NULL AS emp_known, re.emp_key
          FROM t {badge_join}
          LEFT JOIN ref_employees re ON re.employee_id = coalesce(t.employee_id, {badge_emp})
        )
        SELECT _line, emp AS employee_id, badge_id, utc_us, src_off::SMALLINT AS src_off,
          local_date, site_id, direction,
          CASE
            WHEN employee_id IS NULL AND badge_id IS NULL THEN 'missing_value'
            WHEN ts_text IS NULL OR ts_text = '' THEN 'missing_value'
            WHEN site_id IS NULL THEN 'missing_value'
            WHEN wall IS NULL OR (has_off AND inst_us IS NULL) THEN 'bad_timestamp'
            WHEN abs(src_off) > 840 THEN 'bad_timestamp'  -- no zone is beyond +-14:00
            WHEN site_tz IS NULL THEN 'unknown_site'
            WHEN direction IS NULL AND trim(coalesce(dir_text, '')) <> '' THEN 'bad_direction'
            WHEN NOT has_off AND NOT in_range THEN
              CASE WHEN wall::DATE < DATE '{rules.earliest.isoformat()}' THEN 'too_old'
                ELSE 'future_timestamp' END
            WHEN NOT has_off AND v1 AND v2 THEN 'dst_ambiguous'
            WHEN utc_us IS NULL THEN 'dst_gap'
            WHEN local_date < DATE '{rules.earliest.isoformat()}' OR utc_us < 0 THEN 'too_old'
            WHEN utc_us > {rules.latest_us} THEN 'future_timestamp'
            WHEN employee_id IS NULL AND emp IS NULL THEN 'unknown_badge'
            WHEN NOT emp_known THEN 'unknown_employee'
          END AS _reason,
          CASE
            WHEN employee_id IS NULL AND badge_id IS NULL THEN {identity_col}
            WHEN ts_text IS NULL OR ts_text = '' THEN 'timestamp'
            WHEN site_id IS NULL THEN 'site_id'
            WHEN _reason = 'unknown_site' THEN 'site_id'
            WHEN _reason = 'bad_direction' THEN 'direction'
            WHEN _reason = 'unknown_badge' THEN 'badge_id'
            WHEN _reason = 'unknown_employee' THEN
              CASE WHEN employee_id IS NULL THEN 'badge_id' ELSE 'employee_id' END
            WHEN _reason IS NOT NULL THEN 'timestamp'
          END AS _column,
          CASE WHEN _reason IS NULL THEN {EVENT_KEY_SQL} END AS event_key,
          employee_id AS raw_employee_id, raw_timestamp, dir_text
        FROM e"""

    # --------------------------------------------------------------- writing

    def finish(self) -> list[tuple[int, pa.Table]]:
        """Badge rows need no whole-batch check: duplicates collapse, they are not errors."""
        return []

    def staged_rows(self) -> int:
        return staged_rows(self.con)

    def months(self) -> list[str]:
        return staged_months(self.con, "local_date")

    def write(self, out_dir: Path, batch_seq: int) -> list[str]:
        write_badge_months(self.con, self.store, out_dir, batch_seq)
        return []
